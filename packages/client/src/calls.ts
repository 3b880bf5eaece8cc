import { cancelText, RpcError, withAck } from '@switchboard/contract';
import type { Connection } from './connection.js';
import type { QueueOptions } from './options.js';
import { utf8Length } from './utf8.js';

/** A call from the moment it is made until it settles once. */
export interface PendingCall {
  readonly id: number;
  /** Idempotency key: a re-send after a reconnect runs at most once on the server. */
  readonly key: string;
  /** The call envelope as sent (the JSON part, when it has byte values). */
  readonly text: string;
  /** Its byte values (encodeValue's parts): it then goes as a binary message, alone. */
  readonly parts: Uint8Array[] | undefined;
  /** Its size on the wire (UTF-8), counted once it first waits. */
  bytes: number | undefined;
  /** On the current connection; false while waiting in the offline queue. */
  sent: boolean;
  readonly timeoutMs: number;
  readonly deadlineAtMs: number;
  /** Set while queued: rejects with UNAVAILABLE after queue.maxAgeMs. */
  expiry: ReturnType<typeof setTimeout> | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: RpcError) => void;
}

/**
 * The client's calls by id, in the order they were made: their deadlines (one timer for
 * all), the offline queue and its bounds, and the `ack` that lets the server forget the
 * outcomes the client has. `connection` is the open connection, if any.
 */
export class Calls {
  readonly #calls = new Map<number, PendingCall>();
  readonly #queue: QueueOptions;
  readonly #connection: () => Connection | undefined;
  /** Told when the number of queued calls changes. */
  readonly #queueChanged: () => void;
  /** The id the next call or subscription will get (they share ids), without taking it. */
  readonly #upcomingId: () => number;
  /** The last `ack` sent: every call up to it is settled here. */
  #ackSent = 0;
  #queuedCalls = 0;
  #queuedBytes = 0;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAtMs = Number.POSITIVE_INFINITY;

  constructor(
    queue: QueueOptions,
    connection: () => Connection | undefined,
    upcomingId: () => number,
    queueChanged: () => void,
  ) {
    this.#queue = queue;
    this.#connection = connection;
    this.#upcomingId = upcomingId;
    this.#queueChanged = queueChanged;
  }

  /** Calls waiting for the connection. */
  get queued(): number {
    return this.#queuedCalls;
  }

  has(id: number): boolean {
    return this.#calls.has(id);
  }

