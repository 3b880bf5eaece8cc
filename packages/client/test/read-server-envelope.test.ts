import { RpcError } from '@switchboard/contract';
import { describe, expect, it } from 'vitest';
import { readServerEnvelope } from '../src/read-server-envelope.js';
import { isLongerThan } from '../src/utf8.js';

// The shape check of what a server sends, without a client: every envelope of
// docs/protocol.md passes as the same object; anything else names what is wrong.

/** The examples of docs/protocol.md (with this client's numeric ids), one per type and optional field. */
const WELL_FORMED: Array<Record<string, unknown>> = [
  { type: 'result', id: 7, output: { id: 'u1' }, meta: { values: { born: ['Date'] }, v: 1 } },
  { type: 'result', id: 0 },
  { type: 'error', id: 9, error: { code: 'BAD_REQUEST', message: 'invalid input', data: { issues: [] } } },
  { type: 'error', id: null, error: { code: 'BAD_REQUEST', message: 'missing or invalid id' } },
  { type: 'error', id: 9, error: { code: 'FROM_A_LATER_SERVER', message: 'unknown codes read as INTERNAL' } },
  { type: 'subscribed', id: 8, key: '{"host":"a"}', position: '3f9c2a1b:41' },
  { type: 'subscribed', id: 8, key: '{}', position: 'a1b2.0:0', gap: true },
  { type: 'message', channel: 'metrics', key: '{"host":"a"}', data: { cpu: 0.31 }, position: '3f9c2a1b:42' },
  { type: 'message', channel: 'metrics', key: '{}', position: `e:${Number.MAX_SAFE_INTEGER}` },
  { type: 'snapshot', id: 8, position: 'e:3', data: [1, 2] },
  { type: 'gap', channel: 'feed', key: '{}', reason: 'dropped', dropped: 3 },
  { type: 'gap', channel: 'feed', key: '{}', reason: 'history', id: 8 },
  { type: 'pong' },
  { type: 'pong', extra: 'unknown fields are ignored' },
  { type: 'authenticated', id: 1, expiresInMs: 60_000 },
  {
    type: 'authenticated',
    id: 1,
    skew: { procedures: { add: 'removed', get: 'input-changed' }, channels: { feed: 'changed' } },
  },
  { type: 'authenticated', id: 1, skew: { procedures: {}, channels: {} } },
];

