/**
 * Bytes a peer delivered while we were writing to it. A TCP socket never does that (its
 * data comes in its own I/O callback); a Duplex handed over by `handleUpgrade` may answer
 * synchronously, inside our write, and reading it there would run the socket re-entrantly
 * (a Close answered before ours is fully sent). Kept in order and read on the next tick,
 * with the end of the stream after them. Made only for such a peer.
 */
export class DeferredReads {
  #chunks: Buffer[] | undefined;
  #ended = false;
  readonly #read: (chunk: Buffer) => void;
  readonly #end: () => void;

  constructor(read: (chunk: Buffer) => void, end: () => void) {
    this.#read = read;
    this.#end = end;
  }

  /** Chunks wait: later ones queue behind them. */
  get pending(): boolean {
    return this.#chunks !== undefined;
  }

  push(chunk: Buffer): void {
    if (this.#chunks !== undefined) {
      this.#chunks.push(chunk);
      return;
    }
    this.#chunks = [chunk];
    process.nextTick(() => this.#drain());
  }

  /** The peer's end arrived behind waiting chunks: it is handled after them. */
  endAfter(): void {
    this.#ended = true;
  }

  /**
   * Reads the chunks in place: one that reading makes us write, and that the peer answers
   * inside that write, queues behind those still waiting (never ahead of them).
   */
  #drain(): void {
    const chunks = this.#chunks as Buffer[];
    try {
      for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) this.#read(chunk);
    } finally {
      if (chunks.length > 0) process.nextTick(() => this.#drain());
      else this.#chunks = undefined;
    }
    if (this.#ended && this.#chunks === undefined) {
      this.#ended = false;
      this.#end();
    }
  }
}
