import type { IncomingMessage } from 'node:http';
import type {
  AnyContract,
  AnyStreamOutput,
  ChannelName,
  HandlerChunkOf,
  HandlerOutputOf,
  HandlerStreamResultOf,
  MessageOf,
  ParsedInputOf,
  ParsedParamsOf,
  ProcedureName,
  SnapshotStateOf,
} from '@switchboard/contract';
import type { Connection } from './connection.js';
import type { DeliveryOptions } from './delivery.js';
import type { CheckChain, CtxAfter, Middleware } from './middleware.js';

/**
 * What `context` receives, on a connection's first message and again on each refresh:
 * the HTTP upgrade request (headers, cookies, URL) and the credentials the client sent in
 * an `auth` message (the client's `auth` option), undefined when it sent none.
 */
export interface ContextArgs {
  /** The HTTP upgrade request: headers, cookies, URL. */
  request: IncomingMessage;
  /** The credentials of the client's `auth` message; undefined when it sent none. */
  auth: unknown;
}

/**
 * What a procedure handler receives. `Ctx`: the connection's ctx with what middleware
 * added; `ConnectionCtx`: the connection's own.
 */
export interface HandlerArgs<Input, Ctx, ConnectionCtx = Ctx> {
  /** The call's input, validated by the contract's schema. */
  input: Input;
  /** The connection's ctx when the call arrived (a refresh meanwhile does not change it), with what middleware added. */
  ctx: Ctx;
  /** Aborts when the caller cancels, the call's deadline passes, or the connection drops. */
  signal: AbortSignal;
  /** The connection the call came on. */
  connection: Connection<ConnectionCtx>;
}

/** What a channel's `authorize` and `snapshot` receive. */
export interface ChannelArgs<Params, Ctx, ConnectionCtx = Ctx> {
  /** The subscription's params, validated by the contract's schema. */
  params: Params;
  /** The connection's ctx, with what middleware added. */
  ctx: Ctx;
  /** The connection subscribing. */
  connection: Connection<ConnectionCtx>;
}

/**
 * What a streaming procedure's handler returns: an async generator (or any async
 * iterable) whose every `yield` is one chunk; its `return` value is the stream's result
 * when the contract declares one. The `yield` waits while the client is not reading
 * (backpressure); `signal` aborts on cancel, on the stream's idle deadline and on close.
 */
export type StreamReturn<Chunk, Result> = undefined extends Result
  ? AsyncIterable<Chunk>
  : AsyncIterator<Chunk, Result, undefined>;

/**
 * What procedure K's handler returns: its output (or a promise of it), or a stream's
 * chunks. `Promise<Output>` is covered by `PromiseLike<Output>` but listed too: an async
 * handler's Promise then matches it by reference instead of being compared structurally
 * with PromiseLike (its `then` overloads), once per handler of every router.
 */
type HandlerReturnOf<
  C extends AnyContract,
  K extends ProcedureName<C>,
> = C['procedures'][K]['output'] extends AnyStreamOutput
  ? StreamReturn<HandlerChunkOf<C, K>, HandlerStreamResultOf<C, K>>
  : HandlerOutputOf<C, K> | Promise<HandlerOutputOf<C, K>> | PromiseLike<HandlerOutputOf<C, K>>;

export type ProcedureImplementations<C extends AnyContract, Ctx, ConnectionCtx = Ctx> = {
  // The parameter stays outside the conditional: handlers' arguments are typed from it at once.
  [K in ProcedureName<C>]: (args: HandlerArgs<ParsedInputOf<C, K>, Ctx, ConnectionCtx>) => HandlerReturnOf<C, K>;
};

/** What a router implements for one channel; every member is optional. */
export interface ChannelImplementation<Params, Ctx, Message = unknown, State = never, ConnectionCtx = Ctx> {
  /** Return false (or throw RpcError) to refuse a subscription: the caller gets FORBIDDEN. */
  authorize?: (args: ChannelArgs<Params, Ctx, ConnectionCtx>) => boolean | PromiseLike<boolean>;
  /**
   * The stream's current state, sent to a new subscriber before any message (channels
   * whose contract declares `snapshot`). Exact when it returns synchronously on the
   * in-memory broker: see docs/dashboards.md.
   */
  snapshot?: (args: ChannelArgs<Params, Ctx, ConnectionCtx>) => State | PromiseLike<State>;
  /** What a slow subscriber gets: see DeliveryPolicy. @default { policy: 'queue', maxQueued: 10,000 } */
  delivery?: DeliveryOptions<Message>;
}

