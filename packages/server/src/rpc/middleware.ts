import type { Connection } from './connection.js';

/** Carries, in its type only, the ctx a middleware added: how the handlers after it learn it. */
declare const ADDED: unique symbol;

/** Nothing added to the ctx. */
export type NothingAdded = Record<never, never>;

/**
 * What `next()` resolves to, and what a middleware returns: the rest of the chain's
 * result, opaque. Its type parameter is the ctx the middleware added.
 */
export class MiddlewareResult<Added = NothingAdded> {
  /** @internal Type only: the ctx the middleware added. */
  declare readonly [ADDED]: Added;
  /** @internal What the rest of the chain produced (a call's output, a join's end). */
  readonly value: unknown;

  /** @internal */
  constructor(value: unknown) {
    this.value = value;
  }
}

/**
 * What runs through the middleware: a procedure call (after its input validated, before
 * its idempotency key is claimed and its handler runs), a streaming call starting (the
 * same, once per run: a resume after a reconnect does not pass again, and `next()`
 * returns once the stream has started, not when it ends), a subscription joining (after its
 * params validated, around `authorize`, the snapshot and the join), or a joined
 * subscription's `authorize` asked again after a refresh changed the connection's ctx.
 */
export type MiddlewareKind = 'call' | 'stream' | 'subscribe' | 'reauthorize';

/** What `next()` returns: the result, or a promise of it (`await` it either way). */
export type NextResult<Added> = MiddlewareResult<Added> | Promise<MiddlewareResult<Added>>;

/** What a middleware is called with. */
export interface MiddlewareArgs<Ctx = unknown> {
  /** What runs: a call, a subscription joining, or a re-authorization. */
  kind: MiddlewareKind;
  /** The procedure's or the channel's name. */
  name: string;
  /** The call's input, or the subscription's params: validated. */
  input: unknown;
  /** The ctx so far: the connection's, plus what the middleware before this one added. */
  ctx: Ctx;
  /** The connection (its `ctx` is the connection's own, without what middleware added). */
  connection: Connection;
  /**
   * Runs the rest of the chain, then the handler (or the join); the middleware returns
   * its result. `await` it: it is a promise unless everything after was synchronous, and
   * it throws (or rejects with) what they threw. Fields given are added to the ctx of
   * everything after this middleware (a new plain object, `{ ...ctx, ...added }`: a class
   * instance's methods do not come along). Call it once.
   */
  next(): NextResult<NothingAdded>;
  /** As next(), adding the fields of `added` to the ctx of everything after this middleware. */
  next<Added extends object>(added: Added): NextResult<Added>;
}

/**
 * A function around every procedure call and subscription join, in the router's order.
 * It may refuse (throw an RpcError: the caller gets it), measure, log, and add to the
 * ctx of the handlers after it (`next({ user })`). `Middleware<Ctx>` needs `Ctx`; plain
 * `Middleware` reads nothing of the ctx.
 */
export type Middleware<Ctx = never, Added = NothingAdded> = (args: MiddlewareArgs<Ctx>) => NextResult<Added>;

/**
 * Types a middleware: the ctx it needs comes from its argument's annotation, what it adds
 * from what it passes to `next`.
 * @example
 * const withUser = defineMiddleware(async ({ ctx, next }: MiddlewareArgs<{ token: string }>) =>
 *   next({ user: await users.byToken(ctx.token) }));
 */
export function defineMiddleware<Ctx = unknown, Added extends object = NothingAdded>(
  middleware: Middleware<Ctx, Added>,
): Middleware<Ctx, Added> {
  if (typeof middleware !== 'function') throw new TypeError('a middleware is a function');
  return middleware;
}

/** `A` with `B`'s fields over it (`B` alone over a ctx that is no object, e.g. none). */
type Merge<A, B> = keyof B extends never
  ? A
  : A extends object
    ? { [K in keyof A as K extends keyof B ? never : K]: A[K] } & B
    : B;
type AddedBy<M> = M extends Middleware<never, infer Added> ? Added : NothingAdded;
type Flatten<T> = T extends object ? { [K in keyof T]: T[K] } : T;

/** The ctx the handlers get after the middleware `M` ran on a connection's ctx `Ctx`. */
export type CtxAfter<Ctx, M extends readonly unknown[]> = M extends readonly [infer First, ...infer Rest]
  ? CtxAfter<Flatten<Merge<Ctx, AddedBy<First>>>, Rest>
  : Ctx;

/**
 * `unknown` when each middleware of `M` accepts the ctx it gets (the connection's, plus what
 * those before it added); otherwise a type naming the first that does not. Middleware that
 * need a ctx come as a tuple (an array literal, or `as const`): an array type says nothing
 * of their order.
 */
