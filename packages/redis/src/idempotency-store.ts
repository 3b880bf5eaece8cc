import { randomBytes } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore, IdempotencyWait } from '@switchboard/server';
import type { Redis } from 'ioredis';
import { unavailable } from './connection.js';
import { ACK_LUA, CLAIM_LUA, EXTEND_LUA, FINISH_LUA, LOOKUP_LUA, RELEASE_LUA } from './idempotency-scripts.js';
import { RedisStreamStore } from './stream-store.js';

/**
 * The Redis side of an idempotency window shared by every server process: a call re-sent
 * with its key to another node (its connection was lost, the client reconnected elsewhere)
 * finds the first run there — still running, or finished with its outcome — and does not
 * run again.
 *
 * Keys of the client's form `<session>.<call id>` live in one hash per session, so that an
 * acknowledgement (`ack`: the client has every outcome up to a call id) drops them at once,
 * and a silent session goes as a whole after `ttlMs`. Any other key gets a hash of its own.
 *
 *   <prefix>:s:{<session>}   field <call id>   (and `~ack`: the highest call id acknowledged;
 *                                              `~bytes`: the bytes of the outcomes kept)
 *   <prefix>:si:{<session>}  sorted set: the call ids, to forget the oldest or the acknowledged
 *                            without reading the whole hash
 *   <prefix>:k:{<key>}       field `-`  (and <prefix>:ki:{<key>}, its index)
 *
 * A field holds one of
 *
 *   r|<fingerprint>|<token>|<lease end, Redis ms>   running on the node holding `token`;
 *                                                   free again once the lease ends unless
 *                                                   extended (a node that died frees it)
 *   d|<fingerprint>|<outcome>                       finished
 *
 * The fingerprint identifies the call (name, input, meta): the same key with another
 * fingerprint is a conflict. Outcomes are opaque text (the server's outcome JSON). Lease
 * ends are compared with Redis's clock, never a node's.
 *
 *   claim ──▶ claimed ──(run; extend while running)──▶ finish
 *         ├─▶ running  ──▶ wait ──▶ done | free (its node died: claim again)
 *         └─▶ done     ──▶ the stored outcome
 */

export interface IdempotencyStoreOptions {
  /** @default 'sb' */
  prefix?: string;
  /** How long an outcome (or a silent session) is kept. @default 5 min (the server's idempotency.ttlMs) */
  ttlMs?: number;
  /** How long a claim holds without being extended. @default 15 s */
  leaseMs?: number;
  /**
   * Calls one session keeps before its client acknowledges them; past it the oldest are
   * forgotten, as in the server's own window. @default 10,000 (the server's idempotency.maxKeys)
   */
  maxKeysPerSession?: number;
  /** Bytes of outcomes one session keeps; past it the oldest finished calls are forgotten. @default 1 MiB */
  maxSessionBytes?: number;
  /**
   * Chunks of a streaming call kept in Redis for a resume on another process (the newest);
   * keep it at least the servers' limits.streamBufferChunks. @default 256
   */
  maxStreamChunks?: number;
  /**
   * A command made while the connection's first attempt is under way waits for it, this
   * long at most; once that attempt has failed, or after the first connection, commands
   * fail at once. Make the store before the connection's first `ready`.
   * @default 5 s (the broker's connectTimeoutMs)
   */
  connectTimeoutMs?: number;
}

/** What the window holds for a key. */
export type IdempotencyEntry =
  | {
      /** A run holds the key. */
      state: 'running';
      /** The call it is for. */
      fingerprint: string;
    }
  | {
      /** A run under the key has finished. */
      state: 'done';
      /** The call it was for. */
      fingerprint: string;
      /** Its outcome, as stored. */
      outcome: string;
    };

/** The defaults of IdempotencyStoreOptions. */
export const IDEMPOTENCY_DEFAULTS = {
  prefix: 'sb',
  ttlMs: 5 * 60_000,
  leaseMs: 15_000,
  maxKeysPerSession: 10_000,
  maxSessionBytes: 1024 * 1024,
  maxStreamChunks: 256,
  connectTimeoutMs: 5_000,
} as const;

/**
 * Connection states in which a store made now waits for the first attempt: not `wait`
 * (lazyConnect: nothing is under way), not `reconnecting` (an attempt has failed already).
 */
const FIRST_CONNECT = new Set(['connecting', 'connect']);

/** Polling while waiting: from this, doubling, up to the max. */
const WAIT_INITIAL_DELAY_MS = 10;
const WAIT_MAX_DELAY_MS = 200;

