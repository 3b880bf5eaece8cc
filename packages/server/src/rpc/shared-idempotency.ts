import { createHash } from 'node:crypto';
import { RpcError } from '@switchboard/contract';
import { deserializeOutcome, type Outcome, serializeOutcome } from './outcome.js';
import type { StreamStore } from './stream-store.js';

/**
 * A window of idempotency keys shared by every server process, so that a call re-sent
 * to another process (its connection was lost, the client reconnected elsewhere) is not
 * run twice. `redisBroker(…).idempotency` is one; pass it as `idempotency.store`.
 */
export interface IdempotencyStore {
  /** How long a claim holds unless extended. */
  readonly leaseMs: number;
  /** Takes `key` for a new run, or tells who has it. */
  claim(key: string, fingerprint: string): Promise<IdempotencyClaim>;
  /** Keeps a running claim alive; false when it was lost. */
  extend(key: string, fingerprint: string, token: string): Promise<boolean>;
  /** Stores the outcome (opaque text) of the run holding `token`. */
  finish(key: string, fingerprint: string, token: string, outcome: string): Promise<boolean>;
  /** Waits for the run holding `key`: its outcome, `free` (its process died), or `timeout`. */
  wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<IdempotencyWait>;
  /** The client of `session` has every outcome up to call id `upTo`. */
  acknowledge(session: string, upTo: number): Promise<void>;
  /** Where streaming calls are recorded for the other processes; without it, a stream resumes only on its own process. */
  readonly streams?: StreamStore;
}

/** What IdempotencyStore.claim() found for a key. */
export type IdempotencyClaim =
  | {
      /** The key was free: this run holds it now. */
      state: 'claimed';
      /** Proves the claim to extend() and finish(). */
      token: string;
    }
  | {
      /** Another run holds the key. */
      state: 'running';
      /** The call that run is for: another call under the same key is a CONFLICT. */
      fingerprint: string;
    }
  | {
      /** A run under the key has finished. */
      state: 'done';
      /** The call that run was for. */
      fingerprint: string;
      /** Its outcome, as finish() stored it. */
      outcome: string;
    }
  | {
      /** The client has acknowledged the key's outcome: the call is not run again. */
      state: 'acknowledged';
    };

/** What IdempotencyStore.wait() saw become of a run. */
export type IdempotencyWait =
  | {
      /** The run finished. */
      state: 'done';
      /** The call it was for. */
      fingerprint: string;
      /** Its outcome, as finish() stored it. */
      outcome: string;
    }
  | {
      /** The run's claim lapsed (its process died): the key may be claimed again. */
      state: 'free';
    }
  | {
      /** Still running when the wait's time was up. */
      state: 'timeout';
    };

/**
 * The prefix of a scope's keys in a shared store: a hash, so that no scope (a user id, say)
 * can spell another's keys, and no dot or brace of it changes how the store splits a key.
 */
export function scopeTag(scope: string): string {
  return `${createHash('sha256').update(scope).digest('base64url').slice(0, 22)}:`;
}

/** Identifies a call (procedure, input, meta), so that a key reused for another call is told apart. */
export function callFingerprint(name: string, input: unknown, meta: unknown): string {
  return createHash('sha256')
    .update(`${name}\u0000${JSON.stringify(input) ?? ''}\u0000${JSON.stringify(meta) ?? ''}`)
    .digest('base64url');
}

/** How a shared claim turned out: run the call here, or answer with another run's outcome. */
export type Begun = { run: true } | { run: false; outcome: Outcome };

const ignore = () => {};

/** An outcome stored by another process; one this version cannot read is told as such, not guessed at. */
function readOutcome(text: string): Outcome {
  const outcome = deserializeOutcome(text);
  if (outcome === undefined) throw new RpcError('INTERNAL', 'the stored outcome of this call is unreadable');
  return outcome;
}

