import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { wireSuperjson as superjson } from '../src/byte-values.js';
import { decodeValue, encodeValue } from '../src/codec.js';
import { RpcError } from '../src/errors.js';

// ── values both ends can send ───────────────────────────────────────────────

/** Object keys, with the characters superjson escapes in paths; superjson refuses the three prototype names. */
const key = fc
  .oneof(fc.string(), fc.constantFrom('a.b', 'a\\b', '\\.', '.', '', '0', '01', '1e0'))
  .filter((name) => name !== '__proto__' && name !== 'constructor' && name !== 'prototype');

const leaf = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double(), // with NaN, ±Infinity and -0
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
);

/** Plain JSON, Date, Map, Set, BigInt, undefined, NaN/±Infinity/-0, nested in each other. */
const { rich } = fc.letrec((tie) => ({
  rich: fc.oneof({ maxDepth: 5, depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
  array: fc.array(tie('rich'), { maxLength: 4 }),
  // JSON has one kind of object: null-prototype ones would come back with Object's.
  object: fc.dictionary(key, tie('rich'), { maxKeys: 4, noNullPrototype: true }),
  map: fc.array(fc.tuple(tie('rich'), tie('rich')), { maxLength: 3 }).map((entries) => new Map(entries)),
  set: fc.array(tie('rich'), { maxLength: 3 }).map((items) => new Set(items)),
}));

function overTheWire(value: unknown): { json: unknown; meta?: unknown } {
  return JSON.parse(JSON.stringify(encodeValue(value)));
}

describe('encodeValue → JSON text → decodeValue', () => {
  it('gives back an equal value for every mix of JSON, Date, Map, Set, BigInt, undefined and special numbers', () => {
    fc.assert(
      fc.property(rich, (value) => {
        const { json, meta } = overTheWire(value);
        expect(decodeValue(json, meta)).toStrictEqual(value);
      }),
      { numRuns: 1_000 },
    );
  });
});

// ── meta a hostile peer can send ────────────────────────────────────────────

/** Strings the revivable types accept, and some they must not. */
const scalar = fc.oneof(
  fc.constantFrom('1', '-2', '0x10', 'NaN', '-0', 'Infinity', '2024-01-01T00:00:00.000Z', 'https://x.y/', '/relative'),
  fc.constantFrom(null, 0, 'x', '9'.repeat(5_000)),
  fc.jsonValue({ maxDepth: 1 }),
);

const { json: jsonLike } = fc.letrec((tie) => ({
  json: fc.oneof({ maxDepth: 4 }, scalar, tie('array'), tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 4 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', '0', 'x.y', 'c\\d', '__proto__', 'constructor'), tie('json'), {
    maxKeys: 4,
  }),
}));

/** Every path in `json` as superjson writes one, and every tail of one (what children hold). */
function pathsIn(json: unknown): string[] {
  const paths = new Set<string>();
  const visit = (value: unknown, path: string[]): void => {
    for (let from = 0; from < path.length; from++) paths.add(path.slice(from).join('.'));
    if (typeof value !== 'object' || value === null) return;
    for (const [name, child] of Object.entries(value)) {
      visit(child, [...path, name.replaceAll('\\', '\\\\').replaceAll('.', '\\.')]);
    }
  };
  visit(json, []);
  return [...paths];
}

const typeName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('undefined', 'number', 'bigint', 'Date', 'URL', 'set', 'map') },
  fc.constantFrom('regexp', 'Error', 'class', 'custom', 'symbol', 'typed-array', 'toString', '__proto__'),
  fc.tuple(fc.constantFrom('class', 'custom', 'symbol', 'typed-array'), fc.string()),
  fc.string(),
);

/** A meta for `json`: mostly well-formed trees over its real paths, some junk, some shared references. */
function metaFor(json: unknown): fc.Arbitrary<unknown> {
  const paths = pathsIn(json);
  const pathKey = fc.oneof(
    { weight: paths.length > 0 ? 6 : 0, arbitrary: fc.constantFrom('', ...paths) },
    fc.constantFrom('x\\.y', 'a\\q', 'a\\', '__proto__', '0.constructor', 'a.prototype', '.', 'a..b', '01', '1e0'),
    fc.string(),
  );
  const { node, inner } = fc.letrec((tie) => ({
    node: fc.oneof(
      { maxDepth: 4, depthSize: 'small' },
      { weight: 3, arbitrary: fc.tuple(typeName) },
      { weight: 2, arbitrary: fc.tuple(typeName, tie('inner')) },
      fc.anything({ maxDepth: 1 }),
    ),
    inner: fc.dictionary(pathKey, tie('node'), { maxKeys: 6 }),
  }));
  const values = fc.oneof(node, inner, inner);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ values, v: fc.constant(1) }) },
    fc.record({ values, v: fc.constantFrom(0, 2, '1') }, { requiredKeys: [] }),
    fc.record({ values: inner, referentialEqualities: fc.anything({ maxDepth: 2 }), v: fc.constant(1) }),
    fc.anything(),
  );
}

