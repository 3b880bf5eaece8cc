import { afterEach, describe, expect, it, vi } from 'vitest';
import { wireSuperjson as superjson } from '../src/byte-values.js';
import { decodeValue, encodeValue, isPlainJson, MAX_ENCODED_NODES } from '../src/codec.js';
import { RpcError } from '../src/errors.js';
import { pathsThroughMap, pathsThroughSet, sharedReferences } from './fixtures/hostile-meta.js';

/** What the other end sees: the encoded value after JSON.stringify and JSON.parse. */
function overTheWire(value: unknown): { json: unknown; meta?: unknown } {
  return JSON.parse(JSON.stringify(encodeValue(value)));
}

/** The error `run` throws; fails the test when it returns. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function badRequest(run: () => unknown): RpcError {
  const error = thrownBy(run);
  expect(error).toBeInstanceOf(RpcError);
  expect((error as RpcError).code).toBe('BAD_REQUEST');
  return error as RpcError;
}

/** `depth` levels of `{ a: v, b: v }`: depth + 1 objects, 2^(depth + 1) - 1 paths to walk. */
function sharedTree(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: value, b: value };
  return value;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('decodeValue on hostile meta', () => {
  it('refuses the ~1 MiB call whose paths walk a revived Set to each index, before superjson runs', () => {
    const attack = pathsThroughSet(36_000);
    expect(attack.chars).toBeGreaterThan(900 * 1024);
    const deserialize = vi.spyOn(superjson, 'deserialize');
    const error = badRequest(() => decodeValue(attack.json, attack.meta));
    expect(error.message).toMatch(/path through a Set or Map/);
    expect(deserialize).not.toHaveBeenCalled();
  });

  it('refuses paths that walk a revived Map to each row, before superjson runs', () => {
    const attack = pathsThroughMap(30_000);
    const deserialize = vi.spyOn(superjson, 'deserialize');
    badRequest(() => decodeValue(attack.json, attack.meta));
    expect(deserialize).not.toHaveBeenCalled();
  });

  it('refuses the 2 KiB message whose shared references make 2^26 paths, before superjson runs', () => {
    const attack = sharedReferences(26);
    expect(attack.chars).toBeLessThan(2 * 1024);
    const deserialize = vi.spyOn(superjson, 'deserialize');
    const error = badRequest(() => decodeValue(attack.json, attack.meta));
    expect(error.message).toMatch(/referentialEqualities/);
    expect(deserialize).not.toHaveBeenCalled();
  });

  it('still refuses a __proto__ path, as BAD_REQUEST', () => {
    badRequest(() => decodeValue({ a: '1' }, { values: { '__proto__.a': ['bigint'] }, v: 1 }));
  });

  it('returns json as it is when there is no meta', () => {
    const json = { a: [1, 'b'] };
    expect(decodeValue(json, undefined)).toBe(json);
  });
});

describe('encodeValue on shared references', () => {
  it('writes a shared object in full at each place, as superjson.serialize does', () => {
    const map = new Map([['k', new Date(0)]]);
    expect(superjson.serialize([map, map]).json).toEqual([
      [['k', '1970-01-01T00:00:00.000Z']],
      [['k', '1970-01-01T00:00:00.000Z']],
    ]);
  });

  it('never writes referentialEqualities: each copy of a shared object carries its own annotations', () => {
    const shared = { at: new Date(0), counts: new Map([['k', 5n]]) };
    const { json, meta } = overTheWire({ x: shared, y: [shared] });
    expect(meta).toEqual({
      values: {
        'x.at': ['Date'],
        'x.counts': ['map', { '0.1': ['bigint'] }],
        'y.0.at': ['Date'],
        'y.0.counts': ['map', { '0.1': ['bigint'] }],
      },
      v: 1,
    });
    const decoded = decodeValue(json, meta) as { x: unknown; y: unknown[] };
    expect(decoded).toStrictEqual({ x: shared, y: [shared] });
    expect(decoded.y[0]).not.toBe(decoded.x); // identity is not kept across the wire
  });

  it('refuses a cyclic value, which JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = { at: new Date(0) };
    cyclic.self = cyclic;
    const serialize = vi.spyOn(superjson, 'serialize');
    expect(thrownBy(() => encodeValue(cyclic))).toBeInstanceOf(TypeError);
    expect(serialize).not.toHaveBeenCalled();
  });

  it('refuses a plain handler output that shares objects into 2^31 paths', () => {
    const error = thrownBy(() => encodeValue(sharedTree(30, {})));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/over 1000000 nodes/);
  });

  it('refuses a shared output of 2^21 paths with a Date inside before superjson annotates it once per path', () => {
    const serialize = vi.spyOn(superjson, 'serialize');
    expect(thrownBy(() => encodeValue(sharedTree(20, new Date(0))))).toBeInstanceOf(RangeError);
    expect(serialize).not.toHaveBeenCalled();
  });

  it('encodes a shared value whose paths fit the budget, as copies', () => {
    const value = sharedTree(10, new Date(0));
    const { json, meta } = overTheWire(value);
    expect(decodeValue(json, meta)).toStrictEqual(value);
  });
});

