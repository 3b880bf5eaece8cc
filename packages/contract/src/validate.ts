import type { StandardSchemaV1 } from '@standard-schema/spec';
import { RpcError } from './errors.js';

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ReadonlyArray<StandardSchemaV1.Issue> };

function toResult<T>(result: StandardSchemaV1.Result<T>): Validated<T> {
  return result.issues === undefined ? { ok: true, value: result.value } : { ok: false, issues: result.issues };
}

/** Runs a Standard Schema validator; sync validators stay sync (no promise per call). */
export function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): Validated<StandardSchemaV1.InferOutput<S>> | Promise<Validated<StandardSchemaV1.InferOutput<S>>> {
  const result = schema['~standard'].validate(value) as
    | StandardSchemaV1.Result<StandardSchemaV1.InferOutput<S>>
    | Promise<StandardSchemaV1.Result<StandardSchemaV1.InferOutput<S>>>;
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
export async function parseOrThrow<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  what: string,
): Promise<StandardSchemaV1.InferOutput<S>> {
  const result = await validate(schema, value);
  if (!result.ok) throw new RpcError('BAD_REQUEST', `invalid ${what}`, issuesData(result.issues));
  return result.value;
}
