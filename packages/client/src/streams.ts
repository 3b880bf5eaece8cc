import {
  cancelText,
  creditText,
  decodeValue,
  encodeValue,
  inputText,
  RpcError,
  streamText,
} from '@switchboard/contract';
import type { Connection } from './connection.js';
import { reportLater } from './subscriptions.js';
import type { ClientStream, StreamChunkMeta, StreamOptions } from './types.js';

// The client's streaming calls. Each is an async iterable of chunks over one run on the
// server, which it follows across reconnects:
//
//   stream(name, input) ─▶ `stream` {key, credit} ─▶ chunks, numbered ─▶ the reader's queue ─▶ for await
//        reader takes half its window ─▶ `credit` {n, read}     (the server produces only what was granted)
//        reconnect ─▶ `stream` again, same key, {after: last chunk received, credit: room left}
//        `end` / `error` ─▶ the iterator finishes / throws, `result` settles, `cancel` releases the run
//
// Chunks are checked in order (seq one above the last) and an `end` must name the last
// chunk received: a server that skips or repeats one is refused, never trusted.

/** Chunks a stream takes before it grants more, unless `credit` says otherwise. */
export const DEFAULT_CREDIT = 256;

/**
 * Byte values received and not yet confirmed above which the client confirms them at once
 * (the server keeps them until then, within its streamBufferBytes): big chunks flow
 * without waiting for half a window of them.
 */
export const READ_ACK_BYTES = 512 * 1024;

/**
 * Byte values received and not yet read above which the client stops confirming: the
 * server then waits at its bound, and the client holds at most about this much (plus the
 * server's bound) however big the chunks within the credit.
 */
export const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

/**
 * How long after a chunk arrives the client tells the server it has it, when nothing else
 * told it sooner: a server whose kept chunks reached its bound (chunks or bytes) waits for
 * that word, whatever the reader does.
 */
export const READ_ACK_DELAY_MS = 20;

type Final = { ok: true; value: unknown } | { ok: false; error: RpcError };

/** What the streams need of the client. */
export interface StreamHost {
  /** The open connection, if any. */
  connection(): Connection | undefined;
  /** The default deadline between chunks (the client's timeoutMs). */
  readonly timeoutMs: number;
}

export class ClientStreamRun implements ClientStream<unknown, unknown> {
  readonly id: number;
  readonly #key: string;
  readonly #name: string;
  readonly #host: StreamHost;
  readonly #streams: Streams;
  readonly #window: number;
  readonly #timeoutMs: number;
  readonly #onChunk: StreamOptions<unknown, unknown>['onChunk'];
  readonly #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  /** The input as it goes in `stream` (the contract's inputText), once validated. */
  #inputText: string | undefined;
  /** The input's byte values: the `stream` then goes as a binary message. */
  #inputParts: Uint8Array[] | undefined;
  #sent = false;
  /** The last chunk received. */
  #received = 0;
  /** The server may send chunks up to this seq: what the client granted (a server that sends more is refused). */
  #limit = 0;
  /** The last chunk the server was told the client has (`read`). */
  #readSent = 0;
  #readTimer: ReturnType<typeof setTimeout> | undefined;
  #consumedSinceGrant = 0;
  /** Byte values received since the last `read`. */
  #bytesSinceRead = 0;
  /** Byte values in the queue, not yet read (and the size of each queued chunk). */
  #unreadBytes = 0;
  readonly #queueBytes: number[] = [];
  readonly #queue: unknown[] = [];
  #final: Final | undefined;
  #reader: { resolve: (step: IteratorResult<unknown>) => void; reject: (error: RpcError) => void } | undefined;
  #lastHeardAt = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly result: Promise<unknown>;
  #settleResult!: (final: Final) => void;

