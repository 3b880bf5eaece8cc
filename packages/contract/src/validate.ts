import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { SchemaLike } from './contract.js';
import { RpcError } from './errors.js';

/** The outcome of a Standard Schema check: the parsed value, or the issues found. */
export type Validated<T> =
  | {
      /** The value passed. */
      ok: true;
      /** The value as the schema output it (with its transforms and defaults). */
      value: T;
    }
  | {
      /** The value failed. */
      ok: false;
      /** What is wrong, and where. */
      issues: ReadonlyArray<StandardSchemaV1.Issue>;
    };

function toResult<T>(result: StandardSchemaV1.Result<T>): Validated<T> {
  return result.issues === undefined ? { ok: true, value: result.value } : { ok: false, issues: result.issues };
}

/**
 * Runs a Standard Schema validator (procedure() and channel() checked that it is one);
 * sync validators stay sync (no promise per call).
 */
export function validate(schema: SchemaLike, value: unknown): Validated<unknown> | Promise<Validated<unknown>> {
  const result = (schema as StandardSchemaV1)['~standard'].validate(value);
  return result instanceof Promise ? result.then(toResult) : toResult(result);
}

/** Issues in a plain, serialisable shape for `RpcError.data`. */
export function issuesData(issues: ReadonlyArray<StandardSchemaV1.Issue>): {
  issues: Array<{ message: string; path: Array<string | number> }>;
} {
  return {
    issues: issues.map((issue) => ({
      message: issue.message,
      path: (issue.path ?? []).map((segment) => {
        const key = typeof segment === 'object' ? segment.key : segment;
        return typeof key === 'number' ? key : String(key);
      }),
    })),
  };
}

/** Validates or throws BAD_REQUEST carrying the issues. */
export async function parseOrThrow(schema: SchemaLike, value: unknown, what: string): Promise<unknown> {
  const result = await validate(schema, value);
  if (!result.ok) throw new RpcError('BAD_REQUEST', `invalid ${what}`, issuesData(result.issues));
  return result.value;
}
