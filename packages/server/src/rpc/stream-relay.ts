import { errorBody, type RequestId, RpcError, streamReplyText } from '@switchboard/contract';
import type { FollowedStream, StreamSink } from './stream-sink.js';
import { bodyOfRecord, type StreamStore } from './stream-store.js';

// A stream whose run is (or was) on another process, served from what that process
// recorded in the shared store:
//
//   read after `after` ─▶ the chunks ─▶ ended? its end or error
//                                    └▶ still running? read again in pollMs (what it records next)
//                                    └▶ its process gone (claim lapsed) without an end: STREAM_LOST 'process'
//
// The handler is never run a second time: a run cut short says so. A relay keeps nothing
// of its own and sends no chunk beyond its client's credit; that credit does not reach the
// other process (its run paces itself by what its own connection granted).

/** How often a relay reads what a live run elsewhere recorded. */
const POLL_MS = 50;

export class StreamRelay implements FollowedStream {
  readonly registryKey: string;
  readonly #store: StreamStore;
  readonly #key: string;
  readonly #sink: StreamSink;
  readonly #id: RequestId;
  #sent: number;
  /** The client takes chunks up to this seq: `after` + credit + Σ n. */
  #limit: number;
  /** Waiting for credit (every chunk up to #limit was sent). */
  #starved = false;
  #stopped = false;
  /** Its end or error was sent: the client's acknowledgement releases the record. */
  #ended = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    store: StreamStore,
    key: string,
    registryKey: string,
    sink: StreamSink,
    id: RequestId,
    after: number,
    credit: number,
  ) {
    this.#limit = after + credit;
    this.#store = store;
    this.#key = key;
    this.registryKey = registryKey;
    this.#sink = sink;
    this.#id = id;
    this.#sent = after;
  }

  /** Sends what is recorded after `after`, then follows the run until it ends. */
  start(): void {
    this.#readSoon(0);
  }

  /** The client takes `n` more: reading goes on if it waited for them. */
  credit(n: number, _read: number): void {
    this.#limit += n;
    if (!this.#starved || n === 0) return;
    this.#starved = false;
    this.#readSoon(0);
  }

  /** The client cancelled, or acknowledged the end: the record goes once the client has it all. */
  stop(_reason: RpcError): void {
    if (this.#stopped) return;
    this.#halt();
    if (this.#ended) this.#store.release(this.#key).catch(() => {});
  }

  /** Its connection closed: nothing more is read for it (the client resumes wherever it lands). */
  detach(_sink: StreamSink): void {
    this.#halt();
  }

  async #read(): Promise<void> {
    if (this.#stopped) return;
    const room = this.#limit - this.#sent;
    if (room <= 0) {
      this.#starved = true;
      return;
    }
    const record = await this.#store.read(this.#key, this.#sent, room);
    if (this.#stopped) return;
    const after = this.#sent;
    if (record === undefined || (record.chunks[0]?.seq ?? after + 1) > after + 1) {
      this.#fail(new RpcError('STREAM_LOST', `chunks after ${after} are no longer kept`, { reason: 'expired', after }));
      return;
    }
    for (const { seq, body: recorded } of record.chunks) {
      const { body, parts } = bodyOfRecord(recorded);
      this.#sink.send(streamReplyText('chunk', this.#id, body), parts);
      this.#sent = seq;
    }
    // More recorded than one read brought: read on (as credit allows) before any end.
    if (this.#sent < record.last) {
      this.#readSoon(0);
      return;
    }
    if (record.final !== undefined) {
      this.#ended = true;
      const { body, parts } = bodyOfRecord(record.final.body);
      this.#sink.send(streamReplyText(record.final.type, this.#id, body), parts);
      return;
    }
    if (!record.running) {
      const data = { reason: 'process', after: this.#sent };
      this.#fail(new RpcError('STREAM_LOST', 'the process running this stream is gone before its end', data));
      return;
    }
    this.#readSoon(POLL_MS);
  }

  #readSoon(delayMs: number): void {
    const read = () => {
      this.#read().catch((error: unknown) => {
        this.#fail(new RpcError('UNAVAILABLE', 'the stream store is unreachable', undefined, { cause: error }));
      });
    };
    if (delayMs === 0) read();
    else this.#timer = setTimeout(read, delayMs);
  }

  #fail(error: RpcError): void {
    if (this.#stopped) return;
    this.#halt();
    this.#sink.send(streamReplyText('error', this.#id, errorBody(error.toWire())));
    this.#sink.forget(this.#id, this);
  }

  #halt(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
