// The sending half of a socket (ws calls it the Sender): frames leave in the order they were
// sent, a compressed message holding back the frames behind it until it is ready; frames
// written in one tick leave in one write; and a peer that does not read cannot make us
// hold more than maxBufferedBytes.
import type { Socket } from 'node:net';
import { Deque } from '../deque.js';
import { OPCODES } from './constants.js';
import { COPY_THRESHOLD_BYTES, encodeFrame, encodeHeader } from './frame-writer.js';
import type { PerMessageDeflate } from './permessage-deflate.js';

/** Called once the data is written to the TCP socket, or with the error that stopped it. */
export type SendCallback = (error?: Error | null) => void;

/** The socket a sender writes for (an object, not a closure: an idle connection stays small). */
export interface SenderHost {
  /** A write would pass maxBufferedBytes: the socket reports and terminates. */
  overflowed(): void;
}

/** A frame waiting behind a message that is still being compressed. */
interface PendingFrame {
  /** ENCODED for a frame that arrived already encoded. */
  opcode: number;
  payload: Buffer;
  rsv1: boolean;
  callback: SendCallback | undefined;
  /** False while the payload is still being compressed. */
  ready: boolean;
}

/** PendingFrame.opcode of a frame handed over already encoded. */
const ENCODED = -1;
/** PendingFrame.opcode of a frame whose compression failed: nothing is written for it. */
const FAILED = -2;
const EMPTY = Buffer.alloc(0);

/** Small parts (and our own header) as one new buffer; the header alone as it is. */
function joined(copied: readonly Uint8Array[], header: Buffer): Uint8Array {
  return copied.length === 1 && copied[0] === header ? header : Buffer.concat(copied);
}

function uncork(sender: FrameSender): void {
  sender.uncorkNow();
}

export class FrameSender {
  readonly #tcp: Socket;
  readonly #maxBufferedBytes: number;
  readonly #host: SenderHost;
  /** Frames queue here only while a compressed message ahead of them is being produced. */
  /** Made with the first compressed frame (most connections never compress one). */
  #pending: Deque<PendingFrame> | undefined;
  #endAfterPending = false;
  #corked = false;
  /** Inside beginBatch/endBatch: a cork is undone by endBatch, with no tick scheduled. */
  #batching = false;
  #closed = false;
  /** Inside a write to the socket: a peer that is no TCP socket may answer within it (see `writing`). */
  #depth = 0;
  /** Our Close frame has been written (not merely queued behind a compression). */
  closeFrameSent = false;

  constructor(tcp: Socket, maxBufferedBytes: number, host: SenderHost) {
    this.#tcp = tcp;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#host = host;
  }

  /** Bytes accepted and not yet handed to the kernel. */
  get bufferedAmount(): number {
    let pending = 0;
    for (const frame of this.#pending ?? []) pending += frame.payload.length;
    return this.#tcp.writableLength + pending;
  }

  /** Whether a frame sent now would go out at once (nothing waits on a compression). */
  get idle(): boolean {
    return this.#pending === undefined || this.#pending.length === 0;
  }

  /**
   * Inside one of our writes. A Duplex (handed over by handleUpgrade) may deliver the
   * peer's answer synchronously within it; the socket reads that on the next tick.
   */
  get writing(): boolean {
    return this.#depth > 0;
  }

  /** Ends the socket once what is written has gone (a Duplex may answer within it). */
  #end(): void {
    this.#depth++;
    try {
      this.#tcp.end();
    } finally {
      this.#depth--;
    }
  }

  /** Queues a frame in order. */
  send(opcode: number, payload: Buffer, rsv1: boolean, callback: SendCallback | undefined): void {
    if (!this.idle) {
      this.#pending?.push({ opcode, payload, rsv1, callback, ready: true });
      return;
    }
    this.sendNow(opcode, payload, rsv1, callback);
  }

  /**
   * Queues a frame already encoded (unmasked). False once the TCP socket holds more than
   * Node's high-water mark, as `Writable.write` returns.
   */
  sendEncoded(frame: Buffer, callback: SendCallback | undefined): boolean {
    if (!this.idle) {
      this.#pending?.push({ opcode: ENCODED, payload: frame, rsv1: false, callback, ready: true });
      return false;
    }
    return this.#write(frame, callback);
  }

  /** Compresses `payload` and queues it as one frame; frames sent meanwhile wait behind it. */
  sendCompressed(
    deflate: PerMessageDeflate,
    opcode: number,
    payload: Buffer,
    callback: SendCallback | undefined,
  ): void {
    const slot: PendingFrame = { opcode, payload, rsv1: true, callback, ready: false };
    this.#pending ??= new Deque();
    this.#pending.push(slot);
    deflate.compress(payload, (error, compressed) => {
      if (error || compressed === undefined) {
        slot.opcode = FAILED;
        slot.payload = EMPTY;
        callback?.(error ?? new Error('compression failed'));
      } else slot.payload = compressed;
      slot.ready = true;
      this.#flushPending();
    });
  }

