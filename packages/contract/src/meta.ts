// Checks a peer's superjson `meta` against its `json` before superjson runs, so that reviving costs linear time.
import { ARRAY_BUFFER_ANNOTATION, BYTES_ANNOTATION } from './byte-values.js';
import { RpcError } from './errors.js';

// The one form accepted, superjson v2's tree (written with `v: 1`):
//
//   meta  = { values: Tree, v: 1 }                 nothing else: no referentialEqualities
//   Tree  = Node | Inner
//   Node  = [type] | ['set' | 'map', Inner]        children are applied before the node itself
//   Inner = { "<path>": Node, ... }                segments joined by '.'; '.' and '\' inside one are escaped by '\'
//   Node  = [['custom', 'bytes' | 'arraybuffer']]  a byte value: its json is an index into `b`
//   meta.b = the byte values of a binary message (readMessage put them in place of their lengths)
//
//   { d: new Date(0), m: new Map([['k', 5n]]) }
//     json { "d": "1970-01-01T00:00:00.000Z", "m": [["k", "5"]] }
//     meta { "values": { "d": ["Date"], "m": ["map", { "0.1": ["bigint"] }] }, "v": 1 }
//
// What superjson costs, and what bounds it here:
// - each annotation: its whole path from the root is copied and walked → maxPathSegments, maxAnnotations;
// - a path that reaches *through* a Set or Map already revived: superjson iterates the Set to the
//   index, O(n) per path and O(n²) for n of them → refused. A set/map node's own children are fine:
//   superjson applies them first, while the Set or Map is still a JSON array (O(1) per step);
// - BigInt parses decimal strings in superlinear time → maxBigintChars;
// - referentialEqualities share objects, and a DAG of n nodes has up to 2^n paths for whoever walks
//   the value next → refused (JSON carries no shared references; our encoder never writes them).

/** Most annotations (a Date, a bigint, a Map, …: one each) one value's meta may hold. */
export const MAX_META_ANNOTATIONS = 100_000;
/** Most segments in an annotation's path from the root (a Map entry's key or value takes two). */
export const MAX_META_PATH_SEGMENTS = 64;
/** Longest bigint, in characters of its decimal string: V8 parses those in superlinear time. */
export const MAX_BIGINT_CHARS = 4_096;
/** Longest Date string (an ISO string has 24 to 27 characters). */
export const MAX_DATE_CHARS = 64;
/** Longest URL string. */
export const MAX_URL_CHARS = 8_192;

/** Bounds on the meta `decodeValue` accepts; each bounds superjson's work for one value. */
export interface MetaLimits {
  /** @default MAX_META_ANNOTATIONS */
  maxAnnotations: number;
  /** @default MAX_META_PATH_SEGMENTS */
  maxPathSegments: number;
  /** @default MAX_BIGINT_CHARS */
  maxBigintChars: number;
  /** @default MAX_DATE_CHARS */
  maxDateChars: number;
  /** @default MAX_URL_CHARS */
  maxUrlChars: number;
}

/** The limits both ends use unless told otherwise. */
export const META_LIMITS: Readonly<MetaLimits> = Object.freeze({
  maxAnnotations: MAX_META_ANNOTATIONS,
  maxPathSegments: MAX_META_PATH_SEGMENTS,
  maxBigintChars: MAX_BIGINT_CHARS,
  maxDateChars: MAX_DATE_CHARS,
  maxUrlChars: MAX_URL_CHARS,
});

type Revivable = 'undefined' | 'number' | 'bigint' | 'Date' | 'URL' | 'set' | 'map';

const SPECIAL_NUMBERS: ReadonlySet<unknown> = new Set(['NaN', 'Infinity', '-Infinity', '-0']);
const DECIMAL = /^-?\d+$/;

/**
 * The JSON each revivable type must annotate, or why not; each revives in time linear in it.
 * Not here ('custom' is only a byte value's placeholder, checked apart): 'class', other 'custom', 'symbol' (registries a peer must not reach), 'Error' (a
 * peer-chosen stack and cause), 'typed-array', and 'regexp' (a peer-chosen pattern is a
 * ReDoS waiting for the first code that runs it: send its source as a string instead).
 */
