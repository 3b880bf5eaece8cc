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
export interface Session {
  readonly id: string;
  /** Entries in rising call id order, from `head` on. */
  entries: KeyEntry[];
  head: number;
  /** Every call id up to this one has been answered and acknowledged. */
  acked: number;
  seenAtMs: number;
  /** Swept away: a connection's hint to it is stale. */
  ended: boolean;
}

/** A connection's last session: most connections carry one client's calls, found without a lookup. */
export interface SessionHint {
  session: Session | undefined;
}

const DOT = 46;

/** The call id after `start` in a session key (digits to the end), or -1. Allocates nothing. */
function parseSeq(key: string, start: number): number {
  if (start >= key.length || key.length - start > 15) return -1;
  let seq = 0;
  for (let i = start; i < key.length; i++) {
    const digit = key.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    seq = seq * 10 + digit;
  }
  return seq;
}

/** The index in `session.entries` (from head) of the first entry whose seq is ≥ `seq`. */
function seqIndex(session: Session, seq: number): number {
  let low = session.head;
  let high = session.entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((session.entries[mid] as KeyEntry).seq < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}

function newEntry(
  key: string,
  name: string,
  input: unknown,
  meta: unknown,
  session: Session | undefined,
  seq: number,
): KeyEntry {
  return {
    key,
    name,
    input,
    meta,
    outcome: undefined,
    waiters: undefined,
    expiresAtMs: Number.POSITIVE_INFINITY,
    dropped: false,
    session,
    seq,
    listed: session !== undefined,
  };
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
 * A session's entries sit in one array in call id order (found by binary search, dropped
 * from a moving head), so the common call costs no Map operation and no string slicing.
 * Other keys go through a Map, with age and eviction through an array in arrival order
 * (a Map used as a queue slows down as deleted slots pile up in front).
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

  /** Outcomes and running calls held. */
  get size(): number {
    let size = this.#entries.size;
    for (const session of this.#sessions.values()) size += session.entries.length - session.head;
    return size;
  }

  /**
   * The entry already holding `key` (a repeat), or undefined after recording a new
   * running call under it: then `lastCreated` is that call's entry, for finish().
   */
  claim(
    key: string,
    name: string,
    input: unknown,
    meta: unknown,
    nowMs: number,
    hint?: SessionHint,
  ): KeyEntry | undefined {
    if (nowMs - this.#sweptAtMs >= SWEEP_EVERY_MS) this.#sweep(nowMs);
    const session = this.#sessionOf(key, nowMs, true, hint);
    if (session !== undefined) return this.#claimInSession(session, this.#seq, key, name, input, meta);
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      if (existing.expiresAtMs > nowMs) return existing;
      existing.dropped = true; // expired, not swept yet
    }
    const entry = newEntry(key, name, input, meta, undefined, 0);
    this.#entries.set(key, entry);
    this.lastCreated = entry;
    this.#order.push(entry);
    while (this.#entries.size > this.#maxKeys && this.#head < this.#order.length) this.#dropOldest();
    return undefined;
  }

  #claimInSession(
    session: Session,
    seq: number,
    key: string,
    name: string,
    input: unknown,
    meta: unknown,
  ): KeyEntry | undefined {
    const { entries } = session;
    const last = entries[entries.length - 1];
    let at = entries.length;
    // New calls come in rising order: the search is only for a repeat, or a late re-send.
    if (last !== undefined && last.seq >= seq && entries.length > session.head) {
      at = seqIndex(session, seq);
      const found = entries[at];
      if (found !== undefined && found.seq === seq) return found;
    }
    const entry = newEntry(key, name, input, meta, session, seq);
    if (at === entries.length) entries.push(entry);
    else entries.splice(at, 0, entry);
    this.lastCreated = entry;
    while (entries.length - session.head > this.#maxKeys) this.#shift(session);
    return undefined;
  }

  /** The client whose call has session key `key` has every outcome up to call `through`: forget them. */
  release(key: string, through: number, nowMs: number, hint?: SessionHint): void {
    const session = this.#sessionOf(key, nowMs, false, hint);
    if (session === undefined || through <= session.acked) return;
    session.acked = through;
    while (session.head < session.entries.length && (session.entries[session.head] as KeyEntry).seq <= through) {
      this.#shift(session);
    }
  }

  /** Call id of the key #sessionOf() last read. */
  #seq = 0;

  /** The session of a `<session>.<call id>` key (its call id in #seq), made if `create`; else undefined. */
  #sessionOf(key: string, nowMs: number, create: boolean, hint: SessionHint | undefined): Session | undefined {
    let session = hint?.session;
    let dot: number;
    if (
      session !== undefined &&
      key.charCodeAt(session.id.length) === DOT &&
      key.startsWith(session.id) &&
      !session.ended
    ) {
      dot = session.id.length;
    } else {
      session = undefined;
      dot = key.lastIndexOf('.');
      if (dot <= 0) return undefined;
    }
    const seq = parseSeq(key, dot + 1);
    if (seq < 0) return undefined;
    if (session === undefined) {
      const id = key.slice(0, dot);
      session = this.#sessions.get(id);
      if (session === undefined) {
        if (!create) return undefined;
        session = { id, entries: [], head: 0, acked: -1, seenAtMs: nowMs, ended: false };
        this.#sessions.set(id, session);
      }
      if (hint !== undefined) hint.session = session;
    }
    session.seenAtMs = nowMs;
    this.#seq = seq;
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
    if (entry.session === undefined && this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
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
      session.ended = true;
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
