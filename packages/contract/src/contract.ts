import type { StandardSchemaV1 } from '@standard-schema/spec';

/** Any Standard Schema validator: zod 4, valibot, arktype… */
export type Schema = StandardSchemaV1;

/**
 * What a contract's schemas are held to in the types: a `~standard` property, whatever its
 * type. Checking its type, even against `object`, makes TypeScript work out zod's
 * Standard Schema props for every schema (a third of defining a 600-schema contract); the
 * run-time check in procedure() and channel() is the full one.
 */
export type SchemaLike = {
  /** The Standard Schema interface (`StandardSchemaV1['~standard']`). */
  readonly '~standard': unknown;
};

/**
 * A streaming procedure's output, made by stream(): typed chunks, then (when `result` is
 * declared) one final value. See docs/streams.md.
 */
export interface StreamOutput<
  Chunk extends SchemaLike = SchemaLike,
  Result extends SchemaLike | undefined = undefined,
> {
  /** Tells a stream from a schema. */
  readonly kind: 'stream';
  /** The schema of each chunk the handler yields. */
  readonly chunk: Chunk;
  /** The schema of the value the handler returns at the end; undefined: none. */
  readonly result: Result;
}

/** Any stream output: the bound of every stream type parameter. */
export type AnyStreamOutput = StreamOutput<SchemaLike, SchemaLike | undefined>;

/** A request/response procedure; with a stream() output, a streaming procedure. */
export interface Procedure<
  I extends SchemaLike = SchemaLike,
  O extends SchemaLike | AnyStreamOutput = SchemaLike | AnyStreamOutput,
> {
  /** Tells a procedure from a channel. */
  readonly kind: 'procedure';
  /** The schema of the input a caller sends. */
  readonly input: I;
  /** The schema of the output a handler returns, or stream() for a stream of chunks. */
  readonly output: O;
}

/**
 * A pub/sub channel: subscribers pick a stream with `params` and receive `message`s; with
 * `snapshot`, they first receive the stream's current state (docs/dashboards.md).
 */
export interface Channel<
  P extends SchemaLike = SchemaLike,
  M extends SchemaLike = SchemaLike,
  S extends SchemaLike | undefined = SchemaLike | undefined,
> {
  /** Tells a channel from a procedure. */
  readonly kind: 'channel';
  /** The schema of the params that pick a stream. */
  readonly params: P;
  /** The schema of each published message. */
  readonly message: M;
  /** The schema of the stream's current state, sent first to each subscriber; undefined: none. */
  readonly snapshot: S;
}

/** A contract's procedures, by name. */
export type Procedures = Record<string, Procedure>;
/** A contract's channels, by name. */
export type Channels = Record<string, Channel>;

/** A contract: what a server implements and a client calls. */
export interface Contract<P extends Procedures = Procedures, C extends Channels = Channels> {
  /** Procedures by name. */
  readonly procedures: P;
  /** Channels by name (a channel may share a procedure's name). */
  readonly channels: C;
}

/** Any contract: the bound of every contract type parameter. */
export type AnyContract = Contract<Procedures, Channels>;

/** Procedure and channel names: letters, digits, `_` and `-`, in dot-separated parts. */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
export const MAX_NAME_LENGTH = 128;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && '~standard' in value;
}

/** Whether a procedure's output is a stream() rather than a schema. */
export function isStreamOutput(value: unknown): value is AnyStreamOutput {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'stream';
}

/**
 * A procedure taking `input` and returning `output`, each a Standard Schema; with
 * `output: stream(chunk)`, a streaming procedure whose handler yields chunks.
 */
export function procedure<I extends SchemaLike, O extends SchemaLike | AnyStreamOutput>(definition: {
  input: I;
  output: O;
}): Procedure<I, O> {
  const { input, output } = definition;
  if (!isSchema(input) || !(isSchema(output) || isStreamOutput(output))) {
    throw new TypeError('procedure() needs Standard Schema validators for input and output (or stream(schema))');
  }
  return { kind: 'procedure', input, output };
}

