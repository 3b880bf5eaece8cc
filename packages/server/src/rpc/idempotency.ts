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
  /** Dropped from the window (evicted, expired, replaced or acknowledged). */
  dropped: boolean;
  /** For a session key (`<session>.<call id>`): its session and the call id. */
  session: Session | undefined;
  seq: number;
  /** Still on its session's list (taken off when acknowledged, pushed out, or the session ended). */
  listed: boolean;
}

/**
 * One client's keys, when they have the form `<session>.<call id>`. The client tells in
 * each call up to which call id it has every outcome (`ack`): those entries are dropped at
 * once, so a session holds only the calls whose answer may still be lost.
 */
interface Session {
  readonly id: string;
  /** Entries in arrival order (rising call ids), from `head` on. */
  entries: KeyEntry[];
  head: number;
  /** Every call id up to this one has been answered and acknowledged. */
  acked: number;
  seenAtMs: number;
}

/** `<session>.<call id>` → its parts; undefined for any other key. */
function sessionKey(key: string): { session: string; seq: number } | undefined {
  const dot = key.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const seq = Number(key.slice(dot + 1));
  return Number.isSafeInteger(seq) && seq >= 0 ? { session: key.slice(0, dot), seq } : undefined;
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
 * Recent idempotency keys and what their calls returned. Within the window a key runs
 * its handler once: a repeat waits for the running call or gets the stored outcome; the
 * same key with other input is a conflict. Outside the window a repeat runs again.
 *
 * Session keys (`<session>.<call id>`, what our client sends) live until the client
 * acknowledges the outcome (`release`), or their session is silent for ttlMs, or it holds
 * more than maxKeys: an entry usually dies a round trip after it was made. Other keys are
 * bounded by count (maxKeys in all) and age (ttlMs after the call ended).
 *
 * Lookups go through a Map; age and eviction go through arrays in arrival order, read
 * from a moving head (a Map used as a queue slows down as deleted slots pile up in front).
 */
export class IdempotencyWindow {
  readonly #entries = new Map<string, KeyEntry>();
  readonly #sessions = new Map<string, Session>();
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
    const parsed = sessionKey(key);
    const session = parsed === undefined ? undefined : this.#session(parsed.session, nowMs);
    const entry: KeyEntry = {
      key,
      name,
      input,
      meta,
      outcome: undefined,
      waiters: undefined,
      expiresAtMs: Number.POSITIVE_INFINITY,
      dropped: false,
      session,
      seq: parsed?.seq ?? 0,
      listed: session !== undefined,
    };
    this.#entries.set(key, entry);
    this.lastCreated = entry;
    if (session === undefined) {
      this.#order.push(entry);
      while (this.#entries.size > this.#maxKeys && this.#head < this.#order.length) this.#dropOldest();
    } else {
      session.entries.push(entry);
      while (session.entries.length - session.head > this.#maxKeys) this.#shift(session);
    }
    return undefined;
  }

  /** The client whose call has session key `key` has every outcome up to call `through`: forget them. */
  release(key: string, through: number, nowMs: number): void {
    const parsed = sessionKey(key);
    const session = parsed === undefined ? undefined : this.#sessions.get(parsed.session);
    if (session === undefined) return;
    session.seenAtMs = nowMs;
    if (through <= session.acked) return;
    session.acked = through;
    while (session.head < session.entries.length && (session.entries[session.head] as KeyEntry).seq <= through) {
      this.#shift(session);
    }
  }

  #session(id: string, nowMs: number): Session {
    let session = this.#sessions.get(id);
    if (session === undefined) {
      session = { id, entries: [], head: 0, acked: -1, seenAtMs: nowMs };
      this.#sessions.set(id, session);
    }
    session.seenAtMs = nowMs;
    return session;
  }

  /** Takes a session's oldest entry off its list; forgets it unless it is still running (then finish() does). */
  #shift(session: Session): void {
    const entry = session.entries[session.head++] as KeyEntry;
    entry.listed = false;
    if (entry.outcome !== undefined) this.#forget(entry); // else finish() does
    if (session.head >= COMPACT_AFTER && session.head * 2 >= session.entries.length) {
      session.entries = session.entries.slice(session.head);
      session.head = 0;
    }
  }

  #forget(entry: KeyEntry): void {
    if (entry.dropped) return;
    entry.dropped = true;
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }

  /** The entry made by the last claim() that returned undefined. */
  lastCreated: KeyEntry | undefined;

  /** Records how the call under `entry` ended and answers everyone waiting on it. */
  finish(entry: KeyEntry, outcome: Outcome, nowMs: number): void {
    if (entry.outcome !== undefined) return;
    entry.outcome = outcome;
    entry.expiresAtMs = nowMs + this.#ttlMs;
    const { session } = entry;
    if (session !== undefined) {
      // Acknowledged (or pushed out) while it ran: nobody can ask for it again.
      if (!entry.listed) this.#forget(entry);
    } else if (!entry.dropped) {
      // Queued again by its expiry: the slot it had while running has been (or will be) skipped.
      this.#order.push(entry);
    }
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
    for (const session of this.#sessions.values()) {
      if (nowMs - session.seenAtMs < this.#ttlMs) continue;
      // A session silent for ttlMs: its client is gone, or will find its calls run again.
      while (session.head < session.entries.length) this.#shift(session);
      this.#sessions.delete(session.id);
    }
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
