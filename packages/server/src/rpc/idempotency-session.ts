import type { RpcError } from '@switchboard/contract';
import type { Deque } from '../deque.js';
import type { Outcome } from './outcome.js';

// The shapes of the idempotency window (idempotency.ts): whose keys (Holder), its bounds,
// an entry, a session, what a claim answers; and reading a session key's call id.

/**
 * A connection as the window sees it. Every key belongs to the caller that sent it:
 *
 *   scope given (idempotency.scope(ctx), e.g. a user id)  keys live in that scope: any
 *                                                       connection of the scope may re-send
 *   no scope, session key `<session>.<call id>`          the session is held by the
 *                                                       connection that opened it; another
 *                                                       connection gets it only once that
 *                                                       one is gone
 *   no scope, any other key                              the connection's own
 *
 * A key never reaches another scope's (or connection's) entries: a foreign key is a
 * new key there, so no answer, ack or conflict can tell that someone else used it.
 */
export interface Holder {
  /** The connection's idempotency scope; undefined when the application gives none. */
  readonly scope: string | undefined;
  /** Unique in this process. */
  readonly id: number;
  /** False once the connection has closed. */
  readonly open: boolean;
  /** Sessions held by (charged to) this connection. */
  sessions: number;
  /** Whether the connection is still there (it answers a ping); one that is not is closed. */
  probe(): Promise<boolean>;
}

/** Bounds of the window (ServerOptions.idempotency, resolved). */
export interface WindowLimits {
  /** Keys one session (or one caller's plain keys) holds at most. */
  maxKeys: number;
  /** Bytes one session holds at most: entries and outcome texts. */
  maxSessionBytes: number;
  /** Sessions in the whole window. */
  maxSessions: number;
  /** Bytes in the whole window. */
  maxBytes: number;
  /** Sessions one connection may hold at once. */
  maxSessionsPerConnection: number;
  /** How long an outcome of a plain key, or a silent session, is kept. */
  ttlMs: number;
}

export type Waiter = (outcome: Outcome) => void;

/** A remembered call: its hash (to spot a reused key) and, once it ended, its outcome. */
export interface KeyEntry {
  readonly session: Session;
  /** The call id of a session key; -1 for a plain key. */
  readonly seq: number;
  /** A plain key (session entries need none). */
  readonly key: string | undefined;
  /** callHash(name, input, meta). */
  readonly hash: number;
  /** Undefined while the call runs. */
  outcome: Outcome | undefined;
  waiters: Set<Waiter> | undefined;
  /** Plain keys: the outcome is forgotten after this. */
  expiresAtMs: number;
  /** Counted in its session's and the window's bytes while not dropped. */
  bytes: number;
  /** Forgotten: acknowledged, pushed out, expired, or its session ended. */
  dropped: boolean;
  /** Still on its session's list (taken off when acknowledged or pushed out). */
  listed: boolean;
}

/**
 * One caller's keys: a client session (`<session>.<call id>` keys, in call id order) or
 * a namespace's plain keys (id '', in arrival order, found through `byKey`).
 */
export interface Session {
  readonly mapKey: string;
  readonly id: string;
  readonly scoped: boolean;
  holder: Holder | undefined;
  /** Oldest first: in call id order (a session), or in arrival order (plain keys). */
  readonly entries: Deque<KeyEntry>;
  readonly byKey: Map<string, KeyEntry> | undefined;
  /** Every call id up to this one has been answered and acknowledged. */
  acked: number;
  seenAtMs: number;
  bytes: number;
  /** Dropped from the window: a connection's hint to it is stale. */
  ended: boolean;
}

/** A connection's last session: most connections carry one client's calls, found without a lookup. */
export interface SessionHint {
  session: Session | undefined;
}

export type Claim =
  /** A new key: run the call, then finish(entry, outcome). */
  | { state: 'new'; entry: KeyEntry }
  /** The same call again: its stored outcome, or wait() for the run still going. */
  | { state: 'repeat'; entry: KeyEntry }
  /** The key was used for another call. */
  | { state: 'conflict' }
  /** The client said it has this call's outcome already (its ack). */
  | { state: 'acknowledged' }
  /** A session held by another live connection (no scope): ask whether it is still there. */
  | { state: 'held'; holder: Holder }
  | { state: 'refused'; error: RpcError };

export type Refusal = Extract<Claim, { state: 'held' | 'refused' }>;

/** The call id after `start` in a session key (digits to the end), or -1. Allocates nothing. */
export function parseSeq(key: string, start: number): number {
  if (start >= key.length || key.length - start > 15) return -1;
  let seq = 0;
  for (let i = start; i < key.length; i++) {
    const digit = key.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    seq = seq * 10 + digit;
  }
  return seq;
}

/** The index in `session.entries` of the first entry whose seq is ≥ `seq`. */
export function seqIndex(session: Session, seq: number): number {
  let low = 0;
  let high = session.entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((session.entries.at(mid) as KeyEntry).seq < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}
