import { RpcError } from '@switchboard/contract';
import { Deque } from '../deque.js';
import type {
  Claim,
  Holder,
  KeyEntry,
  Refusal,
  Session,
  SessionHint,
  Waiter,
  WindowLimits,
} from './idempotency-session.js';
import { parseSeq, seqIndex } from './idempotency-session.js';
import { errorOutcome, type Outcome, outcomeBytes } from './outcome.js';

export type { Claim, Holder, KeyEntry, Session, SessionHint, WindowLimits } from './idempotency-session.js';

/** Without a scope, the shortest session name that may follow its client to another connection. */
export const MIN_SESSION_NAME_CHARS = 16;

/** Heap an entry costs besides its texts (the object, its slot, a waiter set's share). */
export const ENTRY_BYTES = 160;
/** A V8 string may hold two bytes per character: texts are counted at that. */
const BYTES_PER_CHAR = 2;
/** An outcome bigger than this share of maxSessionBytes is not kept; a re-send is told so. */
const MAX_OUTCOME_SHARE = 0.5;
/** Silent sessions are swept at most this often. */
const SWEEP_EVERY_MS = 1_000;

/** What a re-send of a call whose outcome was too large to keep gets: it ran, once. */
export const NOT_KEPT = errorOutcome(
  new RpcError('PAYLOAD_TOO_LARGE', 'this call ran; its outcome was too large to keep for a re-send').toWire(),
);

/** What a forgotten entry holds instead of its outcome: nothing can ask for it any more. */
const FORGOTTEN: Outcome = { ok: false, body: '}' };

/**
 * Recent idempotency keys and what their calls returned, per caller (see Holder). Within
 * the window a key runs its handler once: a repeat waits for the running call or gets the
 * stored outcome; the same key with another call is a conflict. Outside it a repeat runs
 * again. Only a hash of each call is kept, never its input; outcomes are kept as text (and a result's byte values), counted in bytes.
 *
 * Session keys live until the client acknowledges their outcome (`release`), or their
 * session is silent for ttlMs, or it is over maxKeys or maxSessionBytes (oldest first): an
 * entry usually dies a round trip after it was made. Plain keys are bounded the same way
 * per caller and forgotten ttlMs after their call ended. Over maxSessions or maxBytes in
 * all, the least recently used session goes.
 *
 * A session's entries sit in one deque in call id order (binary search; dropped from the
 * front); a connection's hint to its session spares the common call any Map lookup.
 */
export class IdempotencyWindow {
  readonly #sessions = new Map<string, Session>();
  readonly #limits: WindowLimits;
  #bytes = 0;
  #count = 0;
  #waiting = 0;
  #sweptAtMs = 0;

  constructor(limits: WindowLimits) {
    this.#limits = limits;
  }

  /** Outcomes and running calls held. */
  get size(): number {
    return this.#count;
  }

