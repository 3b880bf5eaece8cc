import { describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH } from '../src/contract.js';
import { MAX_FINGERPRINT_HASH_LENGTH, MAX_FINGERPRINT_NAMES } from '../src/fingerprint.js';
import { type AuthEnvelope, type EnvelopeProblem, isEnvelopeProblem, readClientEnvelope } from '../src/protocol.js';

// The `contract` field of `auth` (a fingerprint, docs/protocol.md "Limits"): read within its
// bounds, refused past them with BAD_REQUEST, the auth's id and what is wrong.

function read(contract: unknown): AuthEnvelope | EnvelopeProblem {
  return readClientEnvelope({ type: 'auth', id: 3, data: { token: 't' }, contract }) as AuthEnvelope | EnvelopeProblem;
}

function refusedWith(contract: unknown): string {
  const result = read(contract);
  if (!isEnvelopeProblem(result)) throw new Error('expected a refusal');
  expect(result.id).toBe(3);
  expect(result.error.code).toBe('BAD_REQUEST');
  return result.error.message;
}

/** A fingerprint with `count` procedures named p0, p1, …, each with these hashes. */
function withProcedures(count: number, hash = 'abc', name = (i: number) => `p${i}`) {
  const procedures: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) procedures[name(i)] = { input: hash, output: hash };
  return { procedures, channels: {} };
}

describe('auth `contract`', () => {
  it('is read with the credentials, as sent', () => {
    const contract = {
      procedures: { add: { input: 'a1', output: 'b2' } },
      channels: { feed: { params: 'c3', message: 'd4', snapshot: 'e5' } },
    };
    expect(read(contract)).toEqual({ type: 'auth', id: 3, data: { token: 't' }, contract });
  });

  it('is left out when absent', () => {
    expect(readClientEnvelope({ type: 'auth', id: 3 })).toEqual({ type: 'auth', id: 3 });
  });

  it('accepts every limit reached: names, name length, hash length', () => {
    const longest = 'h'.repeat(MAX_FINGERPRINT_HASH_LENGTH);
    expect(isEnvelopeProblem(read(withProcedures(MAX_FINGERPRINT_NAMES, longest)))).toBe(false);
    const longName = withProcedures(1, 'a', () => 'n'.repeat(MAX_NAME_LENGTH));
    expect(isEnvelopeProblem(read(longName))).toBe(false);
  });

  it('lets unknown fields of an entry through (a later client may send more)', () => {
    expect(isEnvelopeProblem(read({ procedures: { p: { input: 'a', output: 'b', meta: 'c' } }, channels: {} }))).toBe(
      false,
    );
  });

  it.each([
    ['not an object', 'abc', 'contract must be { procedures, channels }'],
    ['an array', [], 'contract must be { procedures, channels }'],
    ['without channels', { procedures: {} }, 'contract must be { procedures, channels }'],
    ['with channels as an array', { procedures: {}, channels: [] }, 'contract must be { procedures, channels }'],
    ['an empty name', withProcedures(1, 'a', () => ''), `contract names must have 1 to ${MAX_NAME_LENGTH} characters`],
    [
      'an overlong name',
      withProcedures(1, 'a', () => 'n'.repeat(MAX_NAME_LENGTH + 1)),
      `contract names must have 1 to ${MAX_NAME_LENGTH} characters`,
    ],
    [
      'an overlong hash',
      withProcedures(1, 'h'.repeat(MAX_FINGERPRINT_HASH_LENGTH + 1)),
      `contract procedure 'p0': hashes must be strings of 1 to ${MAX_FINGERPRINT_HASH_LENGTH} characters`,
    ],
    [
      'an empty hash',
      withProcedures(1, ''),
      `contract procedure 'p0': hashes must be strings of 1 to ${MAX_FINGERPRINT_HASH_LENGTH} characters`,
    ],
    [
      'a procedure without output',
      { procedures: { p: { input: 'a' } }, channels: {} },
      `contract procedure 'p': hashes must be strings of 1 to ${MAX_FINGERPRINT_HASH_LENGTH} characters`,
    ],
    [
      'a channel with a numeric message hash',
      { procedures: {}, channels: { c: { params: 'a', message: 7 } } },
      `contract channel 'c': hashes must be strings of 1 to ${MAX_FINGERPRINT_HASH_LENGTH} characters`,
    ],
    [
      'a channel with an overlong snapshot hash',
      { procedures: {}, channels: { c: { params: 'a', message: 'b', snapshot: 'h'.repeat(17) } } },
      `contract channel 'c': hashes must be strings of 1 to ${MAX_FINGERPRINT_HASH_LENGTH} characters`,
    ],
  ])('refuses %s', (_what, contract, message) => {
    expect(refusedWith(contract)).toBe(message);
  });

  it('refuses more names than MAX_FINGERPRINT_NAMES, procedures and channels counted together', () => {
    const contract = withProcedures(MAX_FINGERPRINT_NAMES);
    (contract.channels as Record<string, unknown>).c = { params: 'a', message: 'b' };
    expect(refusedWith(contract)).toBe(`contract has more than ${MAX_FINGERPRINT_NAMES} names`);
  });
});
