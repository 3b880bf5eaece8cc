import { collectingParts, isByteValue, refuseBlob, wireSuperjson, withParts } from './byte-values.js';
import { RpcError } from './errors.js';
import { checkMeta, META_LIMITS, type MetaLimits } from './meta.js';

// One codec for both ends. Values travel as superjson's { json, meta }: `json` is plain
// JSON and `meta` (absent for plain JSON) says how to revive Date, Map, Set, BigInt,
// undefined and friends. Plain JSON values skip superjson's walk altogether.
//
// Each end treats the other's `meta` as hostile: checkMeta bounds what superjson will do
// before superjson sees it. Shared references are not kept: an object that occurs twice
// in a value arrives as two equal copies, and a cyclic value cannot be encoded.
//
// Byte values (Uint8Array, ArrayBuffer) are left out of `json`: each is a placeholder
// (byte-values.ts), `meta.b` lists their lengths, and `parts` holds them, to be sent after
// the JSON in one binary message (binary-message.ts). The same byte value twice in a value
// is sent once, and arrives as one object in both places.

/** A value ready for JSON.stringify: `meta` is present only when the value needs it. */
export interface EncodedValue {
  /** The value as plain JSON. */
  json: unknown;
  /**
   * superjson's meta: how to restore Dates, Maps, BigInts and the like in `json`; with
   * byte values, `b` lists their lengths in bytes.
   */
  meta?: unknown;
  /** The byte values (a view of each ArrayBuffer), in the order of their placeholders' indexes; absent when none. */
  parts?: Uint8Array[];
}

/**
 * Most nodes one encoded value may have, counting every path as JSON.stringify writes it:
 * an object that occurs k times counts k times, so a value sharing objects cannot grow
 * exponentially on the wire.
 */
export const MAX_ENCODED_NODES = 1_000_000;

/** Deeper values are left to superjson (and to its own limits). */
const MAX_PLAIN_DEPTH = 64;
const NOT_PLAIN = -1;
const OVER_BUDGET = -2;

/**
 * True when JSON.stringify/parse round-trips `value` exactly and it has at most
 * MAX_ENCODED_NODES nodes.
 */
export function isPlainJson(value: unknown): boolean {
  return plainBudgetLeft(value, 0, MAX_ENCODED_NODES) >= 0;
}

/**
 * Walks `value` as plain JSON, one unit of `budget` per node: the budget left, NOT_PLAIN, or
 * OVER_BUDGET. On the path of every call result, so it allocates nothing.
 */
function plainBudgetLeft(value: unknown, depth: number, budget: number): number {
  if (budget === 0) return OVER_BUDGET;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return budget - 1;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? budget - 1 : NOT_PLAIN;
    case 'object': {
      if (value === null) return budget - 1;
      if (depth > MAX_PLAIN_DEPTH) return NOT_PLAIN;
      let left = budget - 1;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && left >= 0; i++) left = plainBudgetLeft(value[i], depth + 1, left);
        return left;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return NOT_PLAIN;
      if ('toJSON' in value) return NOT_PLAIN;
      for (const key in value) {
        left = plainBudgetLeft((value as Record<string, unknown>)[key], depth + 1, left);
        if (left < 0) return left;
      }
      return left;
    }
    default:
      return NOT_PLAIN; // undefined, bigint, function, symbol
  }
}

/**
 * Counts the nodes superjson and JSON.stringify will write for `value`, every path once,
 * and throws past `budget`, before superjson copies a shared object once per path.
 * `ancestors` holds the objects on the current path: a cycle cannot be encoded.
 */
function countNodes(value: unknown, budget: number, ancestors: Set<object>): number {
  if (budget <= 0) throw new RangeError(`cannot encode a value of over ${MAX_ENCODED_NODES} nodes`);
  if (typeof value !== 'object' || value === null) return budget - 1;
  // One node: its bytes go in a part of their own, not through JSON.
  if (isByteValue(value)) return budget - 1;
  refuseBlob(value);
  if (ancestors.has(value)) throw new TypeError('cannot encode a cyclic value');
  ancestors.add(value);
  let left = budget - 1;
  if (value instanceof Map) {
    // superjson writes a Map as [[key, value], …]: one more node per entry.
    for (const [key, item] of value) left = countNodes(item, countNodes(key, left - 1, ancestors), ancestors);
  } else if (value instanceof Set || Array.isArray(value)) {
    for (const item of value) left = countNodes(item, left, ancestors);
  } else if (!('toJSON' in value)) {
    // A plain object, or what JSON.stringify will write of a class instance: its own enumerable keys.
    for (const key of Object.keys(value)) left = countNodes((value as Record<string, unknown>)[key], left, ancestors);
  }
  ancestors.delete(value);
  return left;
}

