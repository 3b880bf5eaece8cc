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
import { type IdempotencyWindow, isSameCall, type Outcome, type SessionHint } from './idempotency.js';
import type { Metrics } from './metrics.js';
import type { ResolvedServerOptions } from './options.js';
import type { Router } from './router.js';
import type { SharedIdempotency } from './shared-idempotency.js';
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

/** The result or error envelope of a call, as sent: built as text, one stringify of the value. */
function outcomeText(id: RequestId, outcome: Outcome): string {
  const idText = typeof id === 'number' ? String(id) : JSON.stringify(id);
  if (!outcome.ok) return `{"type":"error","id":${idText},"error":${JSON.stringify(outcome.error)}}`;
  const output = outcome.output === undefined ? '' : `,"output":${JSON.stringify(outcome.output)}`;
  const meta = outcome.meta === undefined ? '' : `,"meta":${JSON.stringify(outcome.meta)}`;
  return `{"type":"result","id":${idText}${output}${meta}}`;
}

/** The outcome of a run elsewhere, found in the shared window: sent as it is. */
class StoredOutcome {
  readonly outcome: Outcome;
  constructor(outcome: Outcome) {
    this.outcome = outcome;
  }
}

/** A subscription whose params are still being validated or authorized. */
const PENDING = '';

type Handler = (args: { input: unknown; ctx: unknown; signal: AbortSignal }) => unknown;

interface ChannelHandlers {
  authorize?: (args: { params: unknown; ctx: unknown }) => unknown;
  snapshot?: (args: { params: unknown; ctx: unknown }) => unknown;
}

/**
 * One client connection: calls by id, subscriptions by id, and the envelopes between.
 * Nothing a client sends can throw out of here; every problem becomes an error reply.
 */
export class Peer {
  readonly socket: ServerWebSocket;
  /** Channel messages, held per the channel's delivery policy while the connection is slow. */
  readonly outbox: Outbox;
  readonly #ctx: unknown;
  readonly #host: PeerHost;
  readonly #calls = new Map<RequestId, CallSignal>();
  /** The client session of this connection's calls, kept to find it without a lookup. */
  readonly #session: SessionHint = { session: undefined };
  /** Subscription id → broker topic ('' while pending). */
  readonly #subscriptions = new Map<RequestId, string>();

  constructor(socket: ServerWebSocket, ctx: unknown, host: PeerHost) {
    this.socket = socket;
    this.outbox = new Outbox(socket, host.options.highWaterBytes);
    this.#ctx = ctx;
    this.#host = host;
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

  /** Calls still running. */
  get inFlightCalls(): number {
    return this.#calls.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptions.size;
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
        void this.#subscribe(envelope);
        return;
      case 'unsubscribe':
        this.#unsubscribe(envelope.id);
        return;
      case 'ping':
        this.#send({ type: 'pong' });
        return;
    }
  }

  #call(envelope: CallEnvelope): void {
    const refusal = this.#refuseCall(envelope);
    if (refusal !== undefined) {
      this.#sendError(envelope.id, refusal);
      return;
    }
    const { key } = envelope;
    if (key !== undefined && !this.#claimKey(envelope, key)) return;
    const call = new CallSignal(key === undefined ? undefined : this.#host.idempotency.lastCreated);
    const { sharedIdempotency: shared, options } = this.#host;
    const durationMs = Math.min(envelope.timeoutMs ?? options.maxCallDurationMs, options.maxCallDurationMs);
    let result: unknown;
    try {
      result =
        shared === undefined || key === undefined
          ? this.#run(envelope, call)
          : this.#runShared(shared, envelope, key, call, durationMs);
    } catch (error) {
      this.#fail(envelope, call, error);
      return;
    }
    if (!(result instanceof Promise)) {
      // Settled in this tick: no deadline timer, no promise.
      this.#succeed(envelope, call, result);
      return;
    }
    const { id } = envelope;
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
          output instanceof StoredOutcome
            ? this.#settle(envelope.name, call, output.outcome, outcomeText(id, output.outcome))
            : this.#succeed(envelope, call, output),
        (error: unknown) => this.#fail(envelope, call, error),
      )
      .finally(() => {
        clearTimeout(timer);
        this.#calls.delete(id);
        this.#host.callSettled();
      });
  }

