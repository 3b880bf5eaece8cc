import { describe, expect, it } from 'vitest';
import { paramsKey, paramsOfKey } from '../../src/rpc/topic-key.js';

describe('paramsOfKey', () => {
  it.each([
    ['plain JSON', { room: 'lobby', n: 2 }],
    ['a ~ inside a string', { room: 'a~b', tag: '~' }],
    ['a value with meta (a Date, a Set)', { at: new Date(0), tags: new Set(['x~y']) }],
    ['a number', 12],
    ['null', null],
  ])('reads back what paramsKey wrote: %s', (_what, params) => {
    expect(paramsOfKey(paramsKey(params, 4_096))).toEqual(params);
  });
});