  constructor(
    id: number,
    key: string,
    name: string,
    options: StreamOptions<unknown, unknown>,
    host: StreamHost,
    streams: Streams,
  ) {
    this.id = id;
    this.#key = key;
    this.#name = name;
    this.#host = host;
    this.#streams = streams;
    this.#window = options.credit ?? DEFAULT_CREDIT;
    this.#timeoutMs = options.timeoutMs ?? host.timeoutMs;
    if (!Number.isSafeInteger(this.#window) || this.#window < 1)
      throw new TypeError('credit must be a positive integer');
    if (!(this.#timeoutMs > 0 && this.#timeoutMs < 2 ** 31))
      throw new TypeError('timeoutMs must be a positive number of ms');
    this.#onChunk = options.onChunk;
    this.#signal = options.signal;
    this.result = new Promise<Final>((resolve) => {
      this.#settleResult = resolve;
    }).then((final) => {
      if (final.ok) return final.value;
      throw final.error;
    });
    // Read by whoever wants it: an ending nobody awaits is not an unhandled rejection.
    this.result.catch(() => {});
    const { onEnd, onError } = options;
    // A callback that throws is reported on its own, as a subscription handler's is.
    if (onEnd !== undefined || onError !== undefined) this.result.then(onEnd, onError).catch(reportLater);
    if (this.#signal?.aborted === true) {
      this.#stop(new RpcError('CANCELLED', 'aborted before the stream was made'));
    } else if (this.#signal !== undefined) {
      this.#onAbort = () => this.#stop(new RpcError('CANCELLED', 'aborted by the caller'));
      this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** The input is valid: the stream goes now, or with the next connection. Throws for a value that cannot be encoded. */
  begin(value: unknown): void {
    if (this.#final !== undefined) return;
    const { json, meta, parts } = encodeValue(value);
    this.#inputParts = parts;
    this.#inputText = inputText(json, meta);
    this.#armTimer();
    const connection = this.#host.connection();
    if (connection !== undefined) this.send(connection);
  }

  /** Sends (or re-sends, resuming after the last chunk received) the stream on `connection`. */
  send(connection: Connection): void {
    if (this.#inputText === undefined || this.#final !== undefined) return;
    this.#sent = true;
    this.#consumedSinceGrant = 0;
    this.#readSent = this.#received;
    const credit = Math.max(0, this.#window - this.#queue.length);
    this.#limit = this.#received + credit;
    const after = this.#received === 0 ? undefined : this.#received;
    const envelope = { id: this.id, name: this.#name, key: this.#key, credit };
    connection.send(
      streamText(after === undefined ? envelope : { ...envelope, after }, this.#inputText),
      this.#inputParts,
    );
  }

  /** The connection was lost: the stream is sent again with the next one. */
  leave(): void {
    this.#sent = false;
  }

  chunk(seq: number, data: unknown, meta: unknown): void {
    if (this.#final !== undefined) return;
    if (seq <= this.#received) return; // sent again after a resume that crossed it: had already
    if (seq !== this.#received + 1 || seq > this.#limit) {
      const problem =
        seq > this.#limit ? `beyond the credit granted (${this.#limit})` : `after chunk ${this.#received}`;
      this.#stop(new RpcError('INTERNAL', `bad server message: chunk ${seq} ${problem}`));
      return;
    }
    let value: unknown;
    try {
      value = decodeValue(data, meta);
    } catch (error) {
      this.#stop(error instanceof RpcError ? error : new RpcError('BAD_REQUEST', 'undecodable chunk'));
      return;
    }
    this.#received = seq;
    this.#lastHeardAt = Date.now();
    const bytes = byteValues(meta);
    this.#bytesSinceRead += bytes;
    if (this.#onChunk !== undefined) {
      this.#acknowledgeLater();
      try {
        this.#onChunk(value, { seq } satisfies StreamChunkMeta);
      } catch (error) {
        reportLater(error); // the application's bug; the stream goes on
      }
      this.#consumed();
      return;
    }
    const reader = this.#reader;
    if (reader === undefined) {
      this.#queue.push(value);
      this.#queueBytes.push(bytes);
      this.#unreadBytes += bytes;
      this.#acknowledgeLater();
      return;
    }
    this.#reader = undefined;
    this.#acknowledgeLater();
    this.#consumed();
    reader.resolve({ value, done: false });
  }

  end(seq: number, output: unknown, meta: unknown): void {
    if (this.#final !== undefined) return;
    if (seq !== this.#received) {
      this.#stop(new RpcError('INTERNAL', `bad server message: end after chunk ${seq}, received ${this.#received}`));
      return;
    }
    let value: unknown;
    try {
      value = decodeValue(output, meta);
    } catch (error) {
      this.#stop(error instanceof RpcError ? error : new RpcError('BAD_REQUEST', 'undecodable result'));
      return;
    }
    this.#finish({ ok: true, value });
  }

  /** The server answered the stream with an error (the run failed, or was refused). */
  fail(error: RpcError): void {
    if (this.#final === undefined) this.#finish({ ok: false, error });
  }

  /** Stops the stream: the server's run is cancelled (its handler's signal aborts). */
  cancel(): void {
    this.#stop(new RpcError('CANCELLED', 'cancelled by the caller'));
  }

  /** The client is closing on purpose: the server is told on `connection` (the last one) to stop the run. */
  close(connection: Connection | undefined): void {
    if (this.#final !== undefined) return;
    if (this.#sent && connection !== undefined) connection.send(cancelText(this.id));
    this.#sent = false;
    this.#finish({ ok: false, error: new RpcError('UNAVAILABLE', 'the client is closed') });
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    if (this.#onChunk !== undefined) throw new TypeError('a stream with onChunk delivers its chunks there');
    return {
      next: () => this.#next(),
      return: (value?: unknown) => {
        this.cancel();
        return Promise.resolve({ value, done: true });
      },
    };
  }

  #next(): Promise<IteratorResult<unknown>> {
    if (this.#queue.length > 0) {
      const value = this.#queue.shift();
      this.#unreadBytes -= this.#queueBytes.shift() as number;
      this.#consumed();
      return Promise.resolve({ value, done: false });
    }
    const final = this.#final;
    if (final !== undefined) {
      return final.ok ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(final.error);
    }
    if (this.#reader !== undefined) return Promise.reject(new TypeError('next() called while another is waiting'));
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  /** One chunk read: after a quarter of the window, the server is granted as many more (it makes them while the rest is read). */
  #consumed(): void {
    this.#consumedSinceGrant++;
    if (this.#consumedSinceGrant >= Math.max(1, this.#window >> 2)) this.#sendCredit();
    // Confirmations held while too many bytes were unread: the reader caught up.
    else if (this.#received > this.#readSent && this.#unreadBytes < MAX_UNREAD_BYTES) this.#acknowledgeLater();
  }

  /**
   * A chunk arrived: the server keeps every chunk until told the client has it. Told with
   * the next grant, or once half a window arrived unread, or READ_ACK_DELAY_MS after the
   * last chunk — so that a server at its bound never waits on a reader that waits too.
   */
  #acknowledgeLater(): void {
    // Too much unread: the server keeps the rest until the reader catches up.
    if (this.#unreadBytes >= MAX_UNREAD_BYTES) return;
    if (this.#received - this.#readSent >= Math.max(1, this.#window >> 1) || this.#bytesSinceRead >= READ_ACK_BYTES) {
      this.#sendCredit();
      return;
    }
    this.#readTimer ??= setTimeout(() => {
      this.#readTimer = undefined;
      if (this.#final === undefined && this.#received > this.#readSent && this.#unreadBytes < MAX_UNREAD_BYTES) {
        this.#sendCredit();
      }
    }, READ_ACK_DELAY_MS);
  }

  /** `credit`: the chunks read since the last grant, and the last chunk received. */
  #sendCredit(): void {
    const connection = this.#host.connection();
    if (!this.#sent || connection === undefined) return;
    connection.send(creditText({ id: this.id, n: this.#consumedSinceGrant, read: this.#received }));
    this.#limit += this.#consumedSinceGrant;
    this.#consumedSinceGrant = 0;
    this.#readSent = this.#received;
    this.#bytesSinceRead = 0;
  }

  /** Ends the stream from this side: the server is told to stop the run. */
  #stop(error: RpcError): void {
    if (this.#final !== undefined) return;
    this.#finish({ ok: false, error });
  }

  #finish(final: Final): void {
    this.#final = final;
    clearTimeout(this.#timer);
    clearTimeout(this.#readTimer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#streams.delete(this.id);
    // Ended or failed: the server may release the run (and stops it, if it still runs).
    const connection = this.#host.connection();
    if (this.#sent && connection !== undefined) connection.send(cancelText(this.id));
    this.#settleResult(final);
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader === undefined) return;
    if (final.ok) reader.resolve({ value: undefined, done: true });
    else reader.reject(final.error);
  }

  /** TIMEOUT when nothing arrives for timeoutMs while the reader has nothing left to read. */
  #armTimer(): void {
    const due = this.#lastHeardAt + this.#timeoutMs - Date.now();
    this.#timer = setTimeout(
      () => {
        if (this.#final !== undefined) return;
        const waiting = this.#queue.length === 0;
        if (waiting && Date.now() - this.#lastHeardAt >= this.#timeoutMs) {
          this.#stop(new RpcError('TIMEOUT', `no chunk within ${this.#timeoutMs} ms`));
          return;
        }
        if (!waiting) this.#lastHeardAt = Date.now();
        this.#armTimer();
      },
      Math.max(0, due),
    );
  }
}

/** The bytes of a chunk's byte values, from its `meta.b` (views of the received message, or their lengths). */
function byteValues(meta: unknown): number {
  const parts = (meta as { b?: unknown } | undefined)?.b;
  if (!Array.isArray(parts)) return 0;
  let bytes = 0;
  for (const part of parts)
    bytes += typeof part === 'number' ? part : ((part as Uint8Array | undefined)?.byteLength ?? 0);
  return bytes;
}

/** The client's streams by id. */
export class Streams {
  readonly #runs = new Map<number, ClientStreamRun>();

  add(run: ClientStreamRun): void {
    this.#runs.set(run.id, run);
  }

  delete(id: number): void {
    this.#runs.delete(id);
  }

  get(id: number): ClientStreamRun | undefined {
    return this.#runs.get(id);
  }

  /** A connection is ready: every stream goes (again), resuming where it was. */
  sendAll(connection: Connection): void {
    for (const run of this.#runs.values()) run.send(connection);
  }

  leaveAll(): void {
    for (const run of this.#runs.values()) run.leave();
  }

  failAll(error: RpcError): void {
    for (const run of [...this.#runs.values()]) run.fail(error);
  }

  /** A deliberate close: the server stops every run now (told on `connection`, the last one). */
  closeAll(connection: Connection | undefined): void {
    for (const run of [...this.#runs.values()]) run.close(connection);
  }
}