  /** Bytes held, as counted against maxBytes. */
  get bytes(): number {
    return this.#bytes;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Re-sent calls waiting for a run still going. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Claims `key` for `holder`'s call with hash `hash`. */
  claim(key: string, hash: number, holder: Holder, nowMs: number, hint?: SessionHint): Claim {
    if (nowMs - this.#sweptAtMs >= SWEEP_EVERY_MS) this.#sweep(nowMs);
    const session = this.#sessionOf(key, holder, nowMs, hint, true) as Session | Refusal;
    if ('state' in session) return session;
    if (session.byKey !== undefined) return this.#claimPlain(session, key, hash, nowMs);
    const seq = this.#seq;
    if (seq <= session.acked) return { state: 'acknowledged' };
    const { entries } = session;
    const last = entries.peekLast();
    let at = entries.length;
    // New calls come in rising order: the search is only for a repeat, or a late re-send.
    if (last !== undefined && last.seq >= seq) {
      at = seqIndex(session, seq);
      const entry = entries.at(at);
      if (entry !== undefined && entry.seq === seq) return this.#repeat(entry, hash);
    }
    const entry = this.#newEntry(session, seq, undefined, hash);
    entries.insert(at, entry);
    this.#bound(session);
    return { state: 'new', entry };
  }

  #claimPlain(session: Session, key: string, hash: number, nowMs: number): Claim {
    const byKey = session.byKey as Map<string, KeyEntry>;
    const existing = byKey.get(key);
    if (existing !== undefined) {
      if (existing.expiresAtMs > nowMs) return this.#repeat(existing, hash);
      this.#forget(existing); // expired, not swept yet
    }
    const entry = this.#newEntry(session, -1, key, hash);
    byKey.set(key, entry);
    session.entries.push(entry);
    this.#bound(session);
    return { state: 'new', entry };
  }

  /**
   * Whether `key` is a call this caller made already (its outcome kept, or its run going
   * on), as claim() would find it from `holder`: then it is a repeat, answered from the
   * window. Changes nothing (a peek: the router's middleware lets repeats through).
   */
  has(key: string, holder: Holder, nowMs: number): boolean {
    const { dot, seq } = locate(key, holder);
    const session = this.#sessions.get(mapKeyOf(holder, seq < 0 ? '' : key.slice(0, dot), seq));
    if (session === undefined || session.ended) return false;
    // Another live connection's unscoped session is not this caller's to see.
    if (!session.scoped && session.holder !== holder && session.holder?.open === true) return false;
    if (seq < 0) {
      const entry = session.byKey?.get(key);
      return entry !== undefined && entry.expiresAtMs > nowMs;
    }
    return seq > session.acked && session.entries.at(seqIndex(session, seq))?.seq === seq;
  }

  #repeat(entry: KeyEntry, hash: number): Claim {
    return entry.hash === hash ? { state: 'repeat', entry } : { state: 'conflict' };
  }

  /**
   * `holder`'s client has every outcome of the session of `key` up to call `through`:
   * forget them. False when that is no session of this caller's here (nothing to pass on).
   */
  release(key: string, through: number, holder: Holder, nowMs: number, hint?: SessionHint): boolean {
    const session = this.#sessionOf(key, holder, nowMs, hint, false);
    if (session === undefined || 'state' in session || session.byKey !== undefined) return false;
    if (through <= session.acked) return true;
    session.acked = through;
    for (let oldest = session.entries.peek(); oldest !== undefined && oldest.seq <= through; ) {
      this.#shift(session);
      oldest = session.entries.peek();
    }
    return true;
  }

  /** The call id of the key #sessionOf() last read (-1: a plain key). */
  #seq = -1;