/**
 * A streaming procedure's output: each chunk the handler yields is checked against
 * `chunk`; what it returns, against `result` when given.
 * @example
 * 'ai.answer': procedure({ input: z.object({ prompt: z.string() }), output: stream(z.object({ token: z.string() })) })
 */
export function stream<Chunk extends SchemaLike, Result extends SchemaLike | undefined = undefined>(
  chunk: Chunk,
  options: { result?: Result } = {},
): StreamOutput<Chunk, Result> {
  if (!isSchema(chunk)) throw new TypeError('stream() needs a Standard Schema validator for its chunks');
  if (options.result !== undefined && !isSchema(options.result)) {
    throw new TypeError('stream() needs a Standard Schema validator for its result');
  }
  return Object.freeze({ kind: 'stream', chunk, result: options.result as Result });
}

/**
 * A channel whose streams are chosen by `params` and carry `message`s; `snapshot`, when
 * given, is the type of the state a subscriber receives first.
 */
export function channel<
  P extends SchemaLike,
  M extends SchemaLike,
  S extends SchemaLike | undefined = undefined,
>(definition: { params: P; message: M; snapshot?: S }): Channel<P, M, S> {
  if (!isSchema(definition.params) || !isSchema(definition.message)) {
    throw new TypeError('channel() needs Standard Schema validators for params and message');
  }
  if (definition.snapshot !== undefined && !isSchema(definition.snapshot)) {
    throw new TypeError('channel() needs a Standard Schema validator for snapshot');
  }
  return {
    kind: 'channel',
    params: definition.params,
    message: definition.message,
    snapshot: definition.snapshot as S,
  };
}

function checkNames(kind: string, entries: object): void {
  for (const name of Object.keys(entries)) {
    if (name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
      throw new TypeError(
        `${kind} name '${name}' must be dot-separated identifiers, at most ${MAX_NAME_LENGTH} characters`,
      );
    }
  }
}

/**
 * Declares the contract shared by server and client.
 * @example
 * export const contract = defineContract({
 *   procedures: { add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }) },
 *   channels: { metrics: channel({ params: z.object({ host: z.string() }), message: Sample }) },
 * });
 */
export function defineContract<
  const P extends Procedures = Record<never, never>,
  const C extends Channels = Record<never, never>,
>(definition: { procedures?: P; channels?: C }): Contract<P, C> {
  const procedures = (definition.procedures ?? {}) as P;
  const channels = (definition.channels ?? {}) as C;
  checkNames('procedure', procedures);
  checkNames('channel', channels);
  for (const [name, value] of Object.entries(procedures)) {
    if (value?.kind !== 'procedure') throw new TypeError(`procedures.${name} must be made with procedure()`);
  }
  for (const [name, value] of Object.entries(channels)) {
    if (value?.kind !== 'channel') throw new TypeError(`channels.${name} must be made with channel()`);
  }
  return Object.freeze({ procedures: Object.freeze({ ...procedures }), channels: Object.freeze({ ...channels }) });
}

// A schema's input and output types, read the cheapest way TypeScript allows: with hundreds of
// procedures, this lookup (once per schema and direction) is a good part of type-checking.
// - zod 4: `_zod`, which is what `z.input` / `z.output` read and what zod's `~standard.types`
//   is made of; going through `~standard` makes TypeScript build zod's Standard Schema props
//   for every schema.
// - any other Standard Schema: `~standard.types`, by indexed access behind a cheap guard (not
//   by inferring through the schema, and not against the whole StandardSchemaV1 interface).
// - `any`, or not a schema at all: NoTypes, so that InferIn/InferOut are never.
// InferIn/InferOut must stay `infer` conditionals over TypesOf<S>: while K is still generic (a
// client.call argument being checked before K is inferred), TypeScript then takes them to be
// `unknown`, where a distributive form expands every procedure's type into one union and
// matches each call's argument against all of it (a third more checking time at 500 procedures).
type ZodTyped = { readonly _zod: { readonly input: unknown; readonly output: unknown } };
type StandardTyped = { readonly '~standard': { readonly types?: unknown } };
type TypesOf<S> = unknown extends S
  ? NoTypes
  : S extends ZodTyped
    ? S['_zod']
    : S extends StandardTyped
      ? NonNullable<S['~standard']['types']>
      : NoTypes;
