/** A disconnect() that connections still being admitted must meet once their ctx exists. */
interface Revocation {
  count: number;
  filter: (ctx: unknown) => boolean;
  text: string;
  atMs: number;
}

/** How long a revocation waits for connections whose `context` was running when it was made. */
const KEPT_MS = 60_000;
/** Revocations kept at most (the newest). */
const KEPT_MAX = 1_000;

/**
 * Revocations that reach connections admitted after them: a connection whose `context`
 * was running when `disconnect()` was called (its credentials checked before the revoke)
 * meets the filter once its ctx exists. Kept only while some connection is being admitted,
 * for a minute, the newest 1,000.
 */
export class PendingRevocations {
  #admitting = 0;
  #count = 0;
  #revocations: Revocation[] = [];
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** A connection's admission starts; what it returns goes to `revoked()` once its ctx exists. */
  admitting(): number {
    this.#admitting++;
    return this.#count;
  }

  /** A connection's admission ended (admitted, refused or closed). */
  admitted(): void {
    if (--this.#admitting === 0) this.#revocations = [];
  }

  /** Keeps a revocation for the connections being admitted now; returns the function that takes it back. */
  add(filter: (ctx: unknown) => boolean, text: string): () => void {
    const count = ++this.#count;
    if (this.#admitting === 0) return () => {};
    const atMs = Date.now();
    this.#revocations = this.#revocations.filter((r) => atMs - r.atMs < KEPT_MS).slice(-(KEPT_MAX - 1));
    const revocation = { count, filter, text, atMs };
    this.#revocations.push(revocation);
    return () => {
      this.#revocations = this.#revocations.filter((r) => r !== revocation);
    };
  }

  /** The close reason of a revocation made after `since` (see admitting()) that picks `ctx`, if any. */
  revoked(since: number, ctx: unknown): string | undefined {
    for (const { count, filter, text } of this.#revocations) {
      if (count <= since) continue;
      try {
        if (filter(ctx)) return text;
      } catch (error) {
        this.#onError(error);
      }
    }
    return undefined;
  }
}
