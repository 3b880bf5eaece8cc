import { randomBytes } from 'node:crypto';
import {
  type AnyContract,
  type CallEnvelope,
  decodeValue,
  encodeValue,
  isEnvelopeProblem,
  issuesData,
  parseJson,
  parseOrThrow,
  type RequestId,
  RpcError,
  readClientEnvelope,
  type SchemaLike,
  type ServerEnvelope,
  type SubscribeEnvelope,
  toRpcError,
  type Validated,
  validate,
} from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import { CallSignal } from './call-signal.js';
import { Outbox } from './delivery.js';
import type { JoinRequest } from './fanout.js';
import { callHash } from './fingerprint.js';
import { type Holder, type IdempotencyWindow, NOT_KEPT, type SessionHint } from './idempotency.js';
import type { Metrics } from './metrics.js';
import type { ResolvedServerOptions } from './options.js';
import { errorOutcome, type Outcome, outcomeText, resultOutcome } from './outcome.js';
import type { Router } from './router.js';
import { type SharedIdempotency, scopeTag } from './shared-idempotency.js';
import { paramsKey, topicOf } from './topic-key.js';

/** What a connection needs from its server. */
export interface PeerHost {
  readonly router: Router<AnyContract, unknown>;
  readonly options: ResolvedServerOptions;
  readonly draining: boolean;
  subscribe(request: JoinRequest): Promise<void>;
  unsubscribe(peer: Peer, topic: string): void;
  /** A call finished (for graceful shutdown). */
  callSettled(): void;
  /** Counters behind server.metrics(). */
  readonly counters: Metrics;
  /** Recent idempotency keys of all connections (a re-sent call may arrive on another). */
  readonly idempotency: IdempotencyWindow;
  /** The window shared with other server processes, when there is one. */
  readonly sharedIdempotency: SharedIdempotency | undefined;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Validates what our own code produced (a handler's result, a channel's snapshot): a
 * mismatch breaks the contract, a server bug reported as INTERNAL.
 */
function checkProduced(schema: SchemaLike, value: unknown, what: string): unknown {
  const fail = (issues: unknown) => new Error(`${what} fails its schema`, { cause: issues });
  const checked = validate(schema, value);
  if (checked instanceof Promise) {
    return checked.then((result) => {
      if (!result.ok) throw fail(result.issues);
      return result.value;
    });
  }
  if (!checked.ok) throw fail(checked.issues);
  return checked.value;
}

/** An outcome found in a window (a repeat of a call that ran already): sent as it is. */
class Answered {
  readonly outcome: Outcome;
  constructor(outcome: Outcome) {
    this.outcome = outcome;
  }
}

/** What a call that only waited gets when it is aborted: nothing is sent for it. */
const GAVE_UP = new Answered(NOT_KEPT);

/**
 * The bytes of one client message, held while a call or subscribe from it still runs:
 * what it left in memory (its input, decoded and validated) counts toward maxInFlightBytes.
 */
class MessageCharge {
  readonly bytes: number;
  holds = 0;
  constructor(bytes: number) {
    this.bytes = bytes;
  }
}

/** Ids of this process's connections (the namespace of an unscoped connection's plain keys). */
let nextConnectionId = 1;

/**
 * A connection as the idempotency window sees it. Sessions outlive their connection (for
 * the client's next one) and point at this small object, never at the connection: once it
 * closes, nothing here holds the Peer, its socket or what they buffer.
 */
class ConnectionHolder implements Holder {
  readonly id = nextConnectionId++;
  readonly scope: string | undefined;
  sessions = 0;
  #probe: (() => Promise<boolean>) | undefined;

  constructor(scope: string | undefined, probe: () => Promise<boolean>) {
    this.scope = scope;
    this.#probe = probe;
  }

  get open(): boolean {
    return this.#probe !== undefined;
  }

  probe(): Promise<boolean> {
    return this.#probe?.() ?? Promise.resolve(false);
  }