/** Claims given back and taken again at most this often before a call gives up. */
const MAX_CLAIMS = 3;
/** Acknowledgements are passed on in batches, this often. */
const ACK_EVERY_MS = 1_000;

/**
 * This process's side of a shared window: the claims its running calls hold (their
 * leases kept alive on one timer) and the clients' acknowledgements, batched.
 */
export class SharedIdempotency {
  readonly #store: IdempotencyStore;
  readonly #onError: (error: unknown) => void;
  readonly #held = new Map<string, { fingerprint: string; token: string }>();
  readonly #acks = new Map<string, number>();
  readonly #leaseTimer: ReturnType<typeof setInterval>;
  readonly #ackTimer: ReturnType<typeof setInterval>;

  constructor(store: IdempotencyStore, onError: (error: unknown) => void) {
    this.#store = store;
    this.#onError = onError;
    this.#leaseTimer = setInterval(() => this.#extendAll(), Math.max(1, Math.floor(store.leaseMs / 3)));
    this.#leaseTimer.unref();
    this.#ackTimer = setInterval(() => this.#flushAcks(), ACK_EVERY_MS);
    this.#ackTimer.unref();
  }

  /**
   * Claims `key` (already in its caller's scope) for a run here, or finds its run
   * elsewhere: finished (its outcome) or running (waited for, up to `timeoutMs`). Rejects with UNAVAILABLE while the store is
   * unreachable: without it, running the call could run it twice.
   */
  async begin(key: string, fingerprint: string, timeoutMs: number, signal: AbortSignal): Promise<Begun> {
    const conflict = () => new RpcError('CONFLICT', 'this idempotency key was used with another call');
    for (let attempt = 0; attempt < MAX_CLAIMS; attempt++) {
      const claim = await this.#store.claim(key, fingerprint);
      if (claim.state === 'claimed') {
        this.#held.set(key, { fingerprint, token: claim.token });
        return { run: true };
      }
      if (claim.state === 'acknowledged') {
        throw new RpcError('CONFLICT', 'the client already acknowledged this call');
      }
      if (claim.fingerprint !== fingerprint) throw conflict();
      if (claim.state === 'done') return { run: false, outcome: readOutcome(claim.outcome) };
      const waited = await this.#store.wait(key, timeoutMs, signal);
      if (waited.state === 'timeout')
        throw new RpcError('TIMEOUT', 'the run of this call elsewhere did not finish in time');
      if (waited.state === 'done') {
        if (waited.fingerprint !== fingerprint) throw conflict();
        return { run: false, outcome: readOutcome(waited.outcome) };
      }
      // 'free': the process running it died; the claim is up for grabs again.
    }
    throw new RpcError('UNAVAILABLE', 'this call was claimed and given up too often');
  }

  /** Stores the outcome of a call claimed here. */
  finish(key: string, outcome: Outcome): void {
    const held = this.#held.get(key);
    if (held === undefined) return;
    this.#held.delete(key);
    this.#store.finish(key, held.fingerprint, held.token, serializeOutcome(outcome)).catch(this.#onError);
  }

  /** A client acknowledged its calls up to `through` (the key of its latest call names its session). */
  acknowledge(key: string, through: number): void {
    const dot = key.lastIndexOf('.');
    if (dot <= 0) return;
    const session = key.slice(0, dot);
    if ((this.#acks.get(session) ?? -1) < through) this.#acks.set(session, through);
  }

  close(): void {
    clearInterval(this.#leaseTimer);
    clearInterval(this.#ackTimer);
    this.#flushAcks();
  }

  // Failures of these two are quiet: the next tick tries again, and an acknowledgement
  // that never arrives only keeps an outcome until the store's ttl.
  #extendAll(): void {
    for (const [key, { fingerprint, token }] of this.#held) {
      this.#store.extend(key, fingerprint, token).catch(ignore);
    }
  }

  #flushAcks(): void {
    for (const [session, upTo] of this.#acks) this.#store.acknowledge(session, upTo).catch(ignore);
    this.#acks.clear();
  }
}
