import {
  type AnyStreamOutput,
  chunkBody,
  encodeValue,
  endBody,
  errorBody,
  type RequestId,
  RpcError,
  streamReplyText,
  toRpcError,
} from '@switchboard/contract';
import { Deque } from '../deque.js';
import { ownParts } from './binary-buffer.js';
import type { CallSignal } from './call-signal.js';
import { checkProduced, isPromiseLike } from './peer-link.js';
import type { FollowedStream, StreamBounds, StreamBudget, StreamSink } from './stream-sink.js';
import type { StreamRecorder } from './stream-store.js';

// One run of a streaming procedure, from its handler's first chunk until it is released:
//
//   handler's iterator ─▶ pump: pulls only while credit, kept chunks and the budget allow
//        ─▶ chunk schema ─▶ kept (numbered from 1) ─▶ sent to the attached connection, if any
//   end / error ─▶ kept as the final envelope, sent after the last chunk
//
// The run outlives its connection: detached, it waits (its pump paused once its credit is
// used) for a resume that attaches another connection and sends what the client lacks,
// for at most streamIdleMs. It is released by the client (cancel, or its acknowledgement
// after the end), by that deadline, or by the server closing.

/** A chunk kept until the client says it has it: the envelope's text after its id. */
interface Kept {
  readonly seq: number;
  readonly body: string;
  /** Its byte values (the envelope then goes as a binary message), if any. */
  readonly parts: Uint8Array[] | undefined;
  /** Its size, as the budget counts it (UTF-16 code units: an upper bound on memory per char ÷ 2). */
  readonly bytes: number;
}

export class RunningStream implements FollowedStream {
  /** The key it is found by for a resume: its caller's scope and its idempotency key. */
  readonly registryKey: string;
  /** Hash of its name and input: a re-send with the same key and another call is a CONFLICT. */
  readonly hash: number;
  readonly name: string;
  readonly #call: CallSignal;
  readonly #output: AnyStreamOutput;
  readonly #bounds: StreamBounds;
  readonly #report: (error: unknown) => void;
  readonly #released: (run: RunningStream, abandoned: boolean) => void;
  #iterator: AsyncIterator<unknown, unknown> | undefined;
  /** The last chunk made. */
  #seq = 0;
  /** The handler is pulled while #seq is below this: the client's `after` plus its credits. */
  #limit = 0;
  readonly #kept = new Deque<Kept>();
  #keptBytes = 0;
  /** The end or error, once the handler finished: `[type, body]`. */
  #final: [type: 'end' | 'error', body: string, parts: Uint8Array[] | undefined] | undefined;
  /** The final envelope may go out: it is recorded (with a store), or there is no store. */
  #finalReady = false;
  /** Records the chunks in a shared store before they are sent, when the server has one. */
  #recorder: StreamRecorder | undefined;
  #sink: StreamSink | undefined;
  #id: RequestId = 0;
  #budget: StreamBudget;
  #wake: (() => void) | undefined;
  #idle: NodeJS.Timeout | undefined;
  #done = false;
  /** Stopped because nobody resumed it. */
  #abandoned = false;
  /** The handler returned or threw: nothing is left to abort. */
  #handlerDone = false;
  /** Wakes the pump when the connection's budget has room: one per run, so the budget's set holds it once. */
  readonly #onRoom = () => this.#wakeUp();

  constructor(
    registryKey: string,
    hash: number,
    name: string,
    output: AnyStreamOutput,
    call: CallSignal,
    budget: StreamBudget,
    bounds: StreamBounds,
    report: (error: unknown) => void,
    released: (run: RunningStream, abandoned: boolean) => void,
  ) {
    this.registryKey = registryKey;
    this.hash = hash;
    this.name = name;
    this.#output = output;
    this.#call = call;
    this.#budget = budget;
    this.#bounds = bounds;
    this.#report = report;
    this.#released = released;
  }

  /** Whether the run was released (its handler stopped or finished, nothing kept). */
  get released(): boolean {
    return this.#done;
  }

  /** The last chunk made (and sent, to a connection that follows it). */
  get seq(): number {
    return this.#seq;
  }

  /** From now on, chunks and the end are recorded in `recorder` before they are sent. */
  record(recorder: StreamRecorder): void {
    this.#recorder = recorder;
  }