/** Not a schema (a channel without a snapshot): InferIn and InferOut are never. */
type NoTypes = { readonly input: never; readonly output: never };
type InferIn<S> = TypesOf<S> extends { readonly input: infer I } ? I : never;
type InferOut<S> = TypesOf<S> extends { readonly output: infer O } ? O : never;

/** The names of a contract's procedures. */
export type ProcedureName<C extends AnyContract> = keyof C['procedures'] & string;
/** The names of a contract's channels. */
export type ChannelName<C extends AnyContract> = keyof C['channels'] & string;

/** What a caller passes to procedure K. */
export type InputOf<C extends AnyContract, K extends ProcedureName<C>> = InferIn<C['procedures'][K]['input']>;
/** What a caller receives from procedure K (never, for a streaming procedure: see ChunkOf). */
export type OutputOf<C extends AnyContract, K extends ProcedureName<C>> = InferOut<C['procedures'][K]['output']>;
/** The names of a contract's streaming procedures (those whose output is stream()). */
export type StreamName<C extends AnyContract> = {
  [K in ProcedureName<C>]: C['procedures'][K]['output'] extends AnyStreamOutput ? K : never;
}[ProcedureName<C>];
type StreamOf<C extends AnyContract, K extends ProcedureName<C>> = Extract<
  C['procedures'][K]['output'],
  AnyStreamOutput
>;
/** Each chunk a caller receives from streaming procedure K. */
export type ChunkOf<C extends AnyContract, K extends ProcedureName<C>> = InferOut<StreamOf<C, K>['chunk']>;
/** The final value a caller receives from streaming procedure K (undefined when it declares none). */
export type StreamResultOf<C extends AnyContract, K extends ProcedureName<C>> = undefined extends StreamOf<
  C,
  K
>['result']
  ? undefined
  : InferOut<StreamOf<C, K>['result']>;
/** Server side: what a streaming handler yields. */
export type HandlerChunkOf<C extends AnyContract, K extends ProcedureName<C>> = InferIn<StreamOf<C, K>['chunk']>;
/** Server side: what a streaming handler returns (undefined when the stream declares no result). */
export type HandlerStreamResultOf<C extends AnyContract, K extends ProcedureName<C>> = undefined extends StreamOf<
  C,
  K
>['result']
  ? undefined
  : InferIn<StreamOf<C, K>['result']>;
/** What a subscriber passes to channel K. */
export type ParamsOf<C extends AnyContract, K extends ChannelName<C>> = InferIn<C['channels'][K]['params']>;
/** What a subscriber of channel K receives. */
export type MessageOf<C extends AnyContract, K extends ChannelName<C>> = InferOut<C['channels'][K]['message']>;

/** The state a subscriber of channel K receives first (never, for a channel without a snapshot). */
export type SnapshotOf<C extends AnyContract, K extends ChannelName<C>> = InferOut<
  NonNullable<C['channels'][K]['snapshot']>
>;

/** Server side: the input a handler receives (after parsing/transforms). */
export type ParsedInputOf<C extends AnyContract, K extends ProcedureName<C>> = InferOut<C['procedures'][K]['input']>;
/** Server side: what a handler returns (before output validation). */
export type HandlerOutputOf<C extends AnyContract, K extends ProcedureName<C>> = InferIn<C['procedures'][K]['output']>;
/** Server side: the params `authorize` receives. */
export type ParsedParamsOf<C extends AnyContract, K extends ChannelName<C>> = InferOut<C['channels'][K]['params']>;
/** Server side: what `publish` accepts. */
export type PublishedMessageOf<C extends AnyContract, K extends ChannelName<C>> = InferIn<C['channels'][K]['message']>;
/** Server side: what a channel's snapshot handler returns. */
export type SnapshotStateOf<C extends AnyContract, K extends ChannelName<C>> = InferIn<
  NonNullable<C['channels'][K]['snapshot']>
>;