const REVIVABLE: Readonly<Record<Revivable, (json: unknown, limits: MetaLimits) => string | undefined>> = {
  // JSON has no undefined: superjson writes null (and an absent field reads as undefined).
  undefined: (json) => (json === null || json === undefined ? undefined : 'must annotate null'),
  number: (json) => (SPECIAL_NUMBERS.has(json) ? undefined : "must annotate 'NaN', 'Infinity', '-Infinity' or '-0'"),
  bigint: (json, { maxBigintChars }) => {
    if (typeof json !== 'string') return 'must annotate a decimal string';
    if (json.length > maxBigintChars) return `is over ${maxBigintChars} characters`;
    return DECIMAL.test(json) ? undefined : 'must annotate a decimal string';
  },
  Date: (json, { maxDateChars }) => {
    if (typeof json !== 'string') return 'must annotate a string';
    return json.length > maxDateChars ? `is over ${maxDateChars} characters` : undefined;
  },
  URL: (json, { maxUrlChars }) => {
    if (typeof json !== 'string') return 'must annotate a string';
    if (json.length > maxUrlChars) return `is over ${maxUrlChars} characters`;
    return isUrl(json) ? undefined : 'must annotate a valid URL';
  },
  set: (json) => (Array.isArray(json) ? undefined : 'must annotate an array'),
  map: (json) =>
    Array.isArray(json) && json.every(isPair) ? undefined : 'must annotate an array of [key, value] pairs',
};

/**
 * Throws BAD_REQUEST unless superjson can revive `json` with `meta` in time linear in their
 * size: the tree form only, revivable types only, each path present in `json` with the JSON
 * its type needs, no path through a Set or Map, within `limits`.
 */
export function checkMeta(json: unknown, meta: unknown, limits: MetaLimits = META_LIMITS): void {
  if (!isRecord(meta)) refuse('meta must be an object');
  for (const field in meta) {
    if (field === 'referentialEqualities') refuse('shared references (referentialEqualities) are not accepted');
    if (field !== 'values' && field !== 'v' && field !== 'b') refuse(`unknown field '${clip(field)}'`);
  }
  if (meta.v !== 1) refuse('v must be 1');
  if (!Object.hasOwn(meta, 'values')) refuse('values is missing');
  const parts = meta.b ?? [];
  // Only readMessage puts Uint8Arrays here: lengths in a text message name no bytes.
  if (!Array.isArray(parts) || !parts.every((part) => part instanceof Uint8Array)) {
    refuse('b must hold the byte values of a binary message');
  }
  new MetaCheck(json, limits, parts.length).check(meta.values);
}

class MetaCheck {
  readonly #json: unknown;
  readonly #limits: MetaLimits;
  #annotations = 0;
  /** The JSON arrays that become a Set or Map. */
  readonly #revived = new Set<unknown>();
  /** The JSON arrays some annotation's path passes through: none of them may be revived. */
  readonly #passed = new Set<unknown>();
  /** Which byte values a placeholder names (one may be named more than once: the same object). */
  readonly #named: Uint8Array;
  #namedCount = 0;

  constructor(json: unknown, limits: MetaLimits, partCount: number) {
    this.#json = json;
    this.#limits = limits;
    this.#named = new Uint8Array(partCount);
  }

