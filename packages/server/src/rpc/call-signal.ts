import type { RpcError } from '@switchboard/contract';

/**
 * The abort state of one call. The AbortController is made only if the handler reads
 * `signal`: most handlers never do, and a controller per call is measurable.
 */
export class CallSignal {
  /** The call's idempotency key, if it has one. */
  readonly key: string | undefined;
  #controller: AbortController | undefined;
  #reason: RpcError | undefined;

  constructor(key?: string) {
    this.key = key;
  }

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

  abort(reason: RpcError): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
