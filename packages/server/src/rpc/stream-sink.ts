import type { RequestId, RpcError } from '@switchboard/contract';

// What a stream's run and the connection that follows it share: the connection as a sink
// of envelopes, and the budget of bytes its runs keep.

/** A stream a connection follows: a run here, or one recorded by another process (stream-relay.ts). */
export interface FollowedStream {
  /** Its caller's scope and idempotency key. */
  readonly registryKey: string;
  /** The client takes `n` more chunks and has every one up to `read`. */
  credit(n: number, read: number): void;
  /** The client cancelled it, or acknowledged its end. */
  stop(reason: RpcError): void;
  /** The connection closed. */
  detach(sink: StreamSink): void;
}

/** Where a run's chunks go: a connection, under the id its client gave the stream there. */
export interface StreamSink {
  /** Sends one envelope on the connection: its text, and its byte values (then one binary message). */
  send(text: string, parts?: readonly Uint8Array[]): void;
  /** The connection's socket holds more than highWaterBytes: a run waits before making more. */
  congested(): boolean;
  /** Calls `wake` once the socket has drained. */
  whenDrained(wake: () => void): void;
  /** The connection no longer follows the stream (released, or resumed on another one). */
  forget(id: RequestId, run: FollowedStream): void;
  /** The bytes of chunks kept for this connection's streams. */
  readonly budget: StreamBudget;
}

/**
 * The bytes of chunks one connection's streams keep, within streamBufferBytes; shared by
 * its runs. Once the connection closed, its runs (waiting for a resume) count toward the
 * process's `detached` total too, bounded by streamDetachedBytes.
 */
export class StreamBudget {
  bytes = 0;
  readonly max: number;
  /** Runs paused for room in this budget. */
  readonly #waiting = new Set<() => void>();
  /** The process's total for closed connections, once this one closed. */
  #detached: DetachedBytes | undefined;

  constructor(max: number) {
    this.max = max;
  }

  get full(): boolean {
    return this.bytes >= this.max;
  }

  wait(wake: () => void): void {
    this.#waiting.add(wake);
  }

  /** The connection closed: what its runs keep counts toward the process's detached total from now on. */
  orphan(detached: DetachedBytes): void {
    this.#detached = detached;
    detached.add(this.bytes);
  }

  add(bytes: number): void {
    this.bytes += bytes;
    this.#detached?.add(bytes);
  }

  release(bytes: number): void {
    this.bytes -= bytes;
    this.#detached?.add(-bytes);
    if (this.#waiting.size === 0 || this.full) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }
}

/** The bytes kept by the runs of closed connections, on this process; past `max`, `over` is told. */
export class DetachedBytes {
  bytes = 0;
  readonly #max: number;
  readonly #over: () => void;
  #trimming = false;

  constructor(max: number, over: () => void) {
    this.#max = max;
    this.#over = over;
  }

  add(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes <= this.#max || this.#trimming) return;
    this.#trimming = true;
    try {
      this.#over();
    } finally {
      this.#trimming = false;
    }
  }

  get over(): boolean {
    return this.bytes > this.#max;
  }
}

/** What a run is bounded by (ResolvedServerOptions' stream limits). */
export interface StreamBounds {
  /** Chunks kept per run, unread by the client: more and the handler waits. */
  readonly streamBufferChunks: number;
  /** How long a run with no connection waits for a resume before its handler is stopped. */
  readonly streamIdleMs: number;
  /** Largest message a chunk may make, like any other message. */
  readonly maxPayloadBytes: number;
}
