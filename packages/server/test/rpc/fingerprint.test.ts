import { describe, expect, it } from 'vitest';
import { callHash } from '../../src/rpc/fingerprint.js';

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

  it('tells values of one JSON text apart from another whatever their shape', () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -0,
      1,
      '1',
      '',
      [],
      [[]],
      {},
      { '': null },
      ['a', 'b'],
      ['ab'],
      { a: 'b' },
      { ab: '' },
    ];
    const hashes = new Set(values.map((value) => callHash('f', value, undefined)));
    expect(hashes.size).toBe(values.length);
  });

  it('hashes any depth JSON can hold, without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(callHash('f', deep, undefined)).toBe(callHash('f', deep, undefined));
  });
});