  /** Sends a call now, or queues it for the connection; settles once, however it ends. */
  start(
    id: number,
    key: string,
    text: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    parts?: Uint8Array[],
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const deadlineAtMs = Date.now() + timeoutMs;
      this.#armDeadline(deadlineAtMs);
      const onAbort = signal && (() => this.settle(id, new RpcError('CANCELLED', 'aborted by the caller'), true));
      if (onAbort) signal?.addEventListener('abort', onAbort, { once: true });
      const call: PendingCall = {
        id,
        key,
        text,
        parts,
        bytes: undefined,
        sent: false,
        timeoutMs,
        deadlineAtMs,
        expiry: undefined,
        signal,
        onAbort,
        resolve,
        reject,
      };
      this.#calls.set(id, call);
      const connection = this.#connection();
      if (connection !== undefined) this.#send(call, connection);
      else this.#enqueue(call);
    });
  }

  /** A connection opened: every call waiting goes, in the order they were made. */
  sendWaiting(connection: Connection): void {
    for (const call of this.#calls.values()) {
      if (call.sent) continue;
      this.#dequeue(call);
      this.#send(call, connection);
    }
  }

  /** The connection was lost: calls that were in flight wait again, keeping their ids and keys. */
  requeueSent(): void {
    for (const call of this.#calls.values()) {
      if (!call.sent) continue;
      call.sent = false;
      this.#enqueueResent(call);
    }
  }

  /** Ends a call once: with its value, or with `error` (then optionally telling the server). */
  settle(id: number, error: RpcError | undefined, tellServer: boolean, value?: unknown): void {
    const call = this.#calls.get(id);
    if (call === undefined) return; // already settled: a late reply is dropped
    this.#calls.delete(id);
    if (this.#calls.size === 0) {
      // Nothing left to time out: no timer should keep the process alive.
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#deadlineAtMs = Number.POSITIVE_INFINITY;
    }
    this.#dequeue(call);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    const connection = this.#connection();
    if (tellServer && call.sent && connection !== undefined) connection.send(cancelText(id));
    if (error === undefined) call.resolve(value);
    else call.reject(error);
  }

  failAll(error: RpcError): void {
    for (const id of [...this.#calls.keys()]) this.settle(id, error, false);
  }

  /** A deliberate close: the server aborts the handlers of what is running now. */
  cancelSent(connection: Connection): void {
    for (const call of this.#calls.values()) {
      if (call.sent) connection.send(cancelText(call.id));
    }
  }

  /** The largest call sent on the lost connection and not answered, in UTF-8 bytes, over `atLeast`. */
  largestSent(atLeast: number): { bytes: number; call: PendingCall } | undefined {
    let largest: { bytes: number; call: PendingCall } | undefined;
    for (const call of this.#calls.values()) {
      if (!call.sent) continue;
      const bytes = utf8Length(call.text);
      if (bytes > (largest?.bytes ?? atLeast)) largest = { bytes, call };
    }
    return largest;
  }

  #send(call: PendingCall, connection: Connection): void {
    call.sent = true;
    // Every call before the oldest unsettled one is settled here: the server may forget
    // their idempotency entries. Told when it moves, on the call being sent.
    const ack = (this.#calls.keys().next().value ?? this.#upcomingId()) - 1;
    if (ack > this.#ackSent) {
      this.#ackSent = ack;
      connection.send(withAck(call.text, ack), call.parts);
    } else {
      connection.send(call.text, call.parts);
    }
  }

  /** Waits for the connection, within the queue's bounds (in UTF-8 bytes, as they go out). */
  #enqueue(call: PendingCall): void {
    const { maxCalls, maxBytes, maxAgeMs } = this.#queue;
    const bytes = this.#bytesOf(call);
    if (this.#queuedCalls + 1 > maxCalls || this.#queuedBytes + bytes > maxBytes) {
      this.settle(
        call.id,
        new RpcError('UNAVAILABLE', `the offline queue is full (${maxCalls} calls, ${maxBytes} bytes)`),
        false,
      );
      return;
    }
    this.#wait(call, bytes, `not connected within ${maxAgeMs} ms`);
    this.#queueChanged();
  }

  /** A call that was in flight: it was accepted once, so it waits without the count bound. */
  #enqueueResent(call: PendingCall): void {
    this.#wait(call, this.#bytesOf(call), `not reconnected within ${this.#queue.maxAgeMs} ms`);
  }

  #wait(call: PendingCall, bytes: number, expired: string): void {
    this.#queuedCalls++;
    this.#queuedBytes += bytes;
    call.expiry = setTimeout(
      () => this.settle(call.id, new RpcError('UNAVAILABLE', expired), false),
      this.#queue.maxAgeMs,
    );
  }

  #dequeue(call: PendingCall): void {
    if (call.expiry === undefined) return;
    clearTimeout(call.expiry);
    call.expiry = undefined;
    this.#queuedCalls--;
    this.#queuedBytes -= this.#bytesOf(call);
    this.#queueChanged();
  }

  #bytesOf(call: PendingCall): number {
    if (call.bytes === undefined) {
      call.bytes = utf8Length(call.text);
      for (const part of call.parts ?? []) call.bytes += part.byteLength;
    }
    return call.bytes;
  }

  /**
   * One timer for all deadlines, armed for the earliest: calls mostly share a timeout, so
   * a call usually costs no timer of its own.
   */
  #armDeadline(atMs: number): void {
    if (atMs >= this.#deadlineAtMs) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAtMs = atMs;
    this.#deadlineTimer = setTimeout(() => this.#expire(), Math.max(0, atMs - Date.now()));
  }

  #expire(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineAtMs = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const call of this.#calls.values()) {
      if (call.deadlineAtMs <= now) {
        this.settle(call.id, new RpcError('TIMEOUT', `no result within ${call.timeoutMs} ms`), true);
      } else if (call.deadlineAtMs < next) {
        next = call.deadlineAtMs;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armDeadline(next);
  }
}
