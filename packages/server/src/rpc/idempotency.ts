import type { WireError } from '@switchboard/contract';

/** How a call ended, kept so that a re-sent call gets the same answer. */
export type Outcome = { ok: true; output: unknown; meta: unknown } | { ok: false; error: WireError };

/** A remembered call: what it was (to spot a reused key) and, once ended, its outcome. */
export interface KeyEntry {
  readonly key: string;
  readonly name: string;
  readonly input: unknown;
  readonly meta: unknown;
  /** Undefined while the call runs. */
  outcome: Outcome | undefined;
  waiters: Array<(outcome: Outcome) => void> | undefined;
  expiresAtMs: number;
  /** Dropped from the window (evicted, expired or replaced). */
  dropped: boolean;
}

/** Entries consumed from the front of the order before it is compacted. */
const COMPACT_AFTER = 1024;
/** Expired outcomes are swept at most this often. */
const SWEEP_EVERY_MS = 1_000;

/** Is `entry` the same call as (name, input, meta)? Only computed when a key comes back. */
export function isSameCall(entry: KeyEntry, name: string, input: unknown, meta: unknown): boolean {
  return (
    entry.name === name &&
    JSON.stringify(entry.input) === JSON.stringify(input) &&
    JSON.stringify(entry.meta) === JSON.stringify(meta)
  );
}

/**
 * Recent idempotency keys and what their calls returned, bounded by count and age.
 * Within the window a key runs its handler once: a repeat waits for the running call or
 * gets the stored outcome; the same key with other input is a conflict. Outside the
 * window (evicted or expired) a repeat runs again.
 *
 * Lookups go through a Map; age and eviction go through an array in arrival order, read
 * from a moving head (a Map used as a queue slows down as deleted slots pile up in front).
 * The common call costs one Map lookup, one insert and one entry.
 */
export class IdempotencyWindow {
  readonly #entries = new Map<string, KeyEntry>();
  #order: KeyEntry[] = [];
  #head = 0;
  #sweptAtMs = 0;
  readonly #maxKeys: number;
  readonly #ttlMs: number;

  constructor(maxKeys: number, ttlMs: number) {
    this.#maxKeys = maxKeys;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The entry already holding `key` (a repeat), or undefined after recording a new
   * running call under it: then `lastCreated` is that call's entry, for finish().
   */
  claim(key: string, name: string, input: unknown, meta: unknown, nowMs: number): KeyEntry | undefined {
    if (nowMs - this.#sweptAtMs >= SWEEP_EVERY_MS) this.#sweep(nowMs);
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      if (existing.expiresAtMs > nowMs) return existing;
      existing.dropped = true; // expired, not swept yet
    }
    const entry: KeyEntry = {
      key,
      name,
      input,
      meta,
      outcome: undefined,
      waiters: undefined,
      expiresAtMs: Number.POSITIVE_INFINITY,
      dropped: false,
    };
    this.#entries.set(key, entry);
    this.#order.push(entry);
    this.lastCreated = entry;
    while (this.#entries.size > this.#maxKeys && this.#head < this.#order.length) this.#dropOldest();
    return undefined;
  }

  /** The entry made by the last claim() that returned undefined. */
  lastCreated: KeyEntry | undefined;

  /** Records how the call under `entry` ended and answers everyone waiting on it. */
  finish(entry: KeyEntry, outcome: Outcome, nowMs: number): void {
    if (entry.outcome !== undefined) return;
    entry.outcome = outcome;
    entry.expiresAtMs = nowMs + this.#ttlMs;
    // Queued again by its expiry: the slot it had while running has been (or will be) skipped.
    if (!entry.dropped) this.#order.push(entry);
    const waiters = entry.waiters;
    entry.waiters = undefined;
    if (waiters !== undefined) for (const waiter of waiters) waiter(outcome);
  }

  /** Calls `waiter` with the outcome of the running call under `entry`. */
  wait(entry: KeyEntry, waiter: (outcome: Outcome) => void): void {
    if (entry.outcome !== undefined) {
      waiter(entry.outcome);
      return;
    }
    entry.waiters ??= [];
    entry.waiters.push(waiter);
  }

  /**
   * Drops expired outcomes from the oldest end, stopping at the first live one. A call
   * still running is passed over (it is queued again when it finishes), so one hung
   * call cannot hold back the sweep.
   */
  #sweep(nowMs: number): void {
    this.#sweptAtMs = nowMs;
    while (this.#head < this.#order.length) {
      const entry = this.#order[this.#head] as KeyEntry;
      if (!entry.dropped && entry.outcome !== undefined && entry.expiresAtMs > nowMs) return;
      this.#dropOldest();
    }
  }

  /** Takes the oldest slot: drops its entry, unless that call is still running (see finish). */
  #dropOldest(): void {
    const entry = this.#order[this.#head++];
    if (entry !== undefined && !entry.dropped && entry.outcome !== undefined) {
      entry.dropped = true;
      this.#entries.delete(entry.key);
    }
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}