describe('encodeValue node budget', () => {
  it('encodes a plain array of exactly MAX_ENCODED_NODES nodes and refuses one more', () => {
    const items = Array.from({ length: MAX_ENCODED_NODES - 1 }, () => 0); // + the array itself
    expect(encodeValue(items).meta).toBeUndefined();
    items.push(0);
    expect(thrownBy(() => encodeValue(items))).toBeInstanceOf(RangeError);
  });

  it('counts a non-plain value the same way, a Map entry as one node more', () => {
    const fits: unknown[] = [new Date(0), ...Array.from({ length: MAX_ENCODED_NODES - 2 }, () => 0)];
    expect(encodeValue(fits).meta).toEqual({ values: { 0: ['Date'] }, v: 1 });
    fits.push(0);
    expect(thrownBy(() => encodeValue(fits))).toBeInstanceOf(RangeError);
    // [map]: the array, the map, and per entry the pair, its key and its value.
    const entries = Math.floor((MAX_ENCODED_NODES - 2) / 3);
    const map = new Map(Array.from({ length: entries }, (_, i) => [i, 0]));
    expect(() => encodeValue([map])).not.toThrow();
    map.set(entries, 0);
    expect(thrownBy(() => encodeValue([map]))).toBeInstanceOf(RangeError);
  });

  it('says isPlainJson only of plain values within the budget', () => {
    expect(isPlainJson({ a: [1, 'x', true, null], b: {} })).toBe(true);
    for (const value of [Number.NaN, -0, undefined, 1n, new Date(0), new Map(), [Number.POSITIVE_INFINITY]]) {
      expect(isPlainJson(value)).toBe(false);
    }
    expect(isPlainJson(sharedTree(20, 1))).toBe(false);
  });
});

describe('encodeValue refuses what decodeValue would refuse', () => {
  it.each([
    ['an Error', { failure: new Error('x') }, /Error/],
    ['a RegExp', { pattern: /a+/ }, /regexp/],
    ['a typed array other than Uint8Array', { bytes: new Int16Array(2) }, /typed-array/],
    ['a bigint over MAX_BIGINT_CHARS digits', { big: 10n ** 4_096n }, /bigint is over 4096 characters/],
  ])('throws on %s, for the server to answer INTERNAL', (_, value, reason) => {
    const error = thrownBy(() => encodeValue(value));
    expect(error).not.toBeInstanceOf(RpcError);
    expect((error as Error).message).toMatch(/^cannot encode this value: /);
    expect((error as Error).message).toMatch(reason);
  });

  it('encodes a URL, which the decoder accepts', () => {
    const { json, meta } = overTheWire({ home: new URL('https://example.com/a?b=c') });
    expect(decodeValue(json, meta)).toStrictEqual({ home: new URL('https://example.com/a?b=c') });
  });
});

describe('a value that is bytes alone', () => {
  it('encodes as superjson would (index 0, one custom annotation, its length) and round-trips through a binary message', async () => {
    const { readMessage, writeMessage } = await import('../src/binary-message.js');
    for (const bytes of [new Uint8Array(0), new Uint8Array([1, 2, 3]), Buffer.from('a buffer is bytes too')]) {
      const encoded = encodeValue(bytes);
      expect(encoded).toEqual({
        json: 0,
        meta: { values: [['custom', 'bytes']], v: 1, b: [bytes.byteLength] },
        parts: [bytes],
      });
      // The same annotations as a Uint8Array inside a value gets from superjson.
      const nested = encodeValue({ x: bytes });
      expect((nested.meta as { values: Record<string, unknown> }).values.x).toEqual([['custom', 'bytes']]);
      const read = readMessage(
        writeMessage({ type: 'result', id: 1, output: encoded.json, meta: encoded.meta }, encoded.parts),
      ) as {
        output: unknown;
        meta: unknown;
      };
      const decoded = decodeValue(read.output, read.meta) as Uint8Array;
      expect(Object.getPrototypeOf(decoded)).toBe(Uint8Array.prototype);
      expect(Array.from(decoded)).toEqual(Array.from(bytes));
    }
  });
});
