import type { StandardJSONSchemaV1 } from '@standard-schema/spec';
import type { SchemaLike } from './contract.js';

// A schema as canonical text, the same in every process that built the same schema: what
// contractFingerprint hashes. Two ways, tried in order:
//
//   schema ─▶ ~standard.jsonSchema[side]? ─ ok ──▶ 'json-schema:' + its JSON, keys sorted
//                     │ absent, or it throws (a Date, z.instanceof, a transform's output)
//                     └──▶ 'definition:' + the schema's own data, walked (below)
//
// The walk reads a schema's own enumerable properties (a zod 4 schema or check: its
// `_zod.def`), keys sorted, skipping `~`-prefixed ones (`~standard`, valibot's `~run`).
// Functions count as functions and nothing more (their names and source differ between a
// minified bundle and Node): two custom validators that differ only in code look alike.

/** Which side of a schema: what it accepts (`input`) or what it gives (`output`). */
export type SchemaSide = 'input' | 'output';

/** Nodes the walk visits in one schema at most; past them it writes `$truncated`. */
const MAX_WALK_NODES = 100_000;

/** `schema` as canonical text: its JSON Schema for `side` when it has one, else its definition walked. */
export function describeSchema(schema: SchemaLike, side: SchemaSide): string {
  const converter = (schema['~standard'] as Partial<StandardJSONSchemaV1.Props> | undefined)?.jsonSchema;
  if (typeof converter?.[side] === 'function') {
    try {
      return `json-schema:${JSON.stringify(converter[side]({ target: 'draft-2020-12' }), sortedKeys)}`;
    } catch {
      // Not expressible in JSON Schema: described by its definition instead.
    }
  }
  return `definition:${JSON.stringify(new DefinitionWalk().node(schema))}`;
}

/** JSON.stringify replacer: object keys in order; `required` (a set in JSON Schema) sorted too. */
function sortedKeys(key: string, value: unknown): unknown {
  if (Array.isArray(value)) {
    return key === 'required' && value.every((item) => typeof item === 'string') ? [...value].sort() : value;
  }
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const name of Object.keys(value).sort()) sorted[name] = (value as Record<string, unknown>)[name];
  return sorted;
}

/** A schema's data as plain JSON: cycles, non-JSON values and functions written as `$` markers. */
class DefinitionWalk {
  /** The objects from the root to here: one met again is a cycle (a recursive schema). */
  readonly #path: object[] = [];
  #nodes = 0;

  node(value: unknown): unknown {
    if (++this.#nodes > MAX_WALK_NODES) return '$truncated';
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        return Number.isFinite(value) ? value : { $number: String(value) };
      case 'bigint':
        return { $bigint: String(value) };
      case 'undefined':
        return { $undefined: true };
      case 'symbol':
        return { $symbol: value.description ?? '' };
      case 'function':
        return { $function: this.#object(value) };
      default:
        return value === null ? null : this.#object(value as object);
    }
  }

  #object(value: object): unknown {
    const at = this.#path.indexOf(value);
    if (at >= 0) return { $cycle: this.#path.length - at };
    this.#path.push(value);
    try {
      if (Array.isArray(value)) return value.map((item) => this.node(item));
      if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString() };
      if (value instanceof RegExp) return { $regexp: String(value) };
      if (value instanceof Map) return { $map: this.node([...value]) };
      if (value instanceof Set) return { $set: this.node([...value]) };
      const zodDefinition = (value as { _zod?: { def?: unknown } })._zod?.def;
      const source = typeof zodDefinition === 'object' && zodDefinition !== null ? zodDefinition : value;
      const described: Record<string, unknown> = {};
      for (const key of Object.keys(source).sort()) {
        if (key.startsWith('~')) continue;
        described[key] = this.#property(source, key);
      }
      return described;
    } finally {
      this.#path.pop();
    }
  }

  /** One property, through its getter if it has one (zod's recursive shapes); a getter that throws is written as such. */
  #property(source: object, key: string): unknown {
    let value: unknown;
    try {
      value = (source as Record<string, unknown>)[key];
    } catch {
      return '$throws';
    }
    return this.node(value);
  }
}