  /**
   * The session of `key` for `holder` (the call id of a session key in #seq: no object
   * per call); made if `create`. Refuses a session held by another live connection (no
   * scope) or one more than the connection may hold.
   */
  #sessionOf(
    key: string,
    holder: Holder,
    nowMs: number,
    hint: SessionHint | undefined,
    create: boolean,
  ): Session | Refusal | undefined {
    const { dot, seq } = locate(key, holder);
    let session = hint?.session;
    if (
      seq < 0 ||
      session === undefined ||
      session.ended ||
      session.id.length !== dot ||
      session.holder !== holder ||
      !key.startsWith(session.id)
    ) {
      const id = seq < 0 ? '' : key.slice(0, dot);
      const mapKey = mapKeyOf(holder, id, seq);
      session = this.#sessions.get(mapKey);
      if (session === undefined) {
        if (!create) return undefined;
        if (holder.sessions >= this.#limits.maxSessionsPerConnection) return tooManySessions(this.#limits);
        if (this.#sessions.size >= this.#limits.maxSessions) this.#evictLeastRecent(undefined);
        session = {
          mapKey,
          id,
          scoped: holder.scope !== undefined,
          holder,
          entries: new Deque(),
          byKey: seq < 0 ? new Map() : undefined,
          acked: -1,
          seenAtMs: nowMs,
          bytes: 0,
          ended: false,
        };
        holder.sessions++;
        this.#sessions.set(mapKey, session);
      } else if (session.holder !== holder) {
        const previous = session.holder;
        // Without a scope a session is its connection's: another gets it only once that one is gone.
        if (!session.scoped && previous?.open === true) return { state: 'held', holder: previous };
        if (!create) return undefined;
        if (holder.sessions >= this.#limits.maxSessionsPerConnection) return tooManySessions(this.#limits);
        if (previous !== undefined) previous.sessions--;
        session.holder = holder;
        holder.sessions++;
      }
      if (hint !== undefined && seq >= 0) hint.session = session;
    }
    session.seenAtMs = nowMs;
    this.#seq = seq;
    return session;
  }

  #newEntry(session: Session, seq: number, key: string | undefined, hash: number): KeyEntry {
    const bytes = ENTRY_BYTES + (key === undefined ? 0 : key.length * BYTES_PER_CHAR);
    session.bytes += bytes;
    this.#bytes += bytes;
    this.#count++;
    return {
      session,
      seq,
      key,
      hash,
      outcome: undefined,
      waiters: undefined,
      expiresAtMs: Number.POSITIVE_INFINITY,
      bytes,
      dropped: false,
      listed: true,
    };
  }

  /**
   * Records how the call under `entry` ended and answers everyone waiting on it. Returns
   * what is kept for a re-send: the outcome, or NOT_KEPT when it is too large.
   */
  finish(entry: KeyEntry, outcome: Outcome, nowMs: number): Outcome {
    if (entry.outcome !== undefined) return entry.outcome;
    const { session } = entry;
    const kept = this.keeps(outcome) ? outcome : NOT_KEPT;
    entry.outcome = kept;
    entry.expiresAtMs = session.byKey === undefined ? Number.POSITIVE_INFINITY : nowMs + this.#limits.ttlMs;
    const waiters = entry.waiters;
    entry.waiters = undefined;
    if (waiters !== undefined) this.#waiting -= waiters.size;
    if (!entry.listed || entry.dropped) {
      // Acknowledged or pushed out while it ran: nobody can ask for it again.
      this.#forget(entry);
    } else {
      const added = outcomeBytes(kept);
      entry.bytes += added;
      session.bytes += added;
      this.#bytes += added;
      this.#bound(session);
    }
    if (waiters !== undefined) for (const waiter of waiters) waiter(outcome);
    return kept;
  }

  /** Whether `outcome` is small enough to keep for a re-send (at most half a session's bytes). */
  keeps(outcome: Outcome): boolean {
    return outcomeBytes(outcome) <= this.#limits.maxSessionBytes * MAX_OUTCOME_SHARE;
  }

  /** Calls `waiter` with the outcome of the call under `entry` (at once if it has ended). */
  wait(entry: KeyEntry, waiter: Waiter): void {
    if (entry.outcome !== undefined) {
      waiter(entry.outcome);
      return;
    }
    entry.waiters ??= new Set();
    if (!entry.waiters.has(waiter)) this.#waiting++;
    entry.waiters.add(waiter);
  }

  /** Stops waiting (the waiting call ended: its deadline, a cancel, its connection closed). */
  unwait(entry: KeyEntry, waiter: Waiter): void {
    if (entry.waiters?.delete(waiter) === true) this.#waiting--;
  }

  /** Keeps `session` within maxKeys and maxSessionBytes, and the window within maxBytes. */
  #bound(session: Session): void {
    const { maxKeys, maxSessionBytes, maxBytes } = this.#limits;
    while (session.entries.length > 0 && (session.entries.length > maxKeys || session.bytes > maxSessionBytes)) {
      this.#shift(session);
    }
    let evicting = this.#bytes > maxBytes;
    while (evicting) evicting = this.#evictLeastRecent(session) && this.#bytes > maxBytes;
  }

  /** Takes a session's oldest entry off its list; forgets it unless it still runs (then finish() does). */
  #shift(session: Session): void {
    const entry = session.entries.shift() as KeyEntry;
    entry.listed = false;
    if (entry.outcome !== undefined || entry.dropped) this.#forget(entry);
  }

  #forget(entry: KeyEntry): void {
    if (entry.dropped) return;
    entry.dropped = true;
    // Its text goes now, whatever still holds the entry (a plain key's slot, a hint).
    if (entry.outcome !== undefined) entry.outcome = FORGOTTEN;
    const { session } = entry;
    session.bytes -= entry.bytes;
    this.#bytes -= entry.bytes;
    this.#count--;
    if (entry.key !== undefined && session.byKey?.get(entry.key) === entry) session.byKey.delete(entry.key);
  }

  /** Drops a whole session: its entries (running ones when they end) and its place. */
  #drop(session: Session): void {
    while (session.entries.length > 0) this.#shift(session);
    session.ended = true;
    this.#sessions.delete(session.mapKey);
    if (session.holder !== undefined) session.holder.sessions--;
    session.holder = undefined;
  }

  /** Drops the least recently used session other than `keep`; false when there is none. */
  #evictLeastRecent(keep: Session | undefined): boolean {
    let oldest: Session | undefined;
    for (const session of this.#sessions.values()) {
      if (session !== keep && (oldest === undefined || session.seenAtMs < oldest.seenAtMs)) oldest = session;
    }
    if (oldest === undefined) return false;
    this.#drop(oldest);
    return true;
  }

  /**
   * `holder`'s connection closed: its own plain keys (no scope) can never be asked for
   * again. Its sessions stay, for the client's next connection; they hold only this small
   * object, never the connection.
   */
  leave(holder: Holder): void {
    if (holder.scope !== undefined) return;
    const plain = this.#sessions.get(plainKeysOf(holder));
    if (plain !== undefined) this.#drop(plain);
  }

  /** Drops sessions silent for ttlMs: their client is gone, or will find its calls run again. */
  #sweep(nowMs: number): void {
    this.#sweptAtMs = nowMs;
    for (const session of this.#sessions.values()) {
      if (nowMs - session.seenAtMs >= this.#limits.ttlMs) {
        this.#drop(session);
        continue;
      }
      if (session.byKey === undefined) continue;
      // Plain keys: outcomes ttlMs old go, oldest first (a call still running stops the walk).
      for (let oldest = session.entries.peek(); oldest !== undefined; oldest = session.entries.peek()) {
        if (!oldest.dropped && (oldest.outcome === undefined || oldest.expiresAtMs > nowMs)) break;
        this.#shift(session);
      }
    }
  }
}