  check(values: unknown): void {
    if (Array.isArray(values)) this.#node(values, this.#json, 0, '', '');
    else this.#inner(values, this.#json, 0, '', undefined);
    // Every byte of the message belongs to a value: nothing rides along unnamed.
    if (this.#namedCount !== this.#named.length) refuse(`${this.#named.length - this.#namedCount} byte values unnamed`);
  }

  /** A byte value's placeholder: `[['custom', 'bytes' | 'arraybuffer']]` on an index into `b`. */
  #byteValue(node: unknown[], type: unknown[], location: unknown, where: string, key: string): void {
    const name = type[1];
    if (node.length !== 1 || type.length !== 2 || (name !== BYTES_ANNOTATION && name !== ARRAY_BUFFER_ANNOTATION)) {
      refuse(
        `${at(where, key)}: custom type ${clip(JSON.stringify(name) ?? '')} is not accepted (only a byte value's)`,
      );
    }
    if (typeof location !== 'number' || !Number.isInteger(location) || location < 0) {
      refuse(`${at(where, key)}: a byte value's placeholder must be an index`);
    }
    if (location >= this.#named.length) refuse(`${at(where, key)}: byte value ${location} is not in the message`);
    if (this.#named[location] === 0) {
      this.#named[location] = 1;
      this.#namedCount++;
    }
  }

  // `where` (the path so far, escaped) and `key` are joined only for a message or for children.

  #inner(inner: unknown, start: unknown, depth: number, where: string, parent: 'set' | 'map' | undefined): void {
    if (!isRecord(inner)) refuse(`${at(where)}: expected [type] or an object of paths`);
    const { maxPathSegments } = this.#limits;
    for (const key of Object.keys(inner)) {
      const segments = parsePath(key, maxPathSegments - depth);
      if (segments === undefined) refuse(`${at(where, key)}: over ${maxPathSegments} segments from the root`);
      if (segments === BAD_ESCAPE) refuse(`${at(where, key)}: '\\' escapes only '.' or '\\'`);
      // A Map's entry is [key, value]: its annotations address row.0 or row.1, never the row.
      if (parent === 'map' && segments.length < 2) refuse(`${at(where, key)}: a map annotates row.0 or row.1`);
      let location = start;
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i] as string;
        if (isForbidden(segment)) refuse(`${at(where, key)}: '${segment}' is not accepted`);
        if (i > 0 && Array.isArray(location)) {
          if (this.#revived.has(location)) refuse(`${at(where, key)}: a path through a Set or Map is not accepted`);
          this.#passed.add(location);
        }
        location = childOf(location, segment);
        if (location === MISSING) refuse(`${at(where, key)}: not in json`);
      }
      this.#node(inner[key], location, depth + segments.length, where, key);
    }
  }

  #node(node: unknown, location: unknown, depth: number, where: string, key: string): void {
    if (!Array.isArray(node) || node.length < 1 || node.length > 2) {
      refuse(`${at(where, key)}: an annotation is [type] or [type, children]`);
    }
    if (++this.#annotations > this.#limits.maxAnnotations) refuse(`over ${this.#limits.maxAnnotations} annotations`);
    const type: unknown = node[0];
    if (Array.isArray(type) && type[0] === 'custom') {
      this.#byteValue(node, type, location, where, key);
      return;
    }
    if (typeof type !== 'string' || !Object.hasOwn(REVIVABLE, type)) {
      refuse(`${at(where, key)}: type ${clip(JSON.stringify(type) ?? String(type))} is not accepted`);
    }
    const problem = REVIVABLE[type as Revivable](location, this.#limits);
    if (problem !== undefined) refuse(`${at(where, key)}: ${type} ${problem}`);
    if (type === 'set' || type === 'map') {
      // superjson applies annotations in the order of their keys: checked here for paths
      // seen before this node, and in #inner for paths seen after it.
      if (this.#passed.has(location)) refuse(`${at(where, key)}: a path passes through this ${type}`);
      this.#revived.add(location);
      // Its children start at the array itself: they do not pass through it.
      if (node.length === 2) this.#inner(node[1], location, depth, join(where, key), type);
    } else if (node.length === 2) {
      refuse(`${at(where, key)}: only a set or map annotation has children`);
    }
  }
}

const MISSING: unique symbol = Symbol('missing');

/** The JSON child at `segment`, as superjson's setDeep reads it before any revival. */
function childOf(container: unknown, segment: string): unknown {
  if (Array.isArray(container)) {
    const index = indexOf(segment);
    return index < container.length ? container[index] : MISSING;
  }
  return isRecord(container) && Object.hasOwn(container, segment) ? container[segment] : MISSING;
}

/** The array index `segment` names as superjson writes it ('0', '17'; not '01', '1e1' or ''), else Infinity. */
function indexOf(segment: string): number {
  if (segment.length === 0 || segment.length > 15 || (segment.length > 1 && segment.charCodeAt(0) === ZERO)) {
    return Number.POSITIVE_INFINITY;
  }
  let index = 0;
  for (let i = 0; i < segment.length; i++) {
    const digit = segment.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return Number.POSITIVE_INFINITY;
    index = index * 10 + digit;
  }
  return index;
}

const ZERO = 48;

/** superjson refuses these too; refused here so that no peer's path reaches a prototype. */
function isForbidden(segment: string): boolean {
  return segment === '__proto__' || segment === 'constructor' || segment === 'prototype';
}

const BAD_ESCAPE: unique symbol = Symbol('bad escape');

/** superjson's v1 path syntax; undefined past `maxSegments`, BAD_ESCAPE where superjson would throw. */
function parsePath(key: string, maxSegments: number): string[] | undefined | typeof BAD_ESCAPE {
  if (!key.includes('\\')) {
    const segments = key.split('.', maxSegments + 1);
    return segments.length > maxSegments ? undefined : segments;
  }
  const segments: string[] = [];
  let segment = '';
  let from = 0;
  for (let i = 0; i < key.length; i++) {
    const char = key[i];
    if (char === '.') {
      segments.push(segment + key.slice(from, i));
      if (segments.length >= maxSegments) return undefined;
      segment = '';
      from = i + 1;
    } else if (char === '\\') {
      const escaped = key[i + 1];
      if (escaped !== '\\' && escaped !== '.') return BAD_ESCAPE;
      segment += key.slice(from, i) + escaped;
      i++;
      from = i + 1;
    }
  }
  segments.push(segment + key.slice(from));
  return segments;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isPair(entry: unknown): boolean {
  return Array.isArray(entry) && entry.length === 2;
}

function isUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function join(where: string, key: string): string {
  return where === '' ? key : `${where}.${key}`;
}

function at(where: string, key = ''): string {
  const path = join(where, key);
  return path === '' ? '(root)' : clip(path);
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function refuse(reason: string): never {
  throw new RpcError('BAD_REQUEST', `bad meta: ${reason}`);
}