  /** Runs the handler (what it returned: an async iterable or iterator) and pumps its chunks. */
  start(produced: unknown): void {
    try {
      this.#iterator = iteratorOf(produced);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.#pump().catch((error: unknown) => this.#report(error));
  }

  /**
   * A connection follows the run from `after` (the client has every chunk up to it) and
   * takes `credit` more: the kept chunks after `after` go at once, then the final envelope
   * if there is one. Another connection that followed it forgets it.
   */
  attach(sink: StreamSink, id: RequestId, after: number, credit: number): RpcError | undefined {
    if (after > this.#seq) return new RpcError('BAD_REQUEST', `after ${after} is past the last chunk (${this.#seq})`);
    this.#drop(after);
    const oldest = this.#kept.peek()?.seq ?? this.#seq + 1;
    if (oldest > after + 1) {
      return new RpcError('STREAM_LOST', `chunks after ${after} are no longer kept`, { reason: 'expired', after });
    }
    const previous = this.#sink;
    if (previous !== undefined && (previous !== sink || this.#id !== id)) previous.forget(this.#id, this);
    clearTimeout(this.#idle);
    this.#idle = undefined;
    if (sink.budget !== this.#budget) {
      this.#budget.release(this.#keptBytes);
      this.#budget = sink.budget;
      this.#budget.add(this.#keptBytes);
    }
    this.#sink = sink;
    this.#id = id;
    this.#limit = after + credit;
    for (let i = 0; i < this.#kept.length; i++) {
      const kept = this.#kept.at(i) as Kept;
      sink.send(streamReplyText('chunk', id, kept.body), kept.parts);
    }
    const final = this.#final;
    if (final !== undefined && this.#finalReady) sink.send(streamReplyText(final[0], id, final[1]), final[2]);
    this.#wakeUp();
    return undefined;
  }

  /** The client takes `n` more chunks and has every one up to `read`. */
  credit(n: number, read: number): void {
    this.#limit += n;
    this.#drop(Math.min(read, this.#seq));
    this.#wakeUp();
  }

  /** The connection that followed the run closed: it waits streamIdleMs for a resume. */
  detach(sink: StreamSink): void {
    if (this.#sink !== sink || this.#done) return;
    this.#sink = undefined;
    this.#idle = setTimeout(
      () => this.abandon(`nobody resumed the stream within ${this.#bounds.streamIdleMs} ms`),
      this.#bounds.streamIdleMs,
    );
    this.#idle.unref();
  }

  /** Nobody resumed it (in time, or before the process needed the room): stopped, its key kept. */
  abandon(why: string): void {
    this.#abandoned = true;
    this.stop(new RpcError('UNAVAILABLE', why));
  }

  /**
   * Ends the run now: the handler's signal aborts with `reason` (unless it finished), and
   * everything kept is freed. Told to its connection with `tell` (the server closing).
   */
  stop(reason: RpcError, tell = false): void {
    if (this.#done) return;
    if (tell && this.#final === undefined && this.#sink !== undefined) {
      this.#sink.send(streamReplyText('error', this.#id, errorBody(reason.toWire())));
    }
    this.#done = true;
    clearTimeout(this.#idle);
    this.#closeRecord(reason);
    this.#drop(Number.POSITIVE_INFINITY);
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.forget(this.#id, this);
    this.#stopHandler(reason);
    this.#wakeUp();
    this.#released(this, this.#abandoned);
  }

  /** The handler is still running (a chunk failed, the run stopped): its signal aborts, a generator paused at `yield` ends. */
  #stopHandler(reason: RpcError): void {
    if (this.#handlerDone) return;
    this.#handlerDone = true;
    this.#call.abort(reason);
    // A generator paused at a `yield` finishes its `finally` blocks now.
    this.#iterator?.return?.().catch(() => {});
  }

  async #pump(): Promise<void> {
    const iterator = this.#iterator as AsyncIterator<unknown, unknown>;
    const { streamBufferChunks, maxPayloadBytes } = this.#bounds;
    while (!this.#done) {
      // A run makes at most one chunk beyond the budget: some kept chunk always makes room.
      // And none while its socket holds more than highWaterBytes: it waits for the drain.
      if (
        this.#seq >= this.#limit ||
        this.#kept.length >= streamBufferChunks ||
        (this.#keptBytes > 0 && this.#budget.full) ||
        this.#sink?.congested() === true
      ) {
        await this.#paused();
        continue;
      }
      let step: IteratorResult<unknown, unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        this.#handlerDone = true;
        if (!this.#done) this.fail(error);
        return;
      }
      if (this.#done) return;
      try {
        if (step.done) {
          this.#handlerDone = true;
          this.#end(await this.#checked(this.#output.result, step.value, 'result'));
          return;
        }
        // A synchronous schema (zod's usual case) costs no extra turn of the microtask queue.
        let chunk = this.#checked(this.#output.chunk, step.value, 'chunk');
        if (isPromiseLike(chunk)) {
          chunk = await chunk;
          if (this.#done) return;
        }
        const { json, meta, parts: values } = encodeValue(chunk);
        // Kept for a resume: bytes of their own, not views of more memory than they count for.
        const parts = values === undefined ? undefined : ownParts(values);
        const seq = this.#seq + 1;
        const body = chunkBody(seq, json, meta);
        const partBytes = bytesOf(parts);
        // Each UTF-16 unit is at most 3 UTF-8 bytes: the exact count only for a chunk that could be too big.
        if (
          body.length * 3 + partBytes > maxPayloadBytes &&
          Buffer.byteLength(body) + partBytes + 40 > maxPayloadBytes
        ) {
          throw new RpcError('PAYLOAD_TOO_LARGE', `chunk ${seq} of '${this.name}' is over maxPayloadBytes`);
        }
        if (this.#recorder !== undefined) {
          await this.#recorder.append(seq, body, parts);
          if (this.#done) return;
        }
        this.#seq = seq;
        this.#keep({ seq, body, parts, bytes: body.length * 2 + partBytes });
        this.#sink?.send(streamReplyText('chunk', this.#id, body), parts);
      } catch (error) {
        this.fail(error);
        return;
      }
    }
  }

  #checked(schema: AnyStreamOutput['result'], value: unknown, what: 'chunk' | 'result'): unknown {
    if (schema === undefined) return undefined;
    return checkProduced(schema, value, what, this.name);
  }

  #paused(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (this.#budget.full) this.#budget.wait(this.#onRoom);
      if (this.#sink?.congested() === true) this.#sink.whenDrained(this.#onRoom);
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #keep(kept: Kept): void {
    this.#kept.push(kept);
    this.#keptBytes += kept.bytes;
    this.#budget.add(kept.bytes);
  }

  /** Forgets the kept chunks up to `through`. */
  #drop(through: number): void {
    let freed = 0;
    for (let kept = this.#kept.peek(); kept !== undefined && kept.seq <= through; kept = this.#kept.peek()) {
      this.#kept.shift();
      freed += kept.bytes;
    }
    if (freed === 0) return;
    this.#keptBytes -= freed;
    this.#budget.release(freed);
  }

  #end(result: unknown): void {
    const { json, meta, parts } = encodeValue(result);
    this.#finish('end', endBody(this.#seq, json, meta), parts === undefined ? undefined : ownParts(parts));
  }

  /** The run failed (its handler threw, or its input was refused before it ran): the error is its final envelope. */
  fail(error: unknown): void {
    if (this.#final !== undefined || this.#done) return;
    const rpcError = toRpcError(error);
    if (rpcError !== error) this.#report(error);
    this.#stopHandler(rpcError);
    this.#finish('error', errorBody(rpcError.toWire()));
  }

  #finish(type: 'end' | 'error', body: string, parts?: Uint8Array[]): void {
    this.#final = [type, body, parts];
    if (this.#recorder === undefined) {
      this.#sendFinal();
      return;
    }
    this.#recorder.finish(type, body, parts).then(() => this.#sendFinal());
  }

  #sendFinal(): void {
    this.#finalReady = true;
    const final = this.#final;
    if (this.#done || final === undefined) return;
    this.#sink?.send(streamReplyText(final[0], this.#id, final[1]), final[2]);
  }

  /**
   * The run is released: its record goes when the client has it all (or cancelled it);
   * abandoned or shut down, it stays for another process to answer from.
   */
  #closeRecord(reason: RpcError): void {
    const recorder = this.#recorder;
    if (recorder === undefined) return;
    if (this.#abandoned || reason.code === 'STREAM_LOST') {
      // Nobody resumed it here, or this process is closing: another process answers from the
      // record (what was made, then its end, or this error), never running it again.
      if (this.#final === undefined) recorder.finish('error', errorBody(reason.toWire())).catch(() => {});
      else recorder.stop();
    } else if (this.#final !== undefined || reason.code === 'CANCELLED') {
      recorder.release();
    } else {
      recorder.stop();
    }
  }
}

/** The bytes of a value's byte parts. */
function bytesOf(parts: readonly Uint8Array[] | undefined): number {
  let bytes = 0;
  if (parts !== undefined) for (const part of parts) bytes += part.byteLength;
  return bytes;
}

/** The iterator of what a streaming handler returned: an async iterable, or an async iterator. */
function iteratorOf(produced: unknown): AsyncIterator<unknown, unknown> {
  const iterable = produced as AsyncIterable<unknown> | null;
  if (typeof iterable?.[Symbol.asyncIterator] === 'function') return iterable[Symbol.asyncIterator]();
  if (typeof (produced as Partial<AsyncIterator<unknown>> | null)?.next === 'function') {
    return produced as AsyncIterator<unknown, unknown>;
  }
  throw new TypeError('a streaming handler must be an async generator or return an async iterable');
}
