import { afterEach, describe, expect, it, vi } from 'vitest';
import { wireSuperjson as superjson } from '../src/byte-values.js';
import { decodeValue, encodeValue } from '../src/codec.js';
import { RpcError } from '../src/errors.js';
import {
  MAX_BIGINT_CHARS,
  MAX_DATE_CHARS,
  MAX_META_PATH_SEGMENTS,
  MAX_URL_CHARS,
  META_LIMITS,
  type MetaLimits,
} from '../src/meta.js';

// checkMeta is exercised through decodeValue, the way each end meets a peer's meta.

/** Decodes `{ json, meta }` after a trip through JSON text, as it arrives. */
function decode(json: unknown, meta: unknown, limits?: MetaLimits): unknown {
  const wire = JSON.parse(JSON.stringify({ json, meta })) as { json: unknown; meta: unknown };
  return limits === undefined ? decodeValue(wire.json, wire.meta) : decodeValue(wire.json, wire.meta, limits);
}

/** Expects BAD_REQUEST with a message matching `reason`, and superjson never reached. */
function expectRefused(json: unknown, meta: unknown, reason: RegExp, limits?: MetaLimits): void {
  const deserialize = vi.spyOn(superjson, 'deserialize');
  let error: unknown;
  try {
    decode(json, meta, limits);
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(RpcError);
  expect((error as RpcError).code).toBe('BAD_REQUEST');
  expect((error as RpcError).message).toMatch(reason);
  expect(deserialize).not.toHaveBeenCalled();
  deserialize.mockRestore();
}

/** `{ json, meta }` for a value `count` levels of `{ a: … }` deep with a Date at the bottom. */
function dateAtDepth(count: number): { json: unknown; meta: unknown } {
  let json: unknown = '1970-01-01T00:00:00.000Z';
  for (let i = 0; i < count; i++) json = { a: json };
  return { json, meta: { values: { [Array.from({ length: count }, () => 'a').join('.')]: ['Date'] }, v: 1 } };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('meta shape', () => {
  it.each([
    ['not an object', [], /meta must be an object/],
    ['with referentialEqualities', { values: {}, referentialEqualities: { a: ['b'] }, v: 1 }, /referentialEqualities/],
    ['with another field', { values: {}, v: 1, extra: true }, /unknown field 'extra'/],
    ['without v', { values: { a: ['Date'] } }, /v must be 1/],
    ['of legacy paths (v 0)', { values: { a: ['Date'] }, v: 0 }, /v must be 1/],
    ['without values', { v: 1 }, /values is missing/],
    ['whose values is a string', { values: 'Date', v: 1 }, /expected \[type\] or an object of paths/],
    ['with an empty annotation', { values: { a: [] }, v: 1 }, /\[type\] or \[type, children\]/],
    ['with a three-item annotation', { values: { a: ['set', {}, {}] }, v: 1 }, /\[type\] or \[type, children\]/],
    [
      'with an object where an annotation goes',
      { values: { a: { b: ['Date'] } }, v: 1 },
      /\[type\] or \[type, children\]/,
    ],
    ['with children on a Date', { values: { a: ['Date', { 0: ['bigint'] }] }, v: 1 }, /only a set or map/],
  ])('refuses meta %s', (_, meta, reason) => {
    expectRefused({ a: '1970-01-01T00:00:00.000Z' }, meta, reason);
  });
});

describe('revivable types', () => {
  it('revives undefined, NaN, ±Infinity, -0, bigint, Date, URL, Set and Map', () => {
    const json = {
      u: null,
      n: ['NaN', 'Infinity', '-Infinity', '-0'],
      b: '-12345678901234567890',
      d: '2024-02-29T12:34:56.789Z',
      url: 'https://example.com/x',
      s: ['a'],
      m: [['k', '5']],
    };
    const values = {
      u: ['undefined'],
      'n.0': ['number'],
      'n.1': ['number'],
      'n.2': ['number'],
      'n.3': ['number'],
      b: ['bigint'],
      d: ['Date'],
      url: ['URL'],
      s: ['set'],
      m: ['map', { '0.1': ['bigint'] }],
    };
    expect(decode(json, { values, v: 1 })).toStrictEqual({
      u: undefined,
      n: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0],
      b: -12345678901234567890n,
      d: new Date('2024-02-29T12:34:56.789Z'),
      url: new URL('https://example.com/x'),
      s: new Set(['a']),
      m: new Map([['k', 5n]]),
    });
  });

  it.each([
    ['class', { a: {} }, ['class', 'Admin']],
    ['custom', { a: 'x' }, ['custom', 'decimal']],
    ['custom other than a byte value', { a: 0 }, [['custom', 'decimal']]],
    ['symbol', { a: 'x' }, ['symbol', 'id']],
    ['typed-array', { a: [1] }, ['typed-array', 'Uint8Array']],
    ['Error', { a: { name: 'Error', message: 'm' } }, ['Error']],
    ['regexp', { a: '/(a+)+$/' }, ['regexp']],
    ['an unknown type', { a: 'x' }, ['Decimal']],
    ['a number as type', { a: 'x' }, [7]],
  ])('refuses %s', (_, json, annotation) => {
    expectRefused(json, { values: { a: annotation }, v: 1 }, /is not accepted/);
  });

  it.each([
    ['undefined on a string', 'x', 'undefined', /undefined must annotate null/],
    ['number on another string', 'NaN ', 'number', /number must annotate 'NaN'/],
    ['bigint on a number', 5, 'bigint', /bigint must annotate a decimal string/],
    ['bigint on hex', '0x10', 'bigint', /bigint must annotate a decimal string/],
    ['Date on a number', 0, 'Date', /Date must annotate a string/],
    ['URL on a relative path', '/x', 'URL', /URL must annotate a valid URL/],
    ['set on an object', { 0: 'a' }, 'set', /set must annotate an array/],
    ['map on an array of non-pairs', [1, 2], 'map', /map must annotate an array of \[key, value\] pairs/],
    ['map on a row of three', [['k', 'v', 'w']], 'map', /map must annotate an array of \[key, value\] pairs/],
  ])('refuses %s', (_, value, type, reason) => {
    expectRefused({ a: value }, { values: { a: [type] }, v: 1 }, reason);
  });

  it(`accepts a bigint of ${MAX_BIGINT_CHARS} characters and refuses one more`, () => {
    const digits = '9'.repeat(MAX_BIGINT_CHARS);
    expect(decode({ a: digits }, { values: { a: ['bigint'] }, v: 1 })).toStrictEqual({ a: BigInt(digits) });
    expectRefused({ a: `${digits}9` }, { values: { a: ['bigint'] }, v: 1 }, /bigint is over 4096 characters/);
  });

  it('bounds the strings of Dates and URLs', () => {
    const date = '2024-01-01'.padEnd(MAX_DATE_CHARS + 1, ' ');
    expectRefused({ a: date }, { values: { a: ['Date'] }, v: 1 }, /Date is over 64 characters/);
    const url = `https://example.com/${'x'.repeat(MAX_URL_CHARS)}`;
    expectRefused({ a: url }, { values: { a: ['URL'] }, v: 1 }, /URL is over 8192 characters/);
  });
});

describe('annotation paths', () => {
  it('refuses a path that is not in json', () => {
    expectRefused({ a: [] }, { values: { 'a.0': ['Date'] }, v: 1 }, /a\.0: not in json/);
    expectRefused({ a: {} }, { values: { 'a.b': ['Date'] }, v: 1 }, /not in json/);
    expectRefused('x', { values: { length: ['bigint'] }, v: 1 }, /not in json/);
  });

  it.each(['01', '1e0', '', ' 1', '-0'])('reads array index %j as superjson writes indexes only', (index) => {
    expectRefused({ a: ['x', 'y'] }, { values: { [`a.${index}`]: ['Date'] }, v: 1 }, /not in json/);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses a %s segment even where json has that key', (segment) => {
    const json = JSON.parse(`{"a":{"${segment}":"1"}}`);
    expectRefused(json, { values: { [`a.${segment}`]: ['bigint'] }, v: 1 }, new RegExp(`'${segment}' is not accepted`));
  });

  it('reads escaped dots and backslashes as superjson writes them', () => {
    const json = { 'a.b': { 'c\\d': '1' } };
    expect(decode(json, { values: { 'a\\.b.c\\\\d': ['bigint'] }, v: 1 })).toStrictEqual({ 'a.b': { 'c\\d': 1n } });
    expectRefused(json, { values: { 'a\\b': ['bigint'] }, v: 1 }, /escapes only/);
  });

  it(`accepts ${MAX_META_PATH_SEGMENTS} segments from the root and refuses one more`, () => {
    const fits = dateAtDepth(MAX_META_PATH_SEGMENTS);
    expect(() => decode(fits.json, fits.meta)).not.toThrow();
    const over = dateAtDepth(MAX_META_PATH_SEGMENTS + 1);
    expectRefused(over.json, over.meta, /over 64 segments from the root/);
  });

  it('counts the segments of nested children from the root', () => {
    const limits = { ...META_LIMITS, maxPathSegments: 4 };
    const json = { a: [[['k', '1']]] };
    const fits = { values: { a: ['set', { 0: ['map', { '0.1': ['bigint'] }] }] }, v: 1 };
    expect(decode(json, fits, limits)).toStrictEqual({ a: new Set([new Map([['k', 1n]])]) });
    expectRefused({ b: json }, { values: { 'b.a': fits.values.a }, v: 1 }, /over 4 segments/, limits);
  });

  it('refuses more annotations than the limit', () => {
    const limits = { ...META_LIMITS, maxAnnotations: 3 };
    const json = ['1', '2', '3', '4'];
    expect(decode(json.slice(0, 3), { values: { 0: ['bigint'], 1: ['bigint'], 2: ['bigint'] }, v: 1 }, limits)).toEqual(
      [1n, 2n, 3n],
    );
    const four = { values: { 0: ['bigint'], 1: ['bigint'], 2: ['bigint'], 3: ['bigint'] }, v: 1 };
    expectRefused(json, four, /over 3 annotations/, limits);
  });
});

describe('paths into a Set or Map', () => {
  it("accepts a set's or map's children, which superjson applies while it is still an array", () => {
    const value = { s: new Set([new Date(0), 1n]), m: new Map([[new Date(1), new Map([['k', undefined]])]]) };
    const { json, meta } = encodeValue(value);
    expect(meta).toEqual({
      values: {
        s: ['set', { 0: ['Date'], 1: ['bigint'] }],
        m: ['map', { '0.0': ['Date'], '0.1': ['map', { '0.1': ['undefined'] }] }],
      },
      v: 1,
    });
    expect(decode(json, meta)).toStrictEqual(value);
  });

  it('refuses a path through a Set revived before it', () => {
    expectRefused({ s: ['1', '2'] }, { values: { s: ['set'], 's.1': ['bigint'] }, v: 1 }, /s\.1: a path through a Set/);
  });

  it('refuses a path through a Set revived after it', () => {
    expectRefused(
      { s: ['1', '2'] },
      { values: { 's.1': ['bigint'], s: ['set'] }, v: 1 },
      /s: a path passes through this set/,
    );
  });

  it('refuses a path through a Map nested in the children of another', () => {
    const json = { m: [['k', [['j', '1']]]] };
    const values = { m: ['map', { '0.1': ['map'], '0.1.0.1': ['bigint'] }] };
    expectRefused(json, { values, v: 1 }, /path through a Set or Map/);
  });

  it('refuses a map child that addresses a whole row', () => {
    expectRefused({ m: [[[], 'v']] }, { values: { m: ['map', { 0: ['set'] }] }, v: 1 }, /row\.0 or row\.1/);
  });
});