export type CheckChain<Ctx, M extends readonly unknown[]> = number extends M['length']
  ? false extends NeedsNothing<M[number]>
    ? { middleware: 'give middleware that need a ctx as an array literal (or `as const`): their order types it' }
    : unknown
  : CheckTuple<Ctx, M, []>;

/** Whether a middleware reads nothing of the ctx (its needs are `never` or `unknown`). */
type NeedsNothing<M> =
  M extends Middleware<infer Needs, unknown>
    ? [Needs] extends [never]
      ? true
      : unknown extends Needs
        ? true
        : false
    : true;

type CheckTuple<Ctx, M extends readonly unknown[], At extends unknown[]> = M extends readonly [
  infer First,
  ...infer Rest,
]
  ? First extends Middleware<infer Needs, unknown>
    ? [Needs] extends [never]
      ? CheckTuple<Flatten<Merge<Ctx, AddedBy<First>>>, Rest, [...At, First]>
      : [Ctx] extends [Needs]
        ? CheckTuple<Flatten<Merge<Ctx, AddedBy<First>>>, Rest, [...At, First]>
        : {
            middleware: `middleware #${At['length']} needs a ctx that context and the middleware before it do not give`;
          }
    : unknown
  : unknown;

/** The work a chain wraps, given the ctx the middleware made. */
type ChainEnd = (ctx: unknown) => unknown;

/** What every middleware of one chain is told besides its ctx. */
type ChainArgs = Pick<MiddlewareArgs, 'kind' | 'name' | 'input' | 'connection'>;

/** One middleware's arguments: a class, so that `next` is the only closure made per step. */
class StepArgs implements MiddlewareArgs {
  readonly kind: MiddlewareKind;
  readonly name: string;
  readonly input: unknown;
  readonly connection: Connection;
  readonly ctx: unknown;
  readonly next: MiddlewareArgs['next'];

  constructor(args: ChainArgs, ctx: unknown, next: MiddlewareArgs['next']) {
    this.kind = args.kind;
    this.name = args.name;
    this.input = args.input;
    this.connection = args.connection;
    this.ctx = ctx;
    this.next = next;
  }
}

type Step = MiddlewareResult | Promise<MiddlewareResult>;

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | null)?.then === 'function';

/**
 * Runs `middleware` in order around `end`, and returns what `end` produced: synchronously
 * while every step is synchronous (a guard that throws or calls `next()` costs no promise),
 * else a promise. A middleware that does not return next()'s result, or calls it twice, is
 * a server bug (a TypeError: INTERNAL for the caller, reported).
 */
export function runChain(middleware: readonly Middleware[], args: ChainArgs, ctx: unknown, end: ChainEnd): unknown {
  const step = (index: number, current: unknown): Step => {
    if (index === middleware.length) {
      const value = end(current);
      return isPromiseLike(value)
        ? Promise.resolve(value).then((v) => new MiddlewareResult(v))
        : new MiddlewareResult(value);
    }
    let rest: Step | undefined;
    const next = (added?: object): Step => {
      if (rest !== undefined) throw new TypeError(`middleware #${index} called next() twice`);
      rest = step(index + 1, added === undefined ? current : { ...(current as object), ...added });
      // A middleware that lets it go (throws first, say) leaves no unhandled rejection.
      if (rest instanceof Promise) rest.catch(() => {});
      return rest;
    };
    // Each middleware's ctx needs were checked against the chain when the router was typed.
    const run = middleware[index] as Middleware<unknown>;
    let result: unknown;
    try {
      result = run(new StepArgs(args, current, next as MiddlewareArgs['next']));
    } catch (error) {
      return afterRest(rest, () => {
        throw error;
      });
    }
    if (!isPromiseLike(result)) return afterRest(rest, () => checked(index, result));
    return Promise.resolve(result).then(
      (settled) => afterRest(rest, () => checked(index, settled)),
      (error: unknown) =>
        afterRest(rest, () => {
          throw error;
        }),
    );
  };
  const result = step(0, ctx);
  return result instanceof Promise ? result.then((settled) => settled.value) : result.value;
}

/**
 * `then()` once the rest of the chain that a middleware started has ended: nothing of a
 * call runs on after its reply (its deadline, its charge in flight), whatever the
 * middleware did with next()'s result.
 */
function afterRest(rest: Step | undefined, then: () => MiddlewareResult): Step {
  if (!(rest instanceof Promise)) return then();
  return rest.then(then, then);
}

function checked(index: number, result: unknown): MiddlewareResult {
  if (result instanceof MiddlewareResult) return result;
  throw new TypeError(`middleware #${index} did not return the result of next()`);
}