const NOT_ENVELOPES: Array<[string, unknown]> = [
  ['null', null],
  ['a number', 42],
  ['a string', 'result'],
  ['an array (replies are never batched)', [{ type: 'pong' }]],
  ['an object without type', {}],
  ['a type that is not a string', { type: 7 }],
  ['a result with a string id', { type: 'result', id: '7' }],
  ['a result with a negative id', { type: 'result', id: -1 }],
  ['a result with an id past 2^53', { type: 'result', id: 2 ** 53 }],
  ['a result with a huge id', { type: 'result', id: 1e300 }],
  ['a result with a fractional id', { type: 'result', id: 1.5 }],
  ['a result without id', { type: 'result', output: 1 }],
  ['a result whose meta is not an object', { type: 'result', id: 1, meta: 'Date' }],
  ['an error whose error is a string', { type: 'error', id: 1, error: 'boom' }],
  ['an error whose error is null', { type: 'error', id: 1, error: null }],
  ['an error without message', { type: 'error', id: 1, error: { code: 'INTERNAL' } }],
  ['an error with a numeric code', { type: 'error', id: 1, error: { code: 500, message: 'x' } }],
  ['an error with a string id', { type: 'error', id: 'a', error: { code: 'INTERNAL', message: 'x' } }],
  ['an error without id', { type: 'error', error: { code: 'INTERNAL', message: 'x' } }],
  ['a subscribed without key', { type: 'subscribed', id: 1, position: 'e:1' }],
  ['a subscribed without position', { type: 'subscribed', id: 1, key: '{}' }],
  ['a subscribed whose gap is a string', { type: 'subscribed', id: 1, key: '{}', position: 'e:1', gap: 'yes' }],
  ['a message with a numeric position', { type: 'message', channel: 'feed', key: '{}', position: 42 }],
  ['a message without channel', { type: 'message', key: '{}', position: 'e:1' }],
  ['a message with an empty channel', { type: 'message', channel: '', key: '{}', position: 'e:1' }],
  ['a message with a long channel', { type: 'message', channel: 'c'.repeat(129), key: '{}', position: 'e:1' }],
  ['a message with a numeric key', { type: 'message', channel: 'feed', key: 1, position: 'e:1' }],
  ['a message whose meta is an array', { type: 'message', channel: 'feed', key: '{}', position: 'e:1', meta: [] }],
  ['a snapshot without position', { type: 'snapshot', id: 1, data: 1 }],
  ['a gap with an unknown reason', { type: 'gap', channel: 'feed', key: '{}', reason: 'lost' }],
  ['a gap with dropped -1', { type: 'gap', channel: 'feed', key: '{}', reason: 'dropped', dropped: -1 }],
  ['a gap with dropped 1.5', { type: 'gap', channel: 'feed', key: '{}', reason: 'dropped', dropped: 1.5 }],
  ['a gap with dropped "3"', { type: 'gap', channel: 'feed', key: '{}', reason: 'dropped', dropped: '3' }],
  ['a gap with a string id', { type: 'gap', channel: 'feed', key: '{}', reason: 'history', id: 'x' }],
  ['an authenticated whose skew is a list', { type: 'authenticated', id: 1, skew: ['add'] }],
  ['an authenticated whose skew has no channels', { type: 'authenticated', id: 1, skew: { procedures: {} } }],
  [
    'an authenticated whose skew has an unknown reason',
    { type: 'authenticated', id: 1, skew: { procedures: { add: 'gone' }, channels: {} } },
  ],
  [
    'an authenticated whose skew has an overlong name',
    { type: 'authenticated', id: 1, skew: { procedures: { ['n'.repeat(129)]: 'removed' }, channels: {} } },
  ],
];

describe('readServerEnvelope', () => {
  it.each(WELL_FORMED.map((envelope) => [JSON.stringify(envelope), envelope]))(
    'passes %s through as the same object',
    (_text, envelope) => {
      expect(readServerEnvelope(envelope)).toBe(envelope);
    },
  );

  it.each(NOT_ENVELOPES)('refuses %s with BAD_REQUEST and a short message', (_what, value) => {
    const result = readServerEnvelope(value);
    expect(result).toBeInstanceOf(RpcError);
    expect((result as RpcError).code).toBe('BAD_REQUEST');
    expect((result as RpcError).message).toMatch(/^bad server message: /);
    expect((result as RpcError).message.length).toBeLessThanOrEqual(120); // fits a close reason
  });

  it('ignores an envelope of a type it does not know (docs/protocol.md, Versioning)', () => {
    expect(readServerEnvelope({ type: 'hello', from: 'a later v1 server' })).toBeUndefined();
    // Not part of v1: a server ends a subscription with an `error` carrying its id.
    expect(readServerEnvelope({ type: 'unsubscribed', id: 8 })).toBeUndefined();
  });
});

describe('isLongerThan', () => {
  const utf8 = (text: string) => new TextEncoder().encode(text).length;

  it.each([
    ['ASCII', 'x'],
    ['two-byte', 'é'],
    ['three-byte', '€'],
    ['a surrogate pair (four bytes)', '😀'],
    ['a lone surrogate (three bytes, as U+FFFD)', '\ud800'],
  ])('counts %s characters as UTF-8 does', (_what, unit) => {
    for (const count of [1, 10, 333, 334, 1000]) {
      const text = unit.repeat(count);
      const bytes = utf8(text);
      expect(isLongerThan(text, bytes)).toBe(false);
      expect(isLongerThan(text, bytes - 1)).toBe(true);
    }
  });

  it('settles long texts by their length alone and short ones without counting', () => {
    expect(isLongerThan('x'.repeat(1025), 1024)).toBe(true);
    expect(isLongerThan('€'.repeat(341), 1024)).toBe(false); // 1023 bytes
    expect(isLongerThan('€'.repeat(342), 1024)).toBe(true); // 1026 bytes, 342 units
  });
});
