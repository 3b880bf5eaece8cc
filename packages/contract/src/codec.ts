import superjson from 'superjson';
import { RpcError } from './errors.js';

// One codec for both ends. Values travel as superjson's { json, meta }: `json` is plain
// JSON and `meta` (absent for plain JSON) says how to revive Date, Map, Set, BigInt,
// undefined and friends. Plain JSON values skip superjson's walk altogether.

/** A value ready for JSON.stringify: `meta` is present only when the value needs it. */
export interface EncodedValue {
  json: unknown;
  meta?: unknown;
}

/** Deeper values are left to superjson (and to its own limits). */
const MAX_PLAIN_DEPTH = 64;

/** True when JSON.stringify/parse round-trips `value` exactly. */
export function isPlainJson(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_PLAIN_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
        return true;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      if ('toJSON' in value) return false;
      for (const key in value) {
        if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false; // undefined, bigint, function, symbol
  }
}

/** Prepares a value for the wire. */
export function encodeValue(value: unknown): EncodedValue {
  if (isPlainJson(value)) return { json: value };
  const { json, meta } = superjson.serialize(value);
  return meta === undefined ? { json } : { json, meta };
}

/**
 * Revives a value from the wire. `meta` is untrusted input: superjson refuses paths
 * through `__proto__`, `constructor` or `prototype`, which we report as BAD_REQUEST.
 */
export function decodeValue(json: unknown, meta: unknown): unknown {
  if (meta === undefined) return json;
  try {
    return superjson.deserialize({ json: json as never, meta: meta as never });
  } catch (error) {
    throw new RpcError('BAD_REQUEST', 'undecodable value', undefined, { cause: error });
  }
}

function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('a __proto__ key is not accepted');
  return value;
}

/**
 * Parses one text message. A `__proto__` key anywhere is refused (prototype pollution
 * through later merges), checked only when the text contains one.
 */
export function parseJson(text: string): unknown {
  return text.includes('__proto__') ? JSON.parse(text, refuseProtoKeys) : JSON.parse(text);
}