/**
 * Prepares a value for the wire. Throws (for the server: the handler's bug, INTERNAL) when
 * the value is over MAX_ENCODED_NODES, cyclic, or holds what the other end's decodeValue
 * refuses (an Error, a RegExp, a class instance registered with superjson, …).
 */
export function encodeValue(value: unknown): EncodedValue {
  // A value that is bytes and nothing else (a file's chunk): what superjson would write, without its walk.
  if (value instanceof Uint8Array)
    return { json: 0, meta: { values: [['custom', 'bytes']], v: 1, b: [value.byteLength] }, parts: [value] };
  const left = plainBudgetLeft(value, 0, MAX_ENCODED_NODES);
  if (left >= 0) return { json: value };
  if (left === OVER_BUDGET) throw new RangeError(`cannot encode a value of over ${MAX_ENCODED_NODES} nodes`);
  countNodes(value, MAX_ENCODED_NODES, new Set());
  const {
    result: { json, meta },
    parts,
  } = collectingParts(() => wireSuperjson.serialize(value as never));
  if (meta?.values === undefined) return { json };
  // Dropped: referentialEqualities. `json` already holds a full copy of each shared object,
  // each copy with its own annotations; the decoder refuses shared references.
  const own = { values: meta.values, v: meta.v };
  try {
    checkMeta(json, parts.length === 0 ? own : { ...own, b: parts });
  } catch (error) {
    throw new TypeError(`cannot encode this value: ${(error as Error).message}`, { cause: error });
  }
  if (parts.length === 0) return { json, meta: own };
  return { json, meta: { ...own, b: parts.map((part) => part.byteLength) }, parts };
}

/**
 * Revives a value from the wire. `meta` is untrusted input: checkMeta bounds its cost and
 * refuses anything else before superjson runs; every refusal is BAD_REQUEST. The byte
 * values come from a binary message: readMessage leaves them in `meta.b`, in place of
 * their lengths.
 */
export function decodeValue(json: unknown, meta: unknown, limits: MetaLimits = META_LIMITS): unknown {
  if (meta === undefined) return json;
  const bytes = bytesAlone(json, meta);
  if (bytes !== undefined) return bytes;
  checkMeta(json, meta, limits);
  const { values, v, b } = meta as { values: never; v: never; b?: Uint8Array[] };
  try {
    const payload = { json: json as never, meta: { values, v } };
    return b === undefined
      ? wireSuperjson.deserialize(payload)
      : withParts(b, () => wireSuperjson.deserialize(payload));
  } catch (error) {
    throw new RpcError('BAD_REQUEST', 'undecodable value', undefined, { cause: error });
  }
}

/**
 * The value, when it is bytes and nothing else, exactly as encodeValue writes it (`0` and
 * `{ values: [['custom', 'bytes']], v: 1, b: [view] }`, `b` made views by the message
 * reader): the view, without superjson. Any other shape: undefined, for the full path.
 */
function bytesAlone(json: unknown, meta: unknown): Uint8Array | undefined {
  if (json !== 0 || typeof meta !== 'object' || meta === null) return undefined;
  const { values, v, b } = meta as { values?: unknown; v?: unknown; b?: unknown };
  if (v !== 1 || !Array.isArray(values) || values.length !== 1 || !Array.isArray(b) || b.length !== 1) return undefined;
  const annotation = values[0];
  if (
    !Array.isArray(annotation) ||
    annotation.length !== 2 ||
    annotation[0] !== 'custom' ||
    annotation[1] !== 'bytes'
  ) {
    return undefined;
  }
  const view = b[0];
  return view instanceof Uint8Array && Object.keys(meta as object).length === 3 ? view : undefined;
}

/** Throws if any object in `value` has an own `__proto__` key. Walks without recursion: any depth JSON.parse accepts. */
function refuseProtoKeys(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) stack.push(item[i]);
      continue;
    }
    if (Object.hasOwn(item, '__proto__')) throw new SyntaxError('a __proto__ key is not accepted');
    for (const key in item) stack.push((item as Record<string, unknown>)[key]);
  }
}

/**
 * Parses one text message. A `__proto__` key anywhere is refused (prototype pollution
 * through later merges). Checked only when the text could hold one: it names it, or has
 * a `\u` escape that could spell it.
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (text.includes('__proto__') || text.includes('\\u')) refuseProtoKeys(value);
  return value;
}