  /** Claims the call in the shared window first: it runs here only if no process ran it. */
  async #runShared(
    shared: SharedIdempotency,
    envelope: CallEnvelope,
    key: string,
    call: CallSignal,
    timeoutMs: number,
  ): Promise<unknown> {
    const begun = await shared.begin(key, envelope.name, envelope.input, envelope.meta, timeoutMs, call.signal);
    if (!begun.run) return new StoredOutcome(begun.outcome);
    call.sharedKey = key;
    return this.#run(envelope, call);
  }

  /**
   * A call with an idempotency key runs only if the key is new. A repeat is answered
   * from the window: the stored outcome, or the outcome of the run still going.
   */
  #claimKey(envelope: CallEnvelope, key: string): boolean {
    const { id, name } = envelope;
    const window = this.#host.idempotency;
    const nowMs = Date.now();
    if (envelope.ack !== undefined) {
      window.release(key, envelope.ack, nowMs, this.#session);
      this.#host.sharedIdempotency?.acknowledge(key, envelope.ack);
    }
    const entry = window.claim(key, name, envelope.input, envelope.meta, nowMs, this.#session);
    if (entry === undefined) return true;
    if (!isSameCall(entry, name, envelope.input, envelope.meta)) {
      this.#sendError(id, new RpcError('CONFLICT', 'this idempotency key was used with another call'));
      return false;
    }
    window.wait(entry, (outcome) => {
      if (this.socket.state === 'open') this.#sendOutcome(id, outcome);
    });
    return false;
  }

  #sendOutcome(id: RequestId, outcome: Outcome): void {
    this.socket.send(outcomeText(id, outcome));
  }

  #succeed(envelope: CallEnvelope, call: CallSignal, output: unknown): void {
    let outcome: Outcome;
    let text: string;
    try {
      const { json, meta } = encodeValue(output);
      outcome = { ok: true, output: json, meta };
      // Encoded now, so that an unserialisable value fails here, as the handler's bug.
      text = outcomeText(envelope.id, outcome);
    } catch (error) {
      this.#fail(envelope, call, error);
      return;
    }
    this.#settle(envelope.name, call, outcome, text);
  }

  #fail(envelope: CallEnvelope, call: CallSignal, error: unknown): void {
    const rpcError = toRpcError(error);
    const outcome: Outcome = { ok: false, error: rpcError.toWire() };
    this.#settle(envelope.name, call, outcome, outcomeText(envelope.id, outcome));
    if (rpcError !== error) this.#report(error, { procedure: envelope.name });
  }

  /** Tells the application's onError; what it throws stays there. */
  #report(error: unknown, where: { procedure?: string; channel?: string }): void {
    try {
      this.#host.options.onError(error, where);
    } catch {
      // onError itself failed: nothing more to tell.
    }
  }

  #settle(procedure: string, call: CallSignal, outcome: Outcome, text: string): void {
    this.#host.counters.recordCall(procedure, (performance.now() - call.startedAt) * 1000, outcome.ok);
    // Kept even for an aborted call: a re-sent call with the key gets the real outcome.
    if (call.keyEntry !== undefined) this.#host.idempotency.finish(call.keyEntry, outcome, Date.now());
    if (call.sharedKey !== undefined) this.#host.sharedIdempotency?.finish(call.sharedKey, outcome);
    // Aborted: TIMEOUT was answered already, a CANCELLED caller moved on, a closed socket is gone.
    if (call.reason !== undefined) return;
    this.socket.send(text);
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
    if (this.#subscriptions.size >= options.maxSubscriptions) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxSubscriptions} subscriptions`);
    }
    if (!Object.hasOwn(router.contract.channels, name)) return new RpcError('NOT_FOUND', `no channel '${name}'`);
    return undefined;
  }

  /**
   * Input schema → handler → output schema. Stays synchronous while every step is
   * (zod validators and plain handlers are), so a simple call costs no promise at all.
   */
  #run(envelope: CallEnvelope, call: CallSignal): unknown {
    const { router } = this.#host;
    const procedure = router.contract.procedures[envelope.name] as AnyContract['procedures'][string];
    const handler = (router.procedures as Record<string, Handler>)[envelope.name] as Handler;
    const parsed = validate(procedure.input, decodeValue(envelope.input, envelope.meta));
    const invoke = (input: Validated<unknown>): unknown => {
      if (!input.ok) throw new RpcError('BAD_REQUEST', 'invalid input', issuesData(input.issues));
      const output = handler({
        input: input.value,
        ctx: this.#ctx,
        get signal() {
          return call.signal;
        },
      });
      const what = `the result of procedure '${envelope.name}'`;
      return isPromiseLike(output)
        ? Promise.resolve(output).then((value) => checkProduced(procedure.output, value, what))
        : checkProduced(procedure.output, output, what);
    };
    return parsed instanceof Promise ? parsed.then(invoke) : invoke(parsed);
  }

  async #subscribe(envelope: SubscribeEnvelope): Promise<void> {
    const { id, name } = envelope;
    const { router } = this.#host;
    const refusal = this.#refuseSubscription(envelope);
    if (refusal !== undefined) {
      this.#sendError(id, refusal);
      return;
    }
    this.#subscriptions.set(id, PENDING);
    let topic: string;
    let key: string;
    try {
      const channel = router.contract.channels[name] as AnyContract['channels'][string];
      const params = await parseOrThrow(channel.params, decodeValue(envelope.params, envelope.meta), 'params');
      const implementation = (router.channels as Record<string, ChannelHandlers | undefined>)[name];
      const ctx = this.#ctx;
      if (implementation?.authorize !== undefined && (await implementation.authorize({ params, ctx })) !== true) {
        throw new RpcError('FORBIDDEN', `not allowed to subscribe to '${name}'`);
      }
      key = paramsKey(params);
      topic = topicOf(name, key);
      if (this.#subscriptions.get(id) !== PENDING) return; // unsubscribed or disconnected meanwhile
      const takeSnapshot = implementation?.snapshot;
      await this.#host.subscribe({
        peer: this,
        id,
        topic,
        from: envelope.from,
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
          if (this.#subscriptions.get(id) !== PENDING) return false;
          this.#subscriptions.set(id, topic);
          const healed = gap && snapshot !== undefined;
          this.#send(
            gap && !healed ? { type: 'subscribed', id, key, position, gap } : { type: 'subscribed', id, key, position },
          );
          if (snapshot !== undefined) {
            const { json, meta } = encodeValue(snapshot.value);
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
      if (this.#subscriptions.get(id) === PENDING) this.#subscriptions.delete(id);
      const rpcError = toRpcError(error);
      if (rpcError !== error) this.#report(error, { channel: name });
      if (this.socket.state === 'open') this.#sendError(id, rpcError);
    }
  }

  #unsubscribe(id: RequestId): void {
    const topic = this.#subscriptions.get(id);
    if (topic === undefined) return;
    this.#subscriptions.delete(id);
    if (topic !== PENDING) this.#host.unsubscribe(this, topic);
  }

  #onClose(): void {
    const gone = new RpcError('UNAVAILABLE', 'the connection closed');
    // A client may come back and re-send its keyed calls (whatever ended the connection:
    // a drop, its heartbeat, going offline): those keep running for reattachMs so that the
    // re-sent call can wait for them. A client that closes on purpose cancels its calls first.
    const { reattachMs } = this.#host.options;
    for (const call of this.#calls.values()) {
      if (call.keyEntry !== undefined && reattachMs > 0) setTimeout(() => call.abort(gone), reattachMs).unref();
      else call.abort(gone);
    }
    for (const id of [...this.#subscriptions.keys()]) this.#unsubscribe(id);
  }
}
