import { encodeValue } from '@switchboard/contract';

/**
 * The text that names a channel's stream for `params` in a provider: equal for equal params
 * whatever the order of their keys, as the server names streams (hooks with equal params
 * share one subscription).
 */
export function channelKey(name: string, params: unknown): string {
  const { json, meta } = encodeValue(params);
  return meta === undefined ? `${name}\u0000${sorted(json)}` : `${name}\u0000${sorted(json)}\u0000${sorted(meta)}`;
}

/** JSON text with every object's keys in order. */
function sorted(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sorted).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const keys = Object.keys(value).sort();
  const record = value as Record<string, unknown>;
  return `{${keys
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${sorted(record[key])}`)
    .join(',')}}`;
}
