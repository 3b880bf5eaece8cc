import { randomBytes } from 'node:crypto';
import type { StreamClaim, StreamRecord, StreamStore } from '@switchboard/server';
import type { Redis } from 'ioredis';

// Streaming calls recorded in Redis, so that another process can answer a client whose
// process died: the chunks it lacks, then the end, or STREAM_LOST (the handler never runs
// twice). One run, under its caller's scope and key:
//
//   <prefix>:r:{<key>}   hash: fp (the call's fingerprint), tok (the running process's
//                        token), lease (Redis ms: the run is alive until then unless
//                        renewed), ft / fb (the final envelope's type and text)
//   <prefix>:c:{<key>}   a Redis stream of its chunks, entry id `<seq>-1`, field b: the text;
//                        trimmed to maxChunks
//
// Both keys expire ttlMs after the run's last record; the braces keep them in one slot.

/** Lua shared by the scripts: Redis's clock, in ms. */
const NOW = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
`;

/** ARGV: fingerprint, token, leaseMs, ttlMs → the fingerprint of the run there, or nil: claimed. */
const BEGIN_LUA = `${NOW}
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then return fp end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'tok', ARGV[2], 'lease', nowMs + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return false`;

/** ARGV: token, seq, body, leaseMs, ttlMs, maxChunks → 1, or 0 when the claim is not this token's. */
const APPEND_LUA = `${NOW}
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], string.format('%d-1', tonumber(ARGV[2])), 'b', ARGV[3])
redis.call('HSET', KEYS[1], 'lease', nowMs + tonumber(ARGV[4]), 'last', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`;

/** ARGV: token, leaseMs, ttlMs → 1, or 0 when the claim is not this token's. */
const EXTEND_LUA = `${NOW}
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lease', nowMs + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return 1`;

/** ARGV: token, type, body, ttlMs → 1, or 0 when the claim is not this token's. */
const FINISH_LUA = `
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'ft', ARGV[2], 'fb', ARGV[3], 'lease', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 1`;

/** ARGV: after, count → nil, or { fp, running (1/0), ft, fb, chunks, last }. */
const READ_LUA = `${NOW}
local h = redis.call('HMGET', KEYS[1], 'fp', 'lease', 'ft', 'fb', 'last')
if not h[1] then return false end
local running = 0
if not h[3] and tonumber(h[2] or '0') > nowMs then running = 1 end
local chunks = redis.call('XRANGE', KEYS[2], string.format('%d-1', tonumber(ARGV[1]) + 1), '+', 'COUNT', ARGV[2])
return { h[1], running, h[3] or '', h[4] or '', chunks, h[5] or '0' }`;

interface Scripts {
  sbStreamBegin(
    run: string,
    chunks: string,
    fp: string,
    token: string,
    leaseMs: number,
    ttlMs: number,
  ): Promise<string | null>;
  sbStreamAppend(
    run: string,
    chunks: string,
    token: string,
    seq: number,
    body: string,
    leaseMs: number,
    ttlMs: number,
    maxChunks: number,
  ): Promise<number>;
  sbStreamExtend(run: string, chunks: string, token: string, leaseMs: number, ttlMs: number): Promise<number>;
  sbStreamFinish(
    run: string,
    chunks: string,
    token: string,
    type: string,
    body: string,
    ttlMs: number,
  ): Promise<number>;
  sbStreamRead(run: string, chunks: string, after: number, maxChunks: number): Promise<unknown>;
}

/** What a RedisStreamStore is bounded by: the idempotency store's options give each. */
export interface StreamStoreLimits {
  /** Key prefix, shared with the idempotency window. @default 'sb' (IdempotencyStoreOptions.prefix) */
  prefix: string;
  /** How long a run's record is kept after its last chunk, end or renewal. @default 5 min (IdempotencyStoreOptions.ttlMs) */
  ttlMs: number;
  /** How long a claim holds without a chunk or a renewal. @default 15 s (IdempotencyStoreOptions.leaseMs) */
  leaseMs: number;
  /** Chunks kept per run (the newest). @default 256 (IdempotencyStoreOptions.maxStreamChunks) */
  maxChunks: number;
}

/** Runs one Redis command, waiting for the first connection and turning failures into UNAVAILABLE. */
export type RunCommand = <T>(what: string, command: () => Promise<T>) => Promise<T>;

/** Streaming calls recorded in Redis (`broker.idempotency.streams`). Every method rejects with UNAVAILABLE while Redis is unreachable. */
export class RedisStreamStore implements StreamStore {
  readonly leaseMs: number;
  readonly #scripts: Scripts;
  readonly #redis: Redis;
  readonly #run: RunCommand;
  readonly #limits: StreamStoreLimits;

  /** On the idempotency store's connection; `run` is how that store runs a command. Made by RedisIdempotencyStore. */
  constructor(redis: Redis, limits: StreamStoreLimits, run: RunCommand) {
    this.leaseMs = limits.leaseMs;
    this.#limits = limits;
    this.#redis = redis;
    this.#run = run;
    redis.defineCommand('sbStreamBegin', { numberOfKeys: 2, lua: BEGIN_LUA });
    redis.defineCommand('sbStreamAppend', { numberOfKeys: 2, lua: APPEND_LUA });
    redis.defineCommand('sbStreamExtend', { numberOfKeys: 2, lua: EXTEND_LUA });
    redis.defineCommand('sbStreamFinish', { numberOfKeys: 2, lua: FINISH_LUA });
    redis.defineCommand('sbStreamRead', { numberOfKeys: 2, lua: READ_LUA, readOnly: true });
    this.#scripts = redis as unknown as Scripts;
  }

  #keys(key: string): [run: string, chunks: string] {
    return [`${this.#limits.prefix}:r:{${key}}`, `${this.#limits.prefix}:c:{${key}}`];
  }

  async begin(key: string, fingerprint: string): Promise<StreamClaim> {
    const token = randomBytes(8).toString('hex');
    const { leaseMs, ttlMs } = this.#limits;
    const held = await this.#run('stream begin', () =>
      this.#scripts.sbStreamBegin(...this.#keys(key), fingerprint, token, leaseMs, ttlMs),
    );
    return typeof held === 'string' ? { state: 'taken', fingerprint: held } : { state: 'claimed', token };
  }

  async append(key: string, token: string, seq: number, body: string): Promise<boolean> {
    const { leaseMs, ttlMs, maxChunks } = this.#limits;
    const done = await this.#run('stream append', () =>
      this.#scripts.sbStreamAppend(...this.#keys(key), token, seq, body, leaseMs, ttlMs, maxChunks),
    );
    return done === 1;
  }

  async extend(key: string, token: string): Promise<boolean> {
    const { leaseMs, ttlMs } = this.#limits;
    return (
      (await this.#run('stream extend', () =>
        this.#scripts.sbStreamExtend(...this.#keys(key), token, leaseMs, ttlMs),
      )) === 1
    );
  }

  async finish(key: string, token: string, type: 'end' | 'error', body: string): Promise<void> {
    await this.#run('stream finish', () =>
      this.#scripts.sbStreamFinish(...this.#keys(key), token, type, body, this.#limits.ttlMs),
    );
  }

  async read(key: string, after: number): Promise<StreamRecord | undefined> {
    const found = await this.#run('stream read', () =>
      this.#scripts.sbStreamRead(...this.#keys(key), after, this.#limits.maxChunks),
    );
    if (!Array.isArray(found)) return undefined;
    const [fingerprint, running, type, body, entries, last] = found as [
      string,
      number,
      string,
      string,
      [string, string[]][],
      string,
    ];
    const chunks = entries.map(([id, fields]) => ({ seq: Number.parseInt(id, 10), body: fields[1] as string }));
    const final = type === 'end' || type === 'error' ? { type: type as 'end' | 'error', body } : undefined;
    return { fingerprint, running: running === 1, final, chunks, last: Number(last) };
  }

  async release(key: string): Promise<void> {
    await this.#run('stream release', () => this.#redis.del(...this.#keys(key)));
  }
}