/** Where an unscoped connection's plain keys live. */
function plainKeysOf(holder: Holder): string {
  return `c${holder.id}\n`;
}

function tooManySessions(limits: WindowLimits): Refusal {
  return {
    state: 'refused',
    error: new RpcError(
      'TOO_MANY_REQUESTS',
      `at most ${limits.maxSessionsPerConnection} idempotency sessions per connection`,
    ),
  };
}

/** Where a key's call id starts (`dot`) and what it is (`seq`, -1 for a plain key). */
function locate(key: string, holder: Holder): { dot: number; seq: number } {
  const dot = key.lastIndexOf('.');
  // Without a scope a session name works as a password: one too short to be secret is
  // no session, and its keys stay with the connection like any other.
  const seq = dot >= (holder.scope === undefined ? MIN_SESSION_NAME_CHARS : 1) ? parseSeq(key, dot + 1) : -1;
  return { dot, seq };
}

/** The window's map key of a caller's session `id` (plain keys: the connection's own). */
function mapKeyOf(holder: Holder, id: string, seq: number): string {
  const scope = holder.scope;
  // The scope's length first: no scope and session name can spell another pair's key.
  return scope !== undefined ? `s${scope.length}:${scope}\n${id}` : seq < 0 ? plainKeysOf(holder) : `u\n${id}`;
}
