import { describe, expect, it } from 'vitest';
import { parseJson } from '../src/codec.js';

describe('parseJson', () => {
  it('refuses a __proto__ key at any depth', () => {
    expect(() => parseJson('{"a":[{"b":{"__proto__":{"polluted":true}}}]}')).toThrow(SyntaxError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a __proto__ key spelled with \\u escapes', () => {
    expect(() => parseJson('{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}')).toThrow(SyntaxError);
  });

  it('accepts __proto__ as a string value, however deep the message nests', () => {
    const depth = 200_000;
    const text = `${'['.repeat(depth)}"__proto__"${']'.repeat(depth)}`;
    let value = parseJson(text);
    for (let i = 0; i < depth; i++) value = (value as unknown[])[0];
    expect(value).toBe('__proto__');
  });

  it('finds a __proto__ key at the bottom of a deep message without recursing', () => {
    const depth = 200_000;
    expect(() => parseJson(`${'{"a":'.repeat(depth)}{"__proto__":1}${'}'.repeat(depth)}`)).toThrow(SyntaxError);
  });
});
