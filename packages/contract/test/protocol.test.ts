import { describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH } from '../src/contract.js';
import { RpcError } from '../src/errors.js';
import {
  type ClientEnvelope,
  type EnvelopeProblem,
  isEnvelopeProblem,
  isRequestId,
  MAX_ID_LENGTH,
  MAX_KEY_LENGTH,
  readClientEnvelope,
} from '../src/protocol.js';

// What the server reads from a client, field by field (docs/protocol.md, "Limits"): each
// refusal says BAD_REQUEST and carries the envelope's id when that could be read.

function refusal(value: unknown): EnvelopeProblem {
  const read = readClientEnvelope(value);
  if (!isEnvelopeProblem(read)) throw new Error(`expected a refusal, read ${JSON.stringify(read)}`);
  return read;
}

function accepted(value: unknown): ClientEnvelope {
  const read = readClientEnvelope(value);
  if (isEnvelopeProblem(read)) throw new Error(`expected an envelope, refused: ${read.error.message}`);
  return read;
}

const call = { type: 'call', id: 7, name: 'math.add', input: { a: 1, b: 2 } };

describe('isRequestId', () => {
  it.each([0, 7, Number.MAX_SAFE_INTEGER, 'a', 'x'.repeat(MAX_ID_LENGTH)])('accepts %j', (id) => {
    expect(isRequestId(id)).toBe(true);
  });

  it.each([
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['past 2^53 - 1', 2 ** 53],
    ['NaN', Number.NaN],
    ['an empty string', ''],
    ['an overlong string', 'x'.repeat(MAX_ID_LENGTH + 1)],
    ['null', null],
    ['an object', { id: 1 }],
    ['a boolean', true],
  ])('refuses %s', (_what, id) => {
    expect(isRequestId(id)).toBe(false);
  });
});

describe('readClientEnvelope', () => {
  it('passes a call through as the same object, unknown fields and all', () => {
    const sent = { ...call, timeoutMs: 2000, key: 'session-name-0123456789.7', ack: 6, later: 'ignored' };
    expect(accepted(sent)).toBe(sent);
  });

  it('reads a subscribe, keeping only the fields it knows', () => {
    const sent = { type: 'subscribe', id: 'sub-1', name: 'chat.room', params: { room: 'a' }, from: 'e1:41', x: 1 };
    expect(accepted(sent)).toEqual({
      type: 'subscribe',
      id: 'sub-1',
      name: 'chat.room',
      params: { room: 'a' },
      from: 'e1:41',
    });
  });

  it('reads cancel, unsubscribe and ping', () => {
    expect(accepted({ type: 'cancel', id: 3 })).toEqual({ type: 'cancel', id: 3 });
    expect(accepted({ type: 'unsubscribe', id: 'x' })).toEqual({ type: 'unsubscribe', id: 'x' });
    // A ping needs no id, and its other fields are dropped.
    expect(accepted({ type: 'ping', id: {}, extra: 1 })).toEqual({ type: 'ping' });
  });

  it.each([
    ['JSON null', null],
    ['a number', 42],
    ['a string', 'call'],
    ['an array', [call]],
    ['no id', { type: 'call', name: 'math.add' }],
    ['a null id', { ...call, id: null }],
    ['a negative id', { ...call, id: -1 }],
    ['a fractional id', { ...call, id: 1.5 }],
    ['an object id', { ...call, id: { x: 1 } }],
    ['an empty id', { ...call, id: '' }],
    ['an overlong id', { ...call, id: 'x'.repeat(MAX_ID_LENGTH + 1) }],
    ['an unknown type without an id', { type: 'explode' }],
  ])('refuses %s with BAD_REQUEST and id null', (_what, value) => {
    const { id, error } = refusal(value);
    expect(id).toBeNull();
    expect(error).toBeInstanceOf(RpcError);
    expect(error.code).toBe('BAD_REQUEST');
  });

  it.each([
    ['a numeric name', { ...call, name: 5 }],
    ['a missing name', { type: 'subscribe', id: 7 }],
    ['an overlong name', { ...call, name: 'a'.repeat(MAX_NAME_LENGTH + 1) }],
    ['a string timeoutMs', { ...call, timeoutMs: '5' }],
    ['a zero timeoutMs', { ...call, timeoutMs: 0 }],
    ['a negative timeoutMs', { ...call, timeoutMs: -5 }],
    ['a NaN-like timeoutMs', { ...call, timeoutMs: null }],
    ['an empty key', { ...call, key: '' }],
    ['an overlong key', { ...call, key: 'k'.repeat(MAX_KEY_LENGTH + 1) }],
    ['a numeric key', { ...call, key: 7 }],
    ['a negative ack', { ...call, ack: -1 }],
    ['a fractional ack', { ...call, ack: 1.5 }],
    ['a string ack', { ...call, ack: '6' }],
    ['a from that is no position', { type: 'subscribe', id: 7, name: 'chat.room', from: 'yesterday' }],
    ['a from with a negative offset', { type: 'subscribe', id: 7, name: 'chat.room', from: 'e:-1' }],
    ['a numeric from', { type: 'subscribe', id: 7, name: 'chat.room', from: 41 }],
    ['an overlong subscribe name', { type: 'subscribe', id: 7, name: 'a'.repeat(MAX_NAME_LENGTH + 1) }],
    ['an unknown type', { type: 'explode', id: 7 }],
    ['a missing type', { id: 7 }],
  ])('refuses %s with BAD_REQUEST and the id', (_what, value) => {
    const { id, error } = refusal(value);
    expect(id).toBe(7);
    expect(error.code).toBe('BAD_REQUEST');
  });

  it('says "unknown message type" for a type it does not know, so a client can tell an addition is missing', () => {
    expect(refusal({ type: 'resume', id: 1 }).error.message).toBe('unknown message type');
  });

  it('accepts every field at its limit', () => {
    const longest = {
      ...call,
      id: 'i'.repeat(MAX_ID_LENGTH),
      name: 'n'.repeat(MAX_NAME_LENGTH),
      key: 'k'.repeat(MAX_KEY_LENGTH),
      ack: Number.MAX_SAFE_INTEGER,
      timeoutMs: Number.MIN_VALUE,
    };
    expect(accepted(longest)).toBe(longest);
    expect(accepted({ type: 'subscribe', id: 0, name: 'c', from: `e:${Number.MAX_SAFE_INTEGER}` })).toMatchObject({
      from: `e:${Number.MAX_SAFE_INTEGER}`,
    });
  });
});
