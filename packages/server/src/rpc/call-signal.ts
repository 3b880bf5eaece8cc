import type { RpcError } from '@switchboard/contract';
import type { Connection } from './connection.js';
import type { KeyEntry } from './idempotency.js';

/**
 * The abort state of one call. The AbortController is made only if the handler reads
 * `signal`: most handlers never do, and a controller per call is measurable.
 */
export class CallSignal {
  /** The call's entry in the idempotency window, once its key is claimed for this run. */
  keyEntry: KeyEntry | undefined;
  /** performance.now() when the call arrived. */
  readonly startedAt = performance.now();
  /** Claimed in the shared idempotency window: its outcome is stored there too. */
  sharedKey: string | undefined;
  /** The ctx the router's middleware made for the handler (none: the connection's). */
  extended: { ctx: unknown } | undefined;
  #controller: AbortController | undefined;
  #reason: RpcError | undefined;
  /** Told once, on abort: a call that only waits (for another run's outcome) stops waiting. */
  #onAbort: (() => void) | undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Why the call was aborted (TIMEOUT, CANCELLED, UNAVAILABLE on disconnect), if it was. */
  get reason(): RpcError | undefined {
    return this.#reason;
  }

  /** Calls `listener` when the call is aborted (at once if it was); one listener per call. */
  onAbort(listener: () => void): void {
    if (this.#reason !== undefined) listener();
    else this.#onAbort = listener;
  }

  abort(reason: RpcError): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listener = this.#onAbort;
    this.#onAbort = undefined;
    listener?.();
  }
}

/**
 * What a handler receives. `signal` is a getter on the prototype, made when first read.
 * Not an accessor in an object literal: V8 gives each such literal an accessor pair in
 * old space, which kept every call's arguments, signal and context alive through young
 * GCs (bench:rpc --inflight 1: ~870 KB promoted per scavenge, ~20% of the server's CPU).
 */
export class HandlerArgs {
  readonly input: unknown;
  readonly ctx: unknown;
  readonly connection: Connection;
  readonly #call: CallSignal;

  constructor(input: unknown, ctx: unknown, connection: Connection, call: CallSignal) {
    this.input = input;
    this.ctx = ctx;
    this.connection = connection;
    this.#call = call;
  }

  get signal(): AbortSignal {
    return this.#call.signal;
  }
}