const hostile = fc.oneof(jsonLike, jsonLike, fc.anything()).chain((json) => fc.tuple(fc.constant(json), metaFor(json)));

/**
 * A real encoding whose set and map children are written as flat paths from the root
 * instead, after their parent: the form that makes superjson walk a revived Set or Map.
 */
function flattened(values: unknown): unknown {
  if (Array.isArray(values) || typeof values !== 'object' || values === null) return values;
  const flat: Record<string, unknown> = {};
  const visit = (tree: Record<string, unknown>, prefix: string): void => {
    for (const [path, node] of Object.entries(tree)) {
      const [type, children] = node as [unknown, Record<string, unknown> | undefined];
      flat[prefix + path] = [type];
      if (children !== undefined) visit(children, `${prefix}${path}.`);
    }
  };
  visit(values as Record<string, unknown>, '');
  return flat;
}

const flattenedEncoding = rich.map((value) => {
  const { json, meta } = overTheWire(value);
  return {
    json,
    meta: meta === undefined ? meta : { ...meta, values: flattened((meta as { values: unknown }).values) },
  };
});

describe('decodeValue on hostile meta', () => {
  let deserialize: MockInstance;
  let setKeys: MockInstance;
  let mapKeys: MockInstance;

  beforeEach(() => {
    deserialize = vi.spyOn(superjson, 'deserialize');
    // superjson calls keys() only to walk a revived Set or Map to an index: the O(n) step.
    setKeys = vi.spyOn(Set.prototype, 'keys');
    mapKeys = vi.spyOn(Map.prototype, 'keys');
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  /**
   * Decodes `{ json, meta }` as it arrives over the wire. It either decodes or is refused
   * as BAD_REQUEST before superjson runs; superjson never walks a Set or Map to an index.
   */
  function expectLinearOrRefused(json: unknown, meta: unknown): void {
    const wire = JSON.parse(JSON.stringify({ json, meta }) ?? '{}') as { json: unknown; meta: unknown };
    for (const spy of [deserialize, setKeys, mapKeys]) spy.mockClear();
    let error: unknown;
    try {
      decodeValue(wire.json, wire.meta);
    } catch (thrown) {
      error = thrown;
    }
    const walks = setKeys.mock.calls.length + mapKeys.mock.calls.length;
    const reachedSuperjson = deserialize.mock.calls.length > 0;
    if (error !== undefined) {
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).code).toBe('BAD_REQUEST');
      expect(reachedSuperjson).toBe(false);
    }
    expect(walks).toBe(0);
  }

  it('refuses a null meta beside the json 0 that a lone byte value has (found by the property below, seed 428772889)', () => {
    expectLinearOrRefused(0, null);
    expect(() => decodeValue(0, null)).toThrow(RpcError);
  });

  it('refuses random meta with BAD_REQUEST before superjson, or decodes it without walking a Set or Map', () => {
    fc.assert(
      fc.property(hostile, ([json, meta]) => expectLinearOrRefused(json, meta)),
      { numRuns: 3_000 },
    );
  });

  it('refuses real encodings rewritten with flat paths through their Sets and Maps, or decodes them linearly', () => {
    fc.assert(
      fc.property(flattenedEncoding, ({ json, meta }) => expectLinearOrRefused(json, meta)),
      { numRuns: 1_000 },
    );
  });

  it('refuses the flat form of a Set of Dates, which the nested form decodes', () => {
    const { json, meta } = overTheWire({ s: new Set([new Date(0), new Date(1)]) });
    expect(meta).toEqual({ values: { s: ['set', { 0: ['Date'], 1: ['Date'] }] }, v: 1 });
    const flat = { values: flattened((meta as { values: unknown }).values), v: 1 };
    expect(flat.values).toEqual({ s: ['set'], 's.0': ['Date'], 's.1': ['Date'] });
    expect(() => decodeValue(json, flat)).toThrow(/path through a Set or Map/);
    expect(deserialize).not.toHaveBeenCalled();
  });
});
