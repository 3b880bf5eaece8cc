// A 53-bit hash (two 32-bit multiply-xor lanes mixed at the end: the cyrb53 construction)
// of a call, fed piece by piece. Not cryptographic: it tells one caller's calls apart within
// that caller's own idempotency scope, where a deliberate collision only fools the one who
// made it. The state is module-wide: a hash is computed in one synchronous run.
let h1 = 0;
let h2 = 0;

function start(): void {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
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

const number = new Float64Array(1);
const numberWords = new Uint32Array(number.buffer);

/** Mixes a 32-bit integer in as two characters' worth. */
function mixInt(n: number): void {
  h1 = Math.imul(h1 ^ (n & 0xffff), 2654435761);
  h2 = Math.imul(h2 ^ (n & 0xffff), 1597334677);
  h1 = Math.imul(h1 ^ (n >>> 16), 2654435761);
  h2 = Math.imul(h2 ^ (n >>> 16), 1597334677);
}

// Tags of the value walk: each node is its tag, then its length or content, so that no two
// different values mix in the same sequence (a prefix-free encoding, like JSON but unjoined).
const STRING = 1;
const NUMBER = 2;
const TRUE = 3;
const FALSE = 4;
const NULL = 5;
const ARRAY = 6;
const OBJECT = 7;
const ABSENT = 8;
const END = 9;
const DEEP = 10;
const BYTES = 11;

/** Mixes in a byte value (a binary message's, in its meta.b), a byte at a time: never as an object of indexes. */
function mixBytes(bytes: Uint8Array): void {
  mixInt(BYTES);
  mixInt(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ (bytes[i] as number), 2654435761);
    h2 = Math.imul(h2 ^ (bytes[i] as number), 1597334677);
  }
}

/** Below this depth the walk recurses (no allocation); deeper parts go to mixDeep. */
const RECURSE_DEPTH = 32;

/** Mixes in a value as it came off the wire (JSON types only), in time linear in its size. */
function mixValue(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      mixInt(STRING);
      mixInt(value.length);
      mix(value);
      return;
    case 'number':
      number[0] = value;
      mixInt(NUMBER);
      mixInt(numberWords[0] as number);
      mixInt(numberWords[1] as number);
      return;
    case 'boolean':
      mixInt(value ? TRUE : FALSE);
      return;
    case 'object':
      if (value === null) mixInt(NULL);
      else if (value instanceof Uint8Array) mixBytes(value);
      else if (depth >= RECURSE_DEPTH) mixDeep(value);
      else if (Array.isArray(value)) {
        mixInt(ARRAY);
        mixInt(value.length);
        for (let i = 0; i < value.length; i++) mixValue(value[i], depth + 1);
      } else {
        mixInt(OBJECT);
        for (const key in value) {
          mixInt(STRING);
          mixInt(key.length);
          mix(key);
          mixValue((value as Record<string, unknown>)[key], depth + 1);
        }
        mixInt(END);
      }
      return;
    default:
      mixInt(ABSENT); // undefined: an absent input or meta
  }
}

/**
 * The part of a value below RECURSE_DEPTH, walked without recursion: any depth JSON.parse
 * accepted. Its own encoding (tagged DEEP), the same for the same value.
 */
function mixDeep(value: object): void {
  mixInt(DEEP);
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null || item instanceof Uint8Array) {
      mixValue(item, 0);
    } else if (Array.isArray(item)) {
      mixInt(ARRAY);
      mixInt(item.length);
      for (let i = item.length - 1; i >= 0; i--) stack.push(item[i]);
    } else {
      const keys = Object.keys(item);
      mixInt(OBJECT);
      mixInt(keys.length);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        stack.push((item as Record<string, unknown>)[key], key);
      }
    }
  }
}

/**
 * Identifies a keyed call (procedure, input and meta as sent) so that a key reused for
 * another call is told apart; kept instead of the input, which is never stored.
 */
export function callHash(name: string, input: unknown, meta: unknown): number {
  start();
  mixInt(name.length);
  mix(name);
  mixValue(input, 0);
  mixValue(meta, 0);
  return end();
}