  close(): void {
    this.#probe = undefined;
  }
}

type Handler = (args: { input: unknown; ctx: unknown; signal: AbortSignal }) => unknown;

interface ChannelHandlers {
  authorize?: (args: { params: unknown; ctx: unknown }) => unknown;
  snapshot?: (args: { params: unknown; ctx: unknown }) => unknown;
}

/** A subscription whose params are still being validated and authorized. */
interface PendingJoin {
  /** Unsubscribed while pending: it still counts toward maxSubscriptions until its join ends. */
  abandoned: boolean;
}

/**
 * One client connection: calls by id, subscriptions by id, and the envelopes between.
 * Nothing a client sends can throw out of here; every problem becomes an error reply.
 */
export class Peer {
  readonly socket: ServerWebSocket;
  /** Channel messages, held per the channel's delivery policy while the connection is slow. */
  readonly outbox: Outbox;
  /** This connection in the idempotency window: made with its first keyed call. */
  #holder: ConnectionHolder | undefined;
  readonly #scope: string | undefined;
  readonly #ctx: unknown;
  readonly #host: PeerHost;
  readonly #calls = new Map<RequestId, CallSignal>();
  /** The client session of this connection's calls, kept to find it without a lookup. */
  readonly #session: SessionHint = { session: undefined };
  /** This connection's keys in the shared window: its scope's prefix. */
  readonly #sharedPrefix: string;
  /** Subscription id → its broker topic, or its join while pending. */
  readonly #subscriptions = new Map<RequestId, string | PendingJoin>();
  /** Subscriptions unsubscribed while pending whose join has not ended yet. */
  #abandonedJoins = 0;
  /** Bytes of messages whose calls or subscribes still run. */
  #inFlightBytes = 0;
  /** The message being dispatched. */
  #charge: MessageCharge | undefined;
  #probing: Promise<boolean> | undefined;

  constructor(socket: ServerWebSocket, ctx: unknown, host: PeerHost) {
    this.socket = socket;
    this.outbox = new Outbox(socket, host.options);
    this.#ctx = ctx;
    this.#host = host;
    const scope = scopeOf(host, ctx);
    this.#scope = scope;
    this.#sharedPrefix = scope === undefined || host.sharedIdempotency === undefined ? '' : scopeTag(scope);
    socket.on('message', (data, isBinary) => {
      try {
        this.#onMessage(data, isBinary);
      } catch (error) {
        // Nothing a client sends may throw out of the socket path; this is our bug.
        this.#report(error, {});
      }
    });
    socket.on('close', () => this.#onClose());
  }

  /** Calls still running (and re-sent calls waiting for a run's outcome). */
  get inFlightCalls(): number {
    return this.#calls.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  #holderOf(): ConnectionHolder {
    if (this.#holder === undefined) {
      this.#holder = new ConnectionHolder(this.#scope, () => this.#probe());
      // Made after the connection closed (a call that was still starting): gone from birth.
      if (this.socket.state === 'closed') this.#holder.close();
    }
    return this.#holder;
  }

  /**
   * Whether this connection is still there: a ping answered within the heartbeat's
   * timeout. One that does not answer is terminated, as the heartbeat would do.
   */
  #probe(): Promise<boolean> {
    if (this.socket.state !== 'open') return Promise.resolve(false);
    this.#probing ??= new Promise<boolean>((resolve) => {
      const { socket } = this;
      const payload = randomBytes(8);
      let settled = false;
      const done = (alive: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('pong', onPong);
        socket.off('close', onClose);
        this.#probing = undefined;
        resolve(alive);
      };
      const onPong = (data: Buffer) => {
        if (data.equals(payload)) done(true);
      };
      const onClose = () => done(false);
      const timer = setTimeout(() => {
        done(false);
        socket.terminate();
      }, this.#host.options.heartbeatTimeoutMs);
      socket.on('pong', onPong);
      socket.on('close', onClose);
      socket.ping(payload);
    });
    return this.#probing;
  }

