import { RpcError } from '@switchboard/contract';
import { describe, expect, it } from 'vitest';
import { callHash, hashText } from '../../src/rpc/fingerprint.js';

describe('callHash', () => {
  it('is the same for the same call and differs by procedure, input or meta', () => {
    const base = callHash('add', { a: 1, b: 2 }, undefined);
    expect(callHash('add', { a: 1, b: 2 }, undefined)).toBe(base);
    expect(callHash('sub', { a: 1, b: 2 }, undefined)).not.toBe(base);
    expect(callHash('add', { a: 1, b: 3 }, undefined)).not.toBe(base);
    expect(callHash('add', { a: 1, b: 2 }, { values: { a: ['bigint'] }, v: 1 })).not.toBe(base);
  });

  it('does not run the pieces together: a name and an input never pass for another pair', () => {
    expect(callHash('ab', 'c', undefined)).not.toBe(callHash('a', 'bc', undefined));
    expect(callHash('a', undefined, 1)).not.toBe(callHash('a', 1, undefined));
  });

  it('hashes the pieces as hashText hashes them joined, without joining them', () => {
    expect(callHash('add', [1], undefined)).toBe(hashText('add\u0000[1]\u0000'));
  });

  it('refuses an input too deep to write as BAD_REQUEST', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => callHash('f', deep, undefined)).toThrow(RpcError);
  });
});
