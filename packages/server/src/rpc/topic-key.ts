import { encodeValue, RpcError } from '@switchboard/contract';

/**
 * Longest stream key (params as sorted JSON) accepted: params name a stream, they do not
 * carry data, and each subscription keeps its key.
 */
export const MAX_PARAMS_KEY_CHARS = 4096;

/**
 * Params identify a stream by value, not by identity: `{ a: 1, b: 2 }` and
 * `{ b: 2, a: 1 }` are the same stream. The key is JSON with object keys sorted. Params
 * too deep to walk, or whose key is over MAX_PARAMS_KEY_CHARS, are BAD_REQUEST.
 */
export function paramsKey(params: unknown): string {
  let key: string;
  try {
    const { json, meta } = encodeValue(params);
    key = meta === undefined ? stableStringify(json) : `${stableStringify(json)}~${stableStringify(meta)}`;
  } catch (error) {
    if (error instanceof RpcError) throw error;
    throw new RpcError('BAD_REQUEST', 'params cannot be written as a stream key', undefined, { cause: error });
  }
  if (key.length > MAX_PARAMS_KEY_CHARS) {
    throw new RpcError('BAD_REQUEST', `params too large: their key is over ${MAX_PARAMS_KEY_CHARS} characters`);
  }
  return key;
}

function stableStringify(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`).join(',')}}`;
}

/** The broker topic of a channel stream; channel names hold no ':'. */
export function topicOf(channel: string, key: string): string {
  return `${channel}:${key}`;
}

/** The channel of a broker topic. */
export function channelOf(topic: string): string {
  return topic.slice(0, topic.indexOf(':'));
}