interface Scripts {
  sbIdemClaim(
    hash: string,
    index: string,
    field: string,
    fp: string,
    token: string,
    leaseMs: number,
    ttlMs: number,
    seq: number,
    maxKeys: number,
  ): Promise<unknown>;
  sbIdemFinish(
    hash: string,
    index: string,
    field: string,
    fp: string,
    token: string,
    outcome: string,
    ttlMs: number,
    maxBytes: number,
  ): Promise<number>;
  sbIdemExtend(hash: string, index: string, field: string, fp: string, token: string, leaseMs: number): Promise<number>;
  sbIdemRelease(hash: string, index: string, field: string, fp: string, token: string): Promise<number>;
  sbIdemLookup(hash: string, index: string, field: string): Promise<unknown>;
  sbIdemAck(hash: string, index: string, upTo: number, ttlMs: number): Promise<number>;
}

/** `<session>.<call id>` → its parts (as the server reads them); undefined for any other key. */
export function sessionKey(key: string): { session: string; seq: number } | undefined {
  const dot = key.lastIndexOf('.');
  const digits = key.slice(dot + 1);
  // Digits only, at most 15, as the server's window reads them: `1e3` or `0x1f` are no call ids.
  if (dot <= 0 || !/^[0-9]{1,15}$/.test(digits)) return undefined;
  return { session: key.slice(0, dot), seq: Number(digits) };
}

function parseEntry(value: unknown): IdempotencyEntry | undefined {
  if (typeof value !== 'string') return undefined;
  const second = value.indexOf('|', 2);
  if (value[1] !== '|' || second < 0) return undefined;
  const fingerprint = value.slice(2, second);
  if (value[0] === 'd') return { state: 'done', fingerprint, outcome: value.slice(second + 1) };
  return { state: 'running', fingerprint };
}

