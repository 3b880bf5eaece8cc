import type { WireError } from '@switchboard/contract';

/** How a call ended, kept so that a re-sent call gets the same answer. */
export type Outcome = { ok: true; output: unknown; meta: unknown } | { ok: false; error: WireError };

/** What identifies a call's content: compared only when a key comes back. */
export type Fingerprint = () => string;

type Entry =
  | { state: 'running'; fingerprint: Fingerprint; waiters: Array<(outcome: Outcome) => void> }
  | { state: 'done'; fingerprint: Fingerprint; outcome: Outcome; expiresAtMs: number };

export type Lookup =
  | { kind: 'new' }
  | { kind: 'conflict' }
  | { kind: 'running'; wait: (waiter: (outcome: Outcome) => void) => void }
  | { kind: 'done'; outcome: Outcome };

/**
 * Recent idempotency keys and what their calls returned, bounded by count and age.
 * Within the window a key runs its handler once: a repeat waits for the running call or
 * gets the stored outcome; the same key with other input is a conflict. Outside the
 * window (evicted or expired) a repeat runs again.
 */
export class IdempotencyWindow {
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #ttlMs: number;

  constructor(maxKeys: number, ttlMs: number) {
    this.#maxKeys = maxKeys;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Looks `key` up; a new key is recorded as running. */
  begin(key: string, fingerprint: Fingerprint, nowMs: number): Lookup {
    this.#expire(nowMs);
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#entries.set(key, { state: 'running', fingerprint, waiters: [] });
      while (this.#entries.size > this.#maxKeys) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      }
      return { kind: 'new' };
    }
    if (entry.fingerprint() !== fingerprint()) return { kind: 'conflict' };
    if (entry.state === 'done') return { kind: 'done', outcome: entry.outcome };
    return { kind: 'running', wait: (waiter) => entry.waiters.push(waiter) };
  }

  /** Records how the call for `key` ended and answers everyone waiting on it. */
  finish(key: string, outcome: Outcome, nowMs: number): void {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.state !== 'running') return;
    // Re-inserted so that the map stays ordered by expiry.
    this.#entries.delete(key);
    this.#entries.set(key, {
      state: 'done',
      fingerprint: entry.fingerprint,
      outcome,
      expiresAtMs: nowMs + this.#ttlMs,
    });
    for (const waiter of entry.waiters) waiter(outcome);
  }

  /**
   * Drops expired outcomes from the oldest end, stopping at the first entry that is not
   * expired (or still running): constant time per call in the common case.
   */
  #expire(nowMs: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.state === 'running' || entry.expiresAtMs > nowMs) break;
      this.#entries.delete(key);
    }
  }
}