  /** Writes a frame ahead of anything waiting (failing the connection: its Close goes now). */
  sendNow(opcode: number, payload: Buffer, rsv1: boolean, callback: SendCallback | undefined): void {
    if (opcode === OPCODES.close) this.closeFrameSent = true;
    if (payload.length <= COPY_THRESHOLD_BYTES) {
      this.#write(encodeFrame(opcode, payload, rsv1), callback);
      return;
    }
    if (!this.#mayQueue(payload.length, callback)) return;
    this.#cork();
    this.#depth++;
    try {
      this.#tcp.write(encodeHeader(opcode, payload.length, rsv1));
      this.#tcp.write(payload, callback);
    } finally {
      this.#depth--;
    }
  }

  /**
   * Writes one frame whose payload is `parts` joined, without joining them: runs of parts of
   * up to COPY_THRESHOLD_BYTES are copied into one buffer (the first with the header), bigger
   * parts are handed to the socket as they are. A message of big byte values costs no copy.
   */
  sendGathered(opcode: number, parts: readonly Uint8Array[], callback: SendCallback | undefined): void {
    let length = 0;
    for (const part of parts) length += part.byteLength;
    if (!this.idle) {
      this.send(opcode, Buffer.concat(parts, length), false, callback);
      return;
    }
    if (!this.#mayQueue(length, callback)) return;
    this.#cork();
    this.#depth++;
    try {
      const header = encodeHeader(opcode, length);
      // Small parts are copied into one buffer (with the header, when they lead), never handed over.
      let copied: Uint8Array[] = [header];
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i] as Uint8Array;
        if (part.byteLength <= COPY_THRESHOLD_BYTES) {
          copied.push(part);
          continue;
        }
        if (copied.length > 0) this.#tcp.write(joined(copied, header));
        copied = [];
        // The callback rides on the last write: it runs once the whole frame is written.
        this.#tcp.write(part, i === parts.length - 1 ? callback : undefined);
      }
      if (copied.length > 0) this.#tcp.write(joined(copied, header), callback);
    } finally {
      this.#depth--;
    }
  }

  /** Ends TCP once the frames waiting behind a compression have been written. */
  endWhenFlushed(): void {
    if (this.idle) this.#end();
    else this.#endAfterPending = true;
  }

  /** Fails every frame still waiting; with `closed`, nothing is written any more. */
  drop(error: Error, closed: boolean): void {
    this.#closed ||= closed;
    for (const frame of this.#pending?.drain() ?? []) if (frame.opcode !== FAILED) frame.callback?.(error);
  }

  /**
   * Frames written until endBatch() leave together at its call (the replies to one TCP
   * read): no tick is scheduled to uncork, which a reply per read would pay for each time.
   */
  beginBatch(): void {
    this.#batching = true;
  }

  endBatch(): void {
    this.#batching = false;
    if (this.#corked) this.uncorkNow();
  }

  /** @internal Frames written in one tick leave in one write (writev) on the next. */
  uncorkNow(): void {
    this.#corked = false;
    this.#depth++;
    try {
      this.#tcp.uncork();
    } finally {
      this.#depth--;
    }
  }

  #flushPending(): void {
    const pending = this.#pending as Deque<PendingFrame>;
    while (pending.peek()?.ready === true) {
      const frame = pending.shift() as PendingFrame;
      if (frame.opcode === FAILED) continue;
      if (frame.opcode === ENCODED) this.#write(frame.payload, frame.callback);
      else this.sendNow(frame.opcode, frame.payload, frame.rsv1, frame.callback);
    }
    if (pending.length === 0 && this.#endAfterPending) this.#end();
  }

  #write(frame: Buffer, callback: SendCallback | undefined): boolean {
    if (!this.#mayQueue(frame.length, callback)) return true;
    this.#cork();
    this.#depth++;
    try {
      return this.#tcp.write(frame, callback);
    } finally {
      this.#depth--;
    }
  }

  /** One message larger than the cap may still be sent into an empty buffer. */
  #mayQueue(bytes: number, callback: SendCallback | undefined): boolean {
    if (this.#closed) {
      callback?.(new Error('the WebSocket is closed'));
      return false;
    }
    const queued = this.#tcp.writableLength;
    if (queued > 0 && queued + bytes > this.#maxBufferedBytes) {
      this.#host.overflowed();
      callback?.(new Error('send buffer full: the connection was terminated'));
      return false;
    }
    return true;
  }

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#tcp.cork();
    if (!this.#batching) process.nextTick(uncork, this);
  }
}
