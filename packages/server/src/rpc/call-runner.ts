import { randomBytes } from 'node:crypto';
import {
  type AnyContract,
  type CallEnvelope,
  decodeValue,
  encodeValue,
  isStreamOutput,
  issuesData,
  type RequestId,
  RpcError,
  type SchemaLike,
  toRpcError,
  type Validated,
  validate,
} from '@switchboard/contract';
import { CallSignal, HandlerArgs } from './call-signal.js';
import { ConnectionHolder } from './connection-holder.js';
import { callHash } from './fingerprint.js';
import { NOT_KEPT, type SessionHint } from './idempotency.js';
import { runChain } from './middleware.js';
import { errorOutcome, type Outcome, replyOutcome, resultOutcome } from './outcome.js';
import { checkProduced, isPromiseLike, type PeerLink } from './peer-link.js';
import { type SharedIdempotency, scopeTag } from './shared-idempotency.js';

// One connection's calls: each validated, then (with a key) claimed in the idempotency
// window for its caller, run, checked against its output schema, and answered once:
//
//   call ─▶ refusals (id in use, draining, maxInFlightCalls, unknown name, maxInFlightBytes)
//        ─▶ input schema ─▶ [key: claim ─┬─ new ─▶ (shared window) ─▶ handler
//                                        ├─ repeat ─▶ its stored outcome, or wait for the run
//                                        ├─ held by a live connection (no scope) ─▶ probe it
//                                        └─ conflict / acknowledged / refused ─▶ error]
//        ─▶ output schema ─▶ one reply (result or error), its outcome kept for a re-send

/** An outcome found in a window (a repeat of a call that ran already): sent as it is. */
class Answered {
  readonly outcome: Outcome;
  constructor(outcome: Outcome) {
    this.outcome = outcome;
  }
}

/** What a call that only waited gets when it is aborted: nothing is sent for it. */
const GAVE_UP = new Answered(NOT_KEPT);

type Procedure = AnyContract['procedures'][string];
type Handler = (args: HandlerArgs) => unknown;

/** One connection's calls, running and waiting. */
export class CallRunner {
  readonly #link: PeerLink;
  readonly #calls = new Map<RequestId, CallSignal>();
  /** This connection in the idempotency window: made with its first keyed call. */
  #holder: ConnectionHolder | undefined;
  readonly #scope: string | undefined;
  /** The client session of this connection's calls, kept to find it without a lookup. */
  readonly #session: SessionHint = { session: undefined };
  /** This connection's keys in the shared window: its scope's prefix. */
  readonly #sharedPrefix: string;
  #probing: Promise<boolean> | undefined;

  constructor(link: PeerLink, scope: string | undefined) {
    this.#link = link;
    this.#scope = scope;
    this.#sharedPrefix = scope === undefined || link.host.sharedIdempotency === undefined ? '' : scopeTag(scope);
  }

  /** Calls still running (and re-sent calls waiting for a run's outcome). */
  get inFlight(): number {
    return this.#calls.size;
  }

  cancel(id: RequestId): void {
    this.#calls.get(id)?.abort(new RpcError('CANCELLED', 'cancelled by the caller'));
  }

  /**
   * The connection closed. A client may come back and re-send its keyed calls (whatever
   * ended the connection: a drop, its heartbeat, going offline): those keep running for
   * reattachMs so that the re-sent call can wait for them. A client that closes on purpose
   * cancels its calls first. Calls that only wait for another run's outcome stop now.
   */
  close(): void {
    if (this.#holder !== undefined) {
      this.#holder.close();
      this.#link.host.idempotency.leave(this.#holder);
    }
    const gone = new RpcError('UNAVAILABLE', 'the connection closed');
    const { reattachMs } = this.#link.host.options;
    for (const call of this.#calls.values()) {
      if (call.keyEntry !== undefined && reattachMs > 0) setTimeout(() => call.abort(gone), reattachMs).unref();
      else call.abort(gone);
    }
  }

  #holderOf(): ConnectionHolder {
    if (this.#holder === undefined) {
      this.#holder = new ConnectionHolder(this.#scope, () => this.#probe());
      // Made after the connection closed (a call that was still starting): gone from birth.
      if (this.#link.socket.state === 'closed') this.#holder.close();
    }
    return this.#holder;
  }

