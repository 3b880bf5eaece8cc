import type { Redis } from 'ioredis';
import type { IdempotencyStoreOptions } from './idempotency-store.js';

/** How a Redis broker keeps each topic's history. */
export interface RedisHistoryOptions {
  /** Messages a subscriber coming back can be replayed, per topic. @default 1,000 */
  maxMessages?: number;
  /** How long a message can be replayed. @default 2 min */
  maxAgeMs?: number;
  /**
   * How long a topic's numbering (its epoch and counter) outlives its last publish. After
   * that the topic starts a new epoch: a subscriber that kept an older position gets a gap.
   * At least `maxAgeMs`. @default 1 day
   */
  topicTtlMs?: number;
}

/**
 * `sharded`: SSUBSCRIBE/SPUBLISH (Redis ≥ 7). `classic`: SUBSCRIBE/PUBLISH. `auto`: sharded
 * when the server knows SPUBLISH. Every node on one Redis must use the same.
 */
export type PubSubMode = 'auto' | 'sharded' | 'classic';

/** What redisBroker() and `new RedisBroker()` take: where Redis is, and how to use it. */
export interface RedisBrokerOptions {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. Give this or `client`: no default. */
  url?: string;
  /**
   * An ioredis instance to copy the connection settings from (`duplicate()`): the broker
   * opens its own two connections (commands, subscriptions) with its own timeouts and
   * closes them in `close()`. The instance itself is neither used nor closed. Give this or
   * `url`: no default.
   */
  client?: Redis;
  /** Prefix of every key and channel, so several applications can share one Redis. @default 'sb' */
  prefix?: string;
  /** Each topic's history, for resuming subscribers. @default each bound's own, on RedisHistoryOptions */
  history?: RedisHistoryOptions;
  /** Which pub/sub commands carry messages. @default 'auto' */
  pubsub?: PubSubMode;
  /**
   * A command without a reply for this long fails (publish: UNAVAILABLE) and the connection
   * is dropped and made again: a Redis that went silent is found this fast. @default 3,000
   */
  commandTimeoutMs?: number;
  /** Reconnect delays: doubling from `initialDelayMs` up to `maxDelayMs`, with jitter. */
  reconnect?: {
    /** The first delay. @default 50 ms */
    initialDelayMs?: number;
    /** No delay is longer than this. @default 2,000 ms */
    maxDelayMs?: number;
  };
  /** Idle connections are pinged this often, so a dead link is noticed without traffic. @default 10,000 */
  pingIntervalMs?: number;
  /**
   * A publish made before the first connection is up waits for it this long (later, while
   * Redis is down, a publish fails at once). @default 5,000
   */
  connectTimeoutMs?: number;
  /**
   * Bounds of the shared idempotency window and stream records (`broker.idempotency`):
   * how long outcomes and records are kept, how long a run's claim holds, how much a
   * session and a stream keep. @default IdempotencyStoreOptions' defaults
   */
  idempotency?: Pick<
    IdempotencyStoreOptions,
    'ttlMs' | 'leaseMs' | 'maxKeysPerSession' | 'maxSessionBytes' | 'maxStreamChunks'
  >;
}

/** The defaults of RedisBrokerOptions and RedisHistoryOptions, flattened. */
export const REDIS_DEFAULTS = {
  prefix: 'sb',
  maxMessages: 1_000,
  maxAgeMs: 120_000,
  topicTtlMs: 86_400_000,
  pubsub: 'auto',
  commandTimeoutMs: 3_000,
  reconnectInitialDelayMs: 50,
  reconnectMaxDelayMs: 2_000,
  pingIntervalMs: 10_000,
  connectTimeoutMs: 5_000,
} as const;

export interface ResolvedRedisOptions {
  readonly url: string | undefined;
  readonly client: Redis | undefined;
  readonly prefix: string;
  readonly maxMessages: number;
  readonly maxAgeMs: number;
  readonly topicTtlMs: number;
  readonly pubsub: PubSubMode;
  readonly commandTimeoutMs: number;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly pingIntervalMs: number;
  readonly connectTimeoutMs: number;
  /** `idempotency`, with the broker's prefix and connectTimeoutMs (the store checks the rest). */
  readonly idempotency: IdempotencyStoreOptions;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

/** Merges the defaults and checks every option once, at construction. */
export function resolveRedisOptions(input: RedisBrokerOptions): ResolvedRedisOptions {
  if ((input.url === undefined) === (input.client === undefined)) {
    throw new TypeError('redisBroker needs exactly one of `url` and `client`');
  }
  if (input.client !== undefined && (input.client as { isCluster?: boolean }).isCluster === true) {
    throw new TypeError('an ioredis Cluster is not supported yet: pass a standalone or Sentinel client');
  }
  const prefix = input.prefix ?? REDIS_DEFAULTS.prefix;
  // The topic is the hash tag: a brace in the prefix would move it.
  if (prefix === '' || /[{}\s]/.test(prefix)) throw new TypeError('prefix must be non-empty, without braces or spaces');
  const pubsub = input.pubsub ?? REDIS_DEFAULTS.pubsub;
  if (!['auto', 'sharded', 'classic'].includes(pubsub)) throw new TypeError(`unknown pubsub mode ${String(pubsub)}`);
  const history = input.history ?? {};
  const maxAgeMs = positive('history.maxAgeMs', history.maxAgeMs, REDIS_DEFAULTS.maxAgeMs);
  const topicTtlMs = positive('history.topicTtlMs', history.topicTtlMs, Math.max(REDIS_DEFAULTS.topicTtlMs, maxAgeMs));
  if (topicTtlMs < maxAgeMs) throw new TypeError('history.topicTtlMs must be at least history.maxAgeMs');
  const reconnectInitialDelayMs = positive(
    'reconnect.initialDelayMs',
    input.reconnect?.initialDelayMs,
    REDIS_DEFAULTS.reconnectInitialDelayMs,
  );
  const reconnectMaxDelayMs = positive(
    'reconnect.maxDelayMs',
    input.reconnect?.maxDelayMs,
    Math.max(REDIS_DEFAULTS.reconnectMaxDelayMs, reconnectInitialDelayMs),
  );
  const connectTimeoutMs = positive('connectTimeoutMs', input.connectTimeoutMs, REDIS_DEFAULTS.connectTimeoutMs);
  return Object.freeze({
    url: input.url,
    client: input.client,
    prefix,
    maxMessages: positive('history.maxMessages', history.maxMessages, REDIS_DEFAULTS.maxMessages),
    maxAgeMs,
    topicTtlMs,
    pubsub,
    commandTimeoutMs: positive('commandTimeoutMs', input.commandTimeoutMs, REDIS_DEFAULTS.commandTimeoutMs),
    reconnectInitialDelayMs,
    reconnectMaxDelayMs,
    pingIntervalMs: positive('pingIntervalMs', input.pingIntervalMs, REDIS_DEFAULTS.pingIntervalMs),
    connectTimeoutMs,
    idempotency: { ...input.idempotency, prefix, connectTimeoutMs },
  });
}
