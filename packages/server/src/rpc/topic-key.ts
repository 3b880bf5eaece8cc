import { decodeValue, encodeValue, RpcError } from '@switchboard/contract';

/**
 * Params identify a stream by value, not by identity: `{ a: 1, b: 2 }` and
 * `{ b: 2, a: 1 }` are the same stream. The key is JSON with object keys sorted. Params
 * too deep to walk, or whose key is over `maxChars` (limits.maxStreamKeyChars), are BAD_REQUEST.
 */
export function paramsKey(params: unknown, maxChars: number): string {
  let key: string;
  try {
    const { json, meta, parts } = encodeValue(params);
    // Params name a stream; bytes are data, and a key is text.
    if (parts !== undefined) throw new RpcError('BAD_REQUEST', 'params cannot hold byte values');
    key = meta === undefined ? stableStringify(json) : `${stableStringify(json)}~${stableStringify(meta)}`;
  } catch (error) {
    if (error instanceof RpcError) throw error;
    throw new RpcError('BAD_REQUEST', 'params cannot be written as a stream key', undefined, { cause: error });
  }
  if (key.length > maxChars) {
    throw new RpcError('BAD_REQUEST', `params too large: their stream key is over ${maxChars} characters`);
  }
  return key;
}

function stableStringify(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`).join(',')}}`;
}

/**
 * The broker topic of a channel stream; channel names hold no ':'. One flat string (what
 * `join` makes): a concatenation would keep its parts, and the key's own, for as long as
 * the topic lives.
 */
export function topicOf(channel: string, key: string): string {
  return [channel, key].join(':');
}

/** The channel of a broker topic. */
export function channelOf(topic: string): string {
  return topic.slice(0, topic.indexOf(':'));
}

/**
 * The params a stream key was made from (the inverse of paramsKey, up to the schema's
 * parsing): its JSON, and its superjson meta after a `~` where it has one. A `~` may also
 * sit inside the JSON's strings: the split is the first at which both sides are JSON.
 */
export function paramsOfKey(key: string): unknown {
  for (let at = key.indexOf('~'); at !== -1; at = key.indexOf('~', at + 1)) {
    try {
      return decodeValue(JSON.parse(key.slice(0, at)), JSON.parse(key.slice(at + 1)));
    } catch {
      // not this `~`
    }
  }
  return JSON.parse(key);
}