  /**
   * Whether this connection is still there: a ping answered within the heartbeat's
   * timeout. One that does not answer is terminated, as the heartbeat would do.
   */
  #probe(): Promise<boolean> {
    // Closing (its Close sent or echoed): it can answer nothing any more.
    if (this.#link.socket.state !== 'open') return Promise.resolve(false);
    this.#probing ??= new Promise<boolean>((resolve) => {
      const { socket } = this.#link;
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
      }, this.#link.host.options.heartbeatTimeoutMs);
      socket.on('pong', onPong);
      socket.on('close', onClose);
      socket.ping(payload);
    });
    return this.#probing;
  }

  /** Runs (or refuses) one call envelope; its one reply goes out when it ends. */
  call(envelope: CallEnvelope): void {
    const refusal = this.#refuseCall(envelope);
    if (refusal !== undefined) {
      this.#link.sendError(envelope.id, refusal);
      return;
    }
    const { id, name, key, ack } = envelope;
    // The client's ack holds whatever becomes of this call: it is sent once, when it moves.
    if (key !== undefined && ack !== undefined) this.#acknowledge(key, ack);
    // Charged before anything runs: a call over the budget must not have run at all.
    const charge = this.#link.hold();
    if (charge === undefined) {
      this.#link.sendError(id, this.#link.tooMuchInFlight());
      return;
    }
    const call = new CallSignal();
    const { options } = this.#link.host;
    const durationMs = Math.min(envelope.timeoutMs ?? options.maxCallDurationMs, options.maxCallDurationMs);
    let result: unknown;
    try {
      result = this.#run(envelope, call, durationMs);
    } catch (error) {
      this.#link.unhold(charge);
      this.#fail(id, name, call, error);
      return;
    }
    if (!(result instanceof Promise)) {
      // Settled in this tick: no deadline timer, no promise.
      this.#link.unhold(charge);
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
      this.#link.sendError(id, timeout);
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
        this.#link.unhold(charge);
        this.#link.host.callSettled();
      });
  }

  /** The client has every outcome of its session up to call `through`; ignored unless the session is this caller's. */
  #acknowledge(key: string, through: number): void {
    const mine = this.#link.host.idempotency.release(key, through, this.#holderOf(), Date.now(), this.#session);
    // Passed on only for a session this connection uses here: no made-up name reaches the store.
    if (mine && this.#sharedPrefix !== '')
      this.#link.host.sharedIdempotency?.acknowledge(this.#sharedPrefix + key, through);
  }

  /**
   * Input schema → [key claimed] → handler → output schema. Stays synchronous while every
   * step is (zod validators and plain handlers are), so a simple call costs no promise.
   */
  #run(envelope: CallEnvelope, call: CallSignal, durationMs: number): unknown {
    const procedure = this.#link.host.router.contract.procedures[envelope.name] as Procedure;
    const parsed = validate(procedure.input, decodeValue(envelope.input, envelope.meta));
    // Claimed only once valid: an invalid call keeps nothing, and only a hash of the input is kept.
    const hash = envelope.key === undefined ? 0 : callHash(envelope.name, envelope.input, envelope.meta);
    return parsed instanceof Promise
      ? parsed.then((input) => this.#start(envelope, procedure, input, hash, call, durationMs))
      : this.#start(envelope, procedure, parsed, hash, call, durationMs);
  }

  #start(
    { name, key }: CallEnvelope,
    procedure: Procedure,
    input: Validated<unknown>,
    hash: number,
    call: CallSignal,
    durationMs: number,
  ): unknown {
    // Aborted while its input validated (its connection closed, say): it never starts.
    if (call.reason !== undefined) return GAVE_UP;
    if (!input.ok) {
      // A client built with another input schema gets told to reload rather than why its input fails ours.
      throw (
        this.#link.skew?.invalidInput(name) ?? new RpcError('BAD_REQUEST', 'invalid input', issuesData(input.issues))
      );
    }
    const { middleware } = this.#link.host.router;
    // Without middleware, or a repeat of a call it let through (its outcome kept, or its run
    // going on): the window answers that one, whatever the middleware would say now.
    if (middleware.length === 0 || (key !== undefined && this.#isRepeat(key))) {
      return this.#proceed(name, procedure, input.value, key, hash, call, durationMs);
    }
    // Before the key is claimed: a call the middleware refuses leaves no outcome to re-send.
    const args = { kind: 'call' as const, name, input: input.value, connection: this.#link.connection };
    return runChain(middleware, args, this.#link.ctx, (ctx) => {
      if (call.reason !== undefined) return GAVE_UP;
      call.extended = { ctx };
      return this.#proceed(name, procedure, input.value, key, hash, call, durationMs);
    });
  }

  #isRepeat(key: string): boolean {
    return this.#link.host.idempotency.has(key, this.#holderOf(), Date.now());
  }

  #proceed(
    name: string,
    procedure: Procedure,
    input: unknown,
    key: string | undefined,
    hash: number,
    call: CallSignal,
    durationMs: number,
  ): unknown {
    if (key === undefined) return this.#invoke(name, procedure, input, call);
    return this.#runKeyed(name, procedure, input, key, hash, call, durationMs);
  }

  #invoke(name: string, procedure: Procedure, input: unknown, call: CallSignal): unknown {
    const handler = (this.#link.host.router.procedures as unknown as Record<string, Handler>)[name] as Handler;
    const ctx = call.extended === undefined ? this.#link.ctx : call.extended.ctx;
    const output = handler(new HandlerArgs(input, ctx, this.#link.connection, call));
    const schema = procedure.output as SchemaLike; // a stream's call is refused in #refuseCall
    return isPromiseLike(output)
      ? Promise.resolve(output).then((value) => checkProduced(schema, value, 'result', name))
      : checkProduced(schema, output, 'result', name);
  }

  /**
   * A call with an idempotency key runs only if the key is new for this caller. A repeat
   * is answered from the window: the stored outcome, or that of the run still going.
   */
  #runKeyed(
    name: string,
    procedure: Procedure,
    input: unknown,
    key: string,
    hash: number,
    call: CallSignal,
    durationMs: number,
  ): unknown {
    const window = this.#link.host.idempotency;
    const claim = window.claim(key, hash, this.#holderOf(), Date.now(), this.#session);
    switch (claim.state) {
      case 'new': {
        call.keyEntry = claim.entry;
        const shared = this.#link.host.sharedIdempotency;
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
    procedure: Procedure,
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
      const { json, meta, parts } = encodeValue(output);
      outcome = resultOutcome(json, meta, parts);
    } catch (error) {
      this.#fail(id, name, call, error);
      return;
    }
    this.#settle(id, name, call, outcome);
  }

  #fail(id: RequestId, name: string, call: CallSignal, error: unknown): void {
    const rpcError = toRpcError(error);
    this.#settle(id, name, call, errorOutcome(rpcError.toWire()));
    if (rpcError !== error) this.#link.report(error, { procedure: name });
  }

  #settle(id: RequestId, procedure: string, call: CallSignal, outcome: Outcome): void {
    this.#link.host.counters.recordCall(procedure, (performance.now() - call.startedAt) * 1000, outcome.ok);
    // Kept even for an aborted call: a re-sent call with the key gets the real outcome.
    const window = this.#link.host.idempotency;
    if (call.keyEntry !== undefined) window.finish(call.keyEntry, outcome, Date.now());
    // The shared window keeps what this one would: an outcome too large goes as NOT_KEPT.
    if (call.sharedKey !== undefined) {
      this.#link.host.sharedIdempotency?.finish(call.sharedKey, window.keeps(outcome) ? outcome : NOT_KEPT);
    }
    // Aborted: TIMEOUT was answered already, a CANCELLED caller moved on, a closed socket is gone.
    if (call.reason !== undefined) return;
    replyOutcome(this.#link.socket, id, outcome);
  }

  #refuseCall({ id, name }: CallEnvelope): RpcError | undefined {
    const { router, options } = this.#link.host;
    if (this.#calls.has(id)) return new RpcError('BAD_REQUEST', `id ${id} is already in flight`);
    if (this.#link.host.draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    if (this.#calls.size >= options.maxInFlightCalls) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxInFlightCalls} calls in flight`);
    }
    // Before NOT_FOUND: a name the client's contract has and this server lost is RELOAD_REQUIRED.
    if (this.#link.skew !== undefined) {
      const skewed = this.#link.skew.refuseCall(name);
      if (skewed !== undefined) return skewed;
    }
    if (!Object.hasOwn(router.contract.procedures, name)) return new RpcError('NOT_FOUND', `no procedure '${name}'`);
    if (isStreamOutput(router.contract.procedures[name]?.output)) {
      return new RpcError('BAD_REQUEST', `'${name}' is a streaming procedure: use client.stream()`);
    }
    return undefined;
  }
}
