import { RpcError } from '@switchboard/contract';

// The hash state, module-wide: a hash is computed in one synchronous run, and keeping the
// two lanes here lets the pieces of a call be hashed one after another without joining them.
let h1 = 0;
let h2 = 0;

function start(seed: number): void {
  h1 = 0xdeadbeef ^ seed;
  h2 = 0x41c6ce57 ^ seed;
}

function mix(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
}

function end(): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * A 53-bit hash of a text: two 32-bit multiply-xor lanes mixed at the end (the cyrb53
 * construction). Not cryptographic: it tells one caller's calls apart within that caller's
 * own idempotency scope, where a deliberate collision only fools the one who made it.
 */
export function hashText(text: string, seed = 0): number {
  start(seed);
  mix(text);
  return end();
}

/** JSON text of a value as it came off the wire; a value too deep to write is the caller's error. */
function wireText(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value);
  } catch (error) {
    // Only a RangeError can happen here: parsed JSON has no cycles, bigints or toJSON.
    throw new RpcError('BAD_REQUEST', 'input nested too deeply to be keyed', undefined, { cause: error });
  }
}

/**
 * Identifies a keyed call (procedure, input and meta as sent) so that a key reused for
 * another call is told apart; kept instead of the input, which is never stored.
 */
export function callHash(name: string, input: unknown, meta: unknown): number {
  const inputText = wireText(input);
  const metaText = wireText(meta);
  start(0);
  mix(name);
  mix('\u0000');
  mix(inputText);
  mix('\u0000');
  mix(metaText);
  return end();
}
