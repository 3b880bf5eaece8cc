// Message assembly for a socket: the payload pieces of the message being received, kept
// with as little copying and pinned memory as the pieces allow.

/** The pieces of an assembly holding none: shared, and frozen so nothing is put in it. */
const NO_PARTS: Buffer[] = Object.freeze([]) as unknown as Buffer[];

/** Pieces at least this large are kept as views of what they arrived in. */
const VIEW_BYTES = 16 * 1024;

/**
 * The pieces of one message on its way in. The first piece stays a view (a one-piece
 * message is never copied); later small pieces are copied into a scratch buffer, so that
 * thousands of tiny fragments neither pin their TCP chunks nor cost a Buffer each, and
 * what an unfinished message holds stays near its size (never a read buffer, or a mostly
 * empty scratch buffer, per piece).
 */
export class MessageAssembly {
  readonly #maxPayloadBytes: number;
  #firstPart: Buffer | undefined;
  #parts: Buffer[] = NO_PARTS;
  #scratch: Buffer | undefined;
  #scratchUsed = 0;
  #messageBytes = 0;

  constructor(maxPayloadBytes: number) {
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /** Nothing of the current message is kept yet. */
  get empty(): boolean {
    return this.#firstPart === undefined && this.#parts.length === 0 && this.#scratchUsed === 0;
  }

  /** Lets go of an unfinished message (the connection closed). */
  clear(): void {
    this.#firstPart = undefined;
    this.#parts = NO_PARTS;
    this.#scratch = undefined;
    this.#scratchUsed = 0;
    this.#messageBytes = 0;
  }

  /** Keeps a payload piece of the message. */
  keep(chunk: Buffer): void {
    this.#messageBytes += chunk.length;
    if (this.#firstPart === undefined && this.#parts.length === 0 && this.#scratchUsed === 0) {
      this.#firstPart = chunk;
      return;
    }
    if (this.#firstPart !== undefined) {
      const first = this.#firstPart;
      this.#firstPart = undefined;
      this.#store(first);
    }
    this.#store(chunk);
  }

  #store(chunk: Buffer): void {
    // A big piece is kept as a view, unless the read buffer it lies in is more than twice its
    // size: a peer sending 16 KiB fragments one read at a time would otherwise pin 64 KiB each.
    if (chunk.length >= VIEW_BYTES && chunk.buffer.byteLength <= 2 * chunk.length) {
      this.#flushScratch();
      this.#partsToFill().push(chunk);
      return;
    }
    let scratch = this.#scratch;
    if (scratch === undefined || scratch.length - this.#scratchUsed < chunk.length) {
      this.#flushScratch();
      const size = Math.min(Math.max(VIEW_BYTES, chunk.length, this.#messageBytes), this.#maxPayloadBytes);
      scratch = Buffer.allocUnsafe(Math.max(size, chunk.length));
      this.#scratch = scratch;
    }
    chunk.copy(scratch, this.#scratchUsed);
    this.#scratchUsed += chunk.length;
  }

  #flushScratch(): void {
    if (this.#scratch !== undefined && this.#scratchUsed > 0) {
      const used = this.#scratch.subarray(0, this.#scratchUsed);
      // A scratch buffer mostly empty is copied out, not kept whole: pieces that alternate
      // big and small would otherwise pin a new message-sized buffer per small one.
      this.#partsToFill().push(this.#scratchUsed * 2 >= this.#scratch.length ? used : Buffer.from(used));
    }
    this.#scratch = undefined;
    this.#scratchUsed = 0;
  }

  /** The message's pieces, in order; the assembly is empty again after. */
  take(): Buffer[] {
    this.#messageBytes = 0;
    let parts: Buffer[];
    if (this.#firstPart !== undefined) {
      parts = [this.#firstPart];
      this.#firstPart = undefined;
    } else {
      this.#flushScratch();
      parts = this.#parts;
      this.#parts = NO_PARTS;
    }
    return parts;
  }

  /** The pieces to add to: made when a message first has more than one. */
  #partsToFill(): Buffer[] {
    if (this.#parts === NO_PARTS) this.#parts = [];
    return this.#parts;
  }
}