export type ChannelImplementations<C extends AnyContract, Ctx, ConnectionCtx = Ctx> = {
  [K in ChannelName<C>]?: ChannelImplementation<
    ParsedParamsOf<C, K>,
    Ctx,
    MessageOf<C, K>,
    SnapshotStateOf<C, K>,
    ConnectionCtx
  >;
};

/** What defineRouter() takes: the implementation of a contract. */
export interface RouterDefinition<C extends AnyContract, Ctx, M extends readonly Middleware[] = []> {
  /**
   * Makes a connection's ctx from its upgrade request and credentials, before any of its
   * calls or subscriptions runs, and again on each refresh. Throw RpcError('UNAUTHORIZED'
   * | 'FORBIDDEN') to refuse: the client gets that error (close 4401 / 4403) and does not
   * retry until the application gives it new credentials.
   */
  context?: (args: ContextArgs) => Ctx | PromiseLike<Ctx>;
  /**
   * Run in this order around every procedure call and subscription join (docs/auth.md,
   * "Middleware"); what each adds to the ctx is typed for the handlers after it.
   * @default none
   */
  middleware?: M;
  /** A handler for every procedure of the contract. */
  procedures: ProcedureImplementations<C, CtxAfter<Ctx, M>, Ctx>;
  /** Authorization, snapshots and delivery per channel. @default none: every subscription is allowed */
  channels?: ChannelImplementations<C, CtxAfter<Ctx, M>, Ctx>;
}

/** A contract together with its implementation. */
export interface Router<C extends AnyContract = AnyContract, Ctx = unknown> {
  /** The contract it implements. */
  readonly contract: C;
  /** RouterDefinition.context, if given. */
  readonly context: ((args: ContextArgs) => Ctx | PromiseLike<Ctx>) | undefined;
  /** The procedure handlers, by name. */
  readonly procedures: ProcedureImplementations<C, Ctx>;
  /** The channel implementations, by name. */
  readonly channels: ChannelImplementations<C, Ctx>;
  /** In order; empty when the router has none. */
  readonly middleware: readonly Middleware[];
}

/**
 * Implements a contract. Every procedure needs a handler (a missing or extra one is a
 * compile error, and a TypeError at run time); channels need nothing unless they authorize.
 * @example
 * const router = defineRouter(contract, {
 *   context: async ({ request }) => ({ user: await auth(request) }),
 *   procedures: { add: ({ input }) => input.a + input.b },
 * });
 */
export function defineRouter<C extends AnyContract, Ctx = undefined, const M extends readonly Middleware[] = []>(
  contract: C,
  // C comes from the contract alone (NoInfer): the handlers are checked against it, so a
  // literal return stays literal. Ctx comes from `context`: write it before `procedures`.
  definition: RouterDefinition<NoInfer<C>, Ctx, M> & CheckChain<Ctx, M>,
): Router<C, Ctx> {
  const procedures = definition.procedures as Record<string, unknown>;
  for (const name of Object.keys(contract.procedures)) {
    if (typeof procedures[name] !== 'function') throw new TypeError(`procedure '${name}' has no handler`);
  }
  for (const name of Object.keys(procedures)) {
    if (!Object.hasOwn(contract.procedures, name)) throw new TypeError(`'${name}' is not a procedure of the contract`);
  }
  const channels = (definition.channels ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(channels)) {
    if (!Object.hasOwn(contract.channels, name)) throw new TypeError(`'${name}' is not a channel of the contract`);
  }
  const middleware = definition.middleware ?? [];
  if (!Array.isArray(middleware) || middleware.some((m) => typeof m !== 'function')) {
    throw new TypeError('middleware is an array of functions');
  }
  return Object.freeze({
    contract,
    context: definition.context,
    // Handlers typed for the ctx after middleware: the router runs the middleware first.
    procedures: definition.procedures as unknown as ProcedureImplementations<C, Ctx>,
    channels: (definition.channels ?? {}) as unknown as ChannelImplementations<C, Ctx>,
    middleware: Object.freeze([...middleware]),
  });
}