  #send(envelope: ServerEnvelope): void {
    this.socket.send(JSON.stringify(envelope));
  }

  #sendError(id: RequestId | null, error: RpcError): void {
    this.#send({ type: 'error', id, error: error.toWire() });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#sendError(null, new RpcError('BAD_REQUEST', 'binary messages are not part of the protocol'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJson(data.toString('utf8'));
    } catch {
      this.#sendError(null, new RpcError('BAD_REQUEST', 'malformed JSON'));
      return;
    }
    this.#charge = new MessageCharge(data.length);
    try {
      if (!Array.isArray(parsed)) {
        this.#dispatch(parsed);
        return;
      }
      // A batch: each envelope as if it had come alone, in order. Its cost is bounded by
      // maxPayloadBytes like any message's; async calls still count against maxInFlightCalls.
      if (parsed.length === 0) {
        this.#sendError(null, new RpcError('BAD_REQUEST', 'an empty batch'));
        return;
      }
      for (const item of parsed) {
        try {
          this.#dispatch(item);
        } catch (error) {
          this.#report(error, {}); // our bug: the rest of the batch still runs
        }
      }
    } finally {
      this.#charge = undefined;
    }
  }

  #dispatch(parsed: unknown): void {
    const envelope = readClientEnvelope(parsed);
    if (isEnvelopeProblem(envelope)) {
      this.#sendError(envelope.id, envelope.error);
      return;
    }
    switch (envelope.type) {
      case 'call':
        this.#call(envelope);
        return;
      case 'cancel':
        this.#calls.get(envelope.id)?.abort(new RpcError('CANCELLED', 'cancelled by the caller'));
        return;
      case 'subscribe':
        this.#subscribe(envelope);
        return;
      case 'unsubscribe':
        this.#unsubscribe(envelope.id);
        return;
      case 'ping':
        this.#send({ type: 'pong' });
        return;
    }
  }

  /** Holds the current message's bytes while something from it runs; undefined when they do not fit. */
  #hold(): MessageCharge | undefined {
    const charge = this.#charge as MessageCharge;
    if (charge.holds === 0) {
      if (this.#inFlightBytes + charge.bytes > this.#host.options.maxInFlightBytes) return undefined;
      this.#inFlightBytes += charge.bytes;
    }
    charge.holds++;
    return charge;
  }

  #unhold(charge: MessageCharge): void {
    if (--charge.holds === 0) this.#inFlightBytes -= charge.bytes;
  }

  #tooMuchInFlight(): RpcError {
    const { maxInFlightBytes } = this.#host.options;
    return new RpcError('TOO_MANY_REQUESTS', `over ${maxInFlightBytes} bytes of calls and subscribes in flight`);
  }

  #call(envelope: CallEnvelope): void {
    const refusal = this.#refuseCall(envelope);
    if (refusal !== undefined) {
      this.#sendError(envelope.id, refusal);
      return;
    }
    const { id, name, key, ack } = envelope;
    // The client's ack holds whatever becomes of this call: it is sent once, when it moves.
    if (key !== undefined && ack !== undefined) this.#acknowledge(key, ack);
    // Charged before anything runs: a call over the budget must not have run at all.
    const charge = this.#hold();
    if (charge === undefined) {
      this.#sendError(id, this.#tooMuchInFlight());
      return;
    }
    const call = new CallSignal();
    const { options } = this.#host;
    const durationMs = Math.min(envelope.timeoutMs ?? options.maxCallDurationMs, options.maxCallDurationMs);
    let result: unknown;
    try {
      result = this.#run(envelope, call, durationMs);
    } catch (error) {
      this.#unhold(charge);
      this.#fail(id, name, call, error);
      return;
    }
    if (!(result instanceof Promise)) {
      // Settled in this tick: no deadline timer, no promise.
      this.#unhold(charge);
      if (result instanceof Answered) this.#settle(id, name, call, result.outcome);
      else this.#succeed(id, name, call, result);
      return;
    }
    this.#calls.set(id, call);
    // The deadline answers at once; a handler that ignores its signal is waited for
    // (it still counts against maxInFlightCalls) but its result is dropped.
    const timer = setTimeout(() => {
      const timeout = new RpcError('TIMEOUT', `no result within ${durationMs} ms`);
      call.abort(timeout);
      this.#sendError(id, timeout);
    }, durationMs);
    result
      .then(
        (output) =>
          output instanceof Answered
            ? this.#settle(id, name, call, output.outcome)
            : this.#succeed(id, name, call, output),
        (error: unknown) => this.#fail(id, name, call, error),
      )
      .finally(() => {
        clearTimeout(timer);
        this.#calls.delete(id);
        this.#unhold(charge);
        this.#host.callSettled();
      });
  }

  /** The client has every outcome of its session up to call `through`; ignored unless the session is this caller's. */
  #acknowledge(key: string, through: number): void {
    const mine = this.#host.idempotency.release(key, through, this.#holderOf(), Date.now(), this.#session);
    // Passed on only for a session this connection uses here: no made-up name reaches the store.
    if (mine && this.#sharedPrefix !== '') this.#host.sharedIdempotency?.acknowledge(this.#sharedPrefix + key, through);
  }

  /**
   * Input schema → [key claimed] → handler → output schema. Stays synchronous while every
   * step is (zod validators and plain handlers are), so a simple call costs no promise.
   */
  #run(envelope: CallEnvelope, call: CallSignal, durationMs: number): unknown {
    const { router } = this.#host;
    const { name, key } = envelope;
    const procedure = router.contract.procedures[name] as AnyContract['procedures'][string];
    const parsed = validate(procedure.input, decodeValue(envelope.input, envelope.meta));
    // Claimed only once valid: an invalid call keeps nothing, and only a hash of the input is kept.
    const hash = key === undefined ? 0 : callHash(name, envelope.input, envelope.meta);
    const start = (input: Validated<unknown>): unknown => {
      // Aborted while its input validated (its connection closed, say): it never starts.
      if (call.reason !== undefined) return GAVE_UP;
      if (!input.ok) throw new RpcError('BAD_REQUEST', 'invalid input', issuesData(input.issues));
      if (key === undefined) return this.#invoke(name, procedure, input.value, call);
      return this.#runKeyed(name, procedure, input.value, key, hash, call, durationMs);
    };
    return parsed instanceof Promise ? parsed.then(start) : start(parsed);
  }

  #invoke(name: string, procedure: AnyContract['procedures'][string], input: unknown, call: CallSignal): unknown {
    const handler = (this.#host.router.procedures as Record<string, Handler>)[name] as Handler;
    const output = handler({
      input,
      ctx: this.#ctx,
      get signal() {
        return call.signal;
      },
    });
    const what = `the result of procedure '${name}'`;
    return isPromiseLike(output)
      ? Promise.resolve(output).then((value) => checkProduced(procedure.output, value, what))
      : checkProduced(procedure.output, output, what);
  }

  /**
   * A call with an idempotency key runs only if the key is new for this caller. A repeat
   * is answered from the window: the stored outcome, or that of the run still going.
   */
  #runKeyed(
    name: string,
    procedure: AnyContract['procedures'][string],
    input: unknown,
    key: string,
    hash: number,
    call: CallSignal,
    durationMs: number,
  ): unknown {
    const window = this.#host.idempotency;
    const claim = window.claim(key, hash, this.#holderOf(), Date.now(), this.#session);
    switch (claim.state) {
      case 'new': {
        call.keyEntry = claim.entry;
        const shared = this.#host.sharedIdempotency;
        if (shared === undefined || this.#sharedPrefix === '') return this.#invoke(name, procedure, input, call);
        return this.#runShared(shared, name, procedure, input, key, hash, call, durationMs);
      }
      case 'repeat': {
        const { entry } = claim;
        if (entry.outcome !== undefined) return new Answered(entry.outcome);
        return new Promise<Answered>((resolve) => {
          const waiter = (outcome: Outcome) => resolve(new Answered(outcome));
          window.wait(entry, waiter);
          call.onAbort(() => {
            window.unwait(entry, waiter);
            resolve(GAVE_UP);
          });
        });
      }
      case 'conflict':
        throw new RpcError('CONFLICT', 'this idempotency key was used with another call');
      case 'acknowledged':
        throw new RpcError('CONFLICT', 'the client already acknowledged this call');
      case 'refused':
        throw claim.error;
      case 'held':
        // The session is another live connection's: it goes to this one only if that one
        // is gone; if it answers, this call runs as a new one, recorded nowhere.
        return claim.holder.probe().then((alive) => {
          if (call.reason !== undefined) return GAVE_UP;
          return alive
            ? this.#invoke(name, procedure, input, call)
            : this.#runKeyed(name, procedure, input, key, hash, call, durationMs);
        });
    }
  }

  /** Claims the call in the shared window too: it runs here only if no process ran it. */
  async #runShared(
    shared: SharedIdempotency,
    name: string,
    procedure: AnyContract['procedures'][string],
    input: unknown,
    key: string,
    hash: number,
    call: CallSignal,
    timeoutMs: number,
  ): Promise<unknown> {
    const sharedKey = this.#sharedPrefix + key;
    const begun = await shared.begin(sharedKey, String(hash), timeoutMs, call.signal);
    if (!begun.run) return new Answered(begun.outcome);
    call.sharedKey = sharedKey;
    return this.#invoke(name, procedure, input, call);
  }

  #succeed(id: RequestId, name: string, call: CallSignal, output: unknown): void {
    let outcome: Outcome;
    try {
      // Encoded now, so that an unserialisable value fails here, as the handler's bug.
      const { json, meta } = encodeValue(output);
      outcome = resultOutcome(json, meta);
    } catch (error) {
      this.#fail(id, name, call, error);
      return;
    }
    this.#settle(id, name, call, outcome);
  }

  #fail(id: RequestId, name: string, call: CallSignal, error: unknown): void {
    const rpcError = toRpcError(error);
    this.#settle(id, name, call, errorOutcome(rpcError.toWire()));
    if (rpcError !== error) this.#report(error, { procedure: name });
  }

  /** Tells the application's onError; what it throws stays there. */
  #report(error: unknown, where: { procedure?: string; channel?: string }): void {
    try {
      this.#host.options.onError(error, where);
    } catch {
      // onError itself failed: nothing more to tell.
    }
  }

  #settle(id: RequestId, procedure: string, call: CallSignal, outcome: Outcome): void {
    this.#host.counters.recordCall(procedure, (performance.now() - call.startedAt) * 1000, outcome.ok);
    // Kept even for an aborted call: a re-sent call with the key gets the real outcome.
    const window = this.#host.idempotency;
    if (call.keyEntry !== undefined) window.finish(call.keyEntry, outcome, Date.now());
    // The shared window keeps what this one would: an outcome too large goes as NOT_KEPT.
    if (call.sharedKey !== undefined) {
      this.#host.sharedIdempotency?.finish(call.sharedKey, window.keeps(outcome) ? outcome : NOT_KEPT);
    }
    // Aborted: TIMEOUT was answered already, a CANCELLED caller moved on, a closed socket is gone.
    if (call.reason !== undefined) return;
    this.socket.send(outcomeText(id, outcome));
  }

  #refuseCall({ id, name }: CallEnvelope): RpcError | undefined {
    const { router, options } = this.#host;
    if (this.#calls.has(id)) return new RpcError('BAD_REQUEST', `id ${id} is already in flight`);
    if (this.#host.draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    if (this.#calls.size >= options.maxInFlightCalls) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxInFlightCalls} calls in flight`);
    }
    if (!Object.hasOwn(router.contract.procedures, name)) return new RpcError('NOT_FOUND', `no procedure '${name}'`);
    return undefined;
  }

  #refuseSubscription({ id, name }: SubscribeEnvelope): RpcError | undefined {
    const { router, options } = this.#host;
    if (this.#subscriptions.has(id)) return new RpcError('BAD_REQUEST', `subscription id ${id} is already in use`);
    if (this.#host.draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    // A pending subscription unsubscribed still runs its authorize: it counts until it ends.
    if (this.#subscriptions.size + this.#abandonedJoins >= options.maxSubscriptions) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxSubscriptions} subscriptions`);
    }
    if (!Object.hasOwn(router.contract.channels, name)) return new RpcError('NOT_FOUND', `no channel '${name}'`);
    return undefined;
  }

  #subscribe(envelope: SubscribeEnvelope): void {
    const { id, name, from } = envelope;
    const refusal = this.#refuseSubscription(envelope);
    if (refusal !== undefined) {
      this.#sendError(id, refusal);
      return;
    }
    const charge = this.#hold();
    if (charge === undefined) {
      this.#sendError(id, this.#tooMuchInFlight());
      return;
    }
    const pending: PendingJoin = { abandoned: false };
    this.#subscriptions.set(id, pending);
    let params: unknown;
    try {
      params = decodeValue(envelope.params, envelope.meta);
    } catch (error) {
      params = Promise.reject(error);
    }
    // Only the decoded params go on: the envelope (and its raw params) is not kept while authorize runs.
    this.#join(id, name, from, params, pending).finally(() => {
      this.#unhold(charge);
      if (pending.abandoned) this.#abandonedJoins--;
    });
  }

  async #join(
    id: RequestId,
    name: string,
    from: string | undefined,
    decoded: unknown,
    pending: PendingJoin,
  ): Promise<void> {
    const { router } = this.#host;
    const current = () => this.#subscriptions.get(id) === pending;
    let joined = false;
    try {
      const channel = router.contract.channels[name] as AnyContract['channels'][string];
      const params = await parseOrThrow(channel.params, await decoded, 'params');
      // Before authorize: params too large for a stream key are refused without waiting.
      const key = paramsKey(params, this.#host.options.maxStreamKeyChars);
      const topic = topicOf(name, key);
      const implementation = (router.channels as Record<string, ChannelHandlers | undefined>)[name];
      const ctx = this.#ctx;
      if (implementation?.authorize !== undefined && (await implementation.authorize({ params, ctx })) !== true) {
        throw new RpcError('FORBIDDEN', `not allowed to subscribe to '${name}'`);
      }
      if (!current()) return; // unsubscribed or disconnected meanwhile
      const takeSnapshot = implementation?.snapshot;
      await this.#host.subscribe({
        peer: this,
        id,
        topic,
        from,
        snapshot:
          takeSnapshot === undefined || channel.snapshot === undefined
            ? undefined
            : () => {
                const state = takeSnapshot({ params, ctx });
                const what = `the snapshot of channel '${name}'`;
                const schema = channel.snapshot as SchemaLike;
                return isPromiseLike(state)
                  ? Promise.resolve(state).then((value) => checkProduced(schema, value, what))
                  : checkProduced(schema, state, what);
              },
        // The replies go out in the same step as the join: no message can precede them.
        onJoin: ({ position, gap, snapshot }) => {
          if (!current()) return false;
          // Encoded first: a snapshot that cannot be sent fails the subscribe, which then
          // gets its one reply (the error), never `subscribed` and an error after it.
          const state = snapshot === undefined ? undefined : encodeValue(snapshot.value);
          this.#subscriptions.set(id, topic);
          joined = true;
          const healed = gap && snapshot !== undefined;
          this.#send(
            gap && !healed ? { type: 'subscribed', id, key, position, gap } : { type: 'subscribed', id, key, position },
          );
          if (state !== undefined) {
            const { json, meta } = state;
            this.#send(
              meta === undefined
                ? { type: 'snapshot', id, data: json, position }
                : { type: 'snapshot', id, data: json, meta, position },
            );
          }
          return true;
        },
      });
    } catch (error) {
      if (current()) this.#subscriptions.delete(id);
      const rpcError = toRpcError(error);
      if (rpcError !== error) this.#report(error, { channel: name });
      // Answered already (`subscribed`), or no longer wanted: no second reply.
      if (this.socket.state === 'open' && !pending.abandoned && !joined) this.#sendError(id, rpcError);
    }
  }

  #unsubscribe(id: RequestId): void {
    const subscription = this.#subscriptions.get(id);
    if (subscription === undefined) return;
    this.#subscriptions.delete(id);
    if (typeof subscription === 'string') this.#host.unsubscribe(this, subscription);
    else {
      subscription.abandoned = true;
      this.#abandonedJoins++;
    }
  }

  #onClose(): void {
    if (this.#holder !== undefined) {
      this.#holder.close();
      this.#host.idempotency.leave(this.#holder);
    }
    const gone = new RpcError('UNAVAILABLE', 'the connection closed');
    // A client may come back and re-send its keyed calls (whatever ended the connection:
    // a drop, its heartbeat, going offline): those keep running for reattachMs so that the
    // re-sent call can wait for them. A client that closes on purpose cancels its calls first.
    // Calls that only wait for another run's outcome stop now.
    const { reattachMs } = this.#host.options;
    for (const call of this.#calls.values()) {
      if (call.keyEntry !== undefined && reattachMs > 0) setTimeout(() => call.abort(gone), reattachMs).unref();
      else call.abort(gone);
    }
    for (const id of [...this.#subscriptions.keys()]) this.#unsubscribe(id);
  }
}

/** The connection's idempotency scope, from the application's `idempotency.scope(ctx)`. */
function scopeOf(host: PeerHost, ctx: unknown): string | undefined {
  const scopeFn = host.options.idempotencyScope;
  if (scopeFn === undefined) return undefined;
  const scope = scopeFn(ctx);
  if (typeof scope !== 'string' || scope.length === 0) {
    throw new TypeError(`idempotency.scope must return a non-empty string, got ${typeof scope}`);
  }
  return scope;
}