/**
 * The shared idempotency window in Redis. Every method rejects with
 * RpcError('UNAVAILABLE') while Redis is unreachable.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #scripts: Scripts;
  readonly #prefix: string;
  /** Streaming calls recorded for a resume on another process (the server finds them here). */
  readonly streams: RedisStreamStore;
  /** How long an outcome (or a silent session) is kept. */
  readonly ttlMs: number;
  readonly leaseMs: number;
  readonly #maxKeys: number;
  readonly #maxBytes: number;
  /** Settles once the connection was first ready (or gave up); undefined after that. */
  #firstConnect: Promise<void> | undefined;

  /** On a connection made like the broker's (no offline queue), e.g. `broker.idempotency`. */
  constructor(redis: Redis, options: IdempotencyStoreOptions = {}) {
    this.#prefix = options.prefix ?? IDEMPOTENCY_DEFAULTS.prefix;
    this.ttlMs = options.ttlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs;
    this.leaseMs = options.leaseMs ?? IDEMPOTENCY_DEFAULTS.leaseMs;
    this.#maxKeys = options.maxKeysPerSession ?? IDEMPOTENCY_DEFAULTS.maxKeysPerSession;
    this.#maxBytes = options.maxSessionBytes ?? IDEMPOTENCY_DEFAULTS.maxSessionBytes;
    const connectTimeoutMs = options.connectTimeoutMs ?? IDEMPOTENCY_DEFAULTS.connectTimeoutMs;
    for (const [name, value] of [
      ['ttlMs', this.ttlMs],
      ['leaseMs', this.leaseMs],
      ['connectTimeoutMs', connectTimeoutMs],
      ['maxKeysPerSession', this.#maxKeys],
      ['maxSessionBytes', this.#maxBytes],
    ] as const) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
    }
    redis.defineCommand('sbIdemClaim', { numberOfKeys: 2, lua: CLAIM_LUA });
    redis.defineCommand('sbIdemFinish', { numberOfKeys: 2, lua: FINISH_LUA });
    redis.defineCommand('sbIdemExtend', { numberOfKeys: 2, lua: EXTEND_LUA });
    redis.defineCommand('sbIdemRelease', { numberOfKeys: 2, lua: RELEASE_LUA });
    redis.defineCommand('sbIdemLookup', { numberOfKeys: 2, lua: LOOKUP_LUA, readOnly: true });
    redis.defineCommand('sbIdemAck', { numberOfKeys: 2, lua: ACK_LUA });
    this.#scripts = redis as unknown as Scripts;
    if (FIRST_CONNECT.has(redis.status)) this.#firstConnect = firstReady(redis, connectTimeoutMs);
    const maxChunks = options.maxStreamChunks ?? IDEMPOTENCY_DEFAULTS.maxStreamChunks;
    if (!Number.isSafeInteger(maxChunks) || maxChunks <= 0)
      throw new TypeError('maxStreamChunks must be a positive integer');
    const limits = { prefix: this.#prefix, ttlMs: this.ttlMs, leaseMs: this.leaseMs, maxChunks };
    this.streams = new RedisStreamStore(redis, limits, (what, command) => this.#run(what, command));
  }

  /**
   * Runs one command; a command made during the connection's first attempt waits for it
   * (a server may take calls before Redis answers); any failure is RpcError('UNAVAILABLE').
   */
  async #run<T>(what: string, command: () => Promise<T>): Promise<T> {
    if (this.#firstConnect !== undefined) {
      await this.#firstConnect;
      this.#firstConnect = undefined;
    }
    try {
      return await command();
    } catch (error) {
      throw unavailable(error, what);
    }
  }

  /** Where `key` lives: its session's hash and index by call id, and its field; or a hash of its own. */
  #place(key: string): [hash: string, index: string, field: string] {
    const parts = sessionKey(key);
    return parts === undefined
      ? [`${this.#prefix}:k:{${key}}`, `${this.#prefix}:ki:{${key}}`, '-']
      : [`${this.#prefix}:s:{${parts.session}}`, `${this.#prefix}:si:{${parts.session}}`, String(parts.seq)];
  }

  /** Takes `key` for a new run, or tells who has it: one round trip. */
  async claim(key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const token = randomBytes(8).toString('hex');
    const [hash, index, field] = this.#place(key);
    const held = await this.#run('idempotency claim', () =>
      this.#scripts.sbIdemClaim(
        hash,
        index,
        field,
        fingerprint,
        token,
        this.leaseMs,
        this.ttlMs,
        field === '-' ? 0 : Number(field),
        this.#maxKeys,
      ),
    );
    if (held === 'a') return { state: 'acknowledged' };
    return parseEntry(held) ?? { state: 'claimed', token };
  }

  /** Keeps a running claim alive (call it every leaseMs / 3 while the call runs); false if lost. */
  async extend(key: string, fingerprint: string, token: string): Promise<boolean> {
    const extended = await this.#run('idempotency extend', () =>
      this.#scripts.sbIdemExtend(...this.#place(key), fingerprint, token, this.leaseMs),
    );
    return extended === 1;
  }

  /**
   * Stores the outcome of the run holding `token`. False (nothing stored) when the claim
   * was lost and another run holds the key now, or the client acknowledged it already.
   */
  async finish(key: string, fingerprint: string, token: string, outcome: string): Promise<boolean> {
    const stored = await this.#run('idempotency finish', () =>
      this.#scripts.sbIdemFinish(...this.#place(key), fingerprint, token, outcome, this.ttlMs, this.#maxBytes),
    );
    return stored === 1;
  }

  /** Gives a claim up without an outcome (the call never ran): a re-send may run it. */
  async release(key: string, fingerprint: string, token: string): Promise<void> {
    await this.#run('idempotency release', () => this.#scripts.sbIdemRelease(...this.#place(key), fingerprint, token));
  }

  /** What the window holds for `key`, if anything (a claim whose lease ended holds nothing). */
  async lookup(key: string): Promise<IdempotencyEntry | undefined> {
    return parseEntry(await this.#run('idempotency lookup', () => this.#scripts.sbIdemLookup(...this.#place(key))));
  }

  /** The client of `session` has every outcome up to call id `upTo`: forget them now. */
  async acknowledge(session: string, upTo: number): Promise<void> {
    await this.#run('idempotency acknowledge', () =>
      this.#scripts.sbIdemAck(`${this.#prefix}:s:{${session}}`, `${this.#prefix}:si:{${session}}`, upTo, this.ttlMs),
    );
  }

  /**
   * Waits for the run holding `key` to finish (polling, 10 ms doubling to 200 ms): its
   * outcome, `free` when the key was released or its lease ran out (its node died), or
   * `timeout`. Stops early when `signal` aborts (resolves `timeout`).
   */
  async wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<IdempotencyWait> {
    const deadline = Date.now() + timeoutMs;
    let delayMs = WAIT_INITIAL_DELAY_MS;
    for (;;) {
      const entry = await this.lookup(key);
      if (entry === undefined) return { state: 'free' };
      if (entry.state === 'done') return entry;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return { state: 'timeout' };
      await sleep(Math.min(delayMs, left), signal);
      delayMs = Math.min(delayMs * 2, WAIT_MAX_DELAY_MS);
    }
  }
}

/** Settles when `redis` is first ready, its attempt fails (`close`), or `timeoutMs` passes. */
function firstReady(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    redis.on('ready', done);
    redis.on('close', done);
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
