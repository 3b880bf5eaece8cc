import { type AnyContract, type BinaryLimits, MAX_BYTE_VALUES, MIN_MAX_PAYLOAD_BYTES } from '@switchboard/contract';
import type { Broker, HistoryOptions } from '../broker/broker.js';
import type { Connection, DisconnectInfo, RefusedInfo } from './connection.js';
import type { WindowLimits } from './idempotency.js';
import type { Router } from './router.js';
import type { IdempotencyStore } from './shared-idempotency.js';

/** Bounds on what one connection may ask of the server; every one has a default. */
export interface ServerLimits {
  /**
   * Largest message a client may send, in bytes; at least 64 KiB, so that a client's batch
   * of calls always fits. @default 1 MiB
   */
  maxPayloadBytes?: number;
  /** Calls one connection may have running; more get TOO_MANY_REQUESTS. @default 1,000 */
  maxInFlightCalls?: number;
  /**
   * Bytes of client messages one connection may have in flight: a message counts while a
   * call or subscribe from it still runs (what it left in memory is its input, decoded and
   * validated). More get TOO_MANY_REQUESTS. At least maxPayloadBytes. @default 4 MiB
   */
  maxInFlightBytes?: number;
  /**
   * Longest stream key (a channel's params as sorted JSON) accepted, from a subscriber or
   * a publish: params name a stream, they do not carry data, and every subscription keeps
   * its key. Longer is BAD_REQUEST, before `authorize` runs. @default 4,096 characters
   */
  maxStreamKeyChars?: number;
  /** Subscriptions one connection may hold; more get TOO_MANY_REQUESTS. @default 100 */
  maxSubscriptions?: number;
  /**
   * Longest JSON part of a binary message (one carrying byte values), in bytes: checked
   * before it is parsed, so a message made large by its bytes cannot make JSON.parse large
   * too. Longer is BAD_REQUEST. @default 1 MiB
   */
  maxBinaryJsonBytes?: number;
  /**
   * Bytes the server holds for sending to one connection: its socket's buffer plus the
   * channel messages waiting in its lanes (and those held for its subscriptions still
   * joining). A `queue` message that does not fit closes the connection with 4001;
   * `drop-oldest` and `latest` drop, telling `onGap`. The transport also terminates a
   * socket whose own buffer would pass it. @default 4 MiB
   */
  maxBufferedBytes?: number;
  /**
   * Bytes queued for a client above which it counts as slow: channel messages for it then
   * wait per their channel's delivery policy until its socket drains. @default 1 MiB
   */
  highWaterBytes?: number;
  /** Longest a call may run, whatever deadline the client asks for; then TIMEOUT. @default 60 s */
  maxCallDurationMs?: number;
  /** On close(), how long running calls may take to finish before connections close. @default 10 s */
  drainTimeoutMs?: number;
  /**
   * How long a new connection may take to send its first message (its credentials, for
   * `context`); then it is closed with 4408. Messages sent while `context` runs wait for
   * it, within maxInFlightBytes. @default 10 s
   */
  authTimeoutMs?: number;
  /**
   * Refreshes (an `auth` on a live connection: `context` again, and every joined
   * subscription's `authorize`) one connection may make per second, on average, with a
   * burst of 10; more get TOO_MANY_REQUESTS. @default 1
   */
  maxRefreshesPerSecond?: number;
  /**
   * How long `disconnect()` waits for each round of answers from the other processes that
   * share the broker (listing their connections, then closing the picked ones); a process
   * that does not answer in time is left out of the count. @default 2 s
   */
  clusterTimeoutMs?: number;
  /**
   * Streaming calls one connection may follow (running, or ended and not yet acknowledged
   * by its client); more get TOO_MANY_REQUESTS. @default 16
   */
  maxStreams?: number;
  /**
   * Chunks a stream keeps that its client has not said it has (for a resume after a cut);
   * at this many the handler's `yield` waits. @default 256
   */
  streamBufferChunks?: number;
  /**
   * Bytes of such chunks one connection's streams keep, together (counted as 2 per
   * character); at this many their handlers wait. @default 4 MiB
   */
  streamBufferBytes?: number;
  /**
   * How long a stream whose connection is gone waits for its client to resume it; then its
   * handler's signal aborts and what it kept is freed. @default 30 s
   */
  streamIdleMs?: number;
  /**
   * Bytes of chunks kept, on this process, by the streams of connections that closed (while
   * they wait for a resume); past it the oldest of them are stopped as if their
   * streamIdleMs had passed. @default 64 MiB
   */
  streamDetachedBytes?: number;
}

/** What createServer() takes. */
export interface ServerOptions<C extends AnyContract, Ctx> {
  /** The contract and its implementation, from defineRouter(). */
  router: Router<C, Ctx>;
  /** Where publishes go. @default an in-memory broker owned (and closed) by the server */
  broker?: Broker;
  /** History per channel stream, for resuming subscribers (the default broker's; a broker you pass has its own). */
  history?: HistoryOptions;
  /** Bounds per connection. @default each limit's own, on ServerLimits */
  limits?: ServerLimits;
  /** Ping frames to detect dead clients; `false` turns them off. @default { intervalMs: 30 s, timeoutMs: 10 s } */
  heartbeat?:
    | {
        /** Time between pings. @default 30 s */
        intervalMs?: number;
        /** How long to wait for the pong before closing the connection. @default 10 s */
        timeoutMs?: number;
      }
    | false;
  /**
   * The window of recent idempotency keys: a call re-sent with its key within it runs once.
   * Its bytes count toward each connection's budget: see docs/security.md.
   */
  idempotency?: {
    /**
     * Whose keys these are, from the connection's context: a user id, say. Keys are looked
     * up within the scope only, so no caller ever gets another's outcome, and a client's
     * session follows it to its next connection at once. Without it, plain keys belong to
     * their connection, and a session key's session to the connection that opened it until
     * that connection is gone (see docs/security.md). Required with `store`.
     * @default none
     */
    scope?: (ctx: Ctx) => string;
    /** Keys one session (or one caller's plain keys) holds at most; the oldest go first. @default 10,000 */
    maxKeys?: number;
    /** Bytes one session holds at most (entries and outcome texts); the oldest go first. @default 1 MiB */
    maxSessionBytes?: number;
    /** Sessions one connection may hold at once; one more is TOO_MANY_REQUESTS. @default 2 */
    maxSessionsPerConnection?: number;
    /** Sessions in the whole window; past it the least recently used goes. @default 10,000 */
    maxSessions?: number;
    /** Bytes in the whole window; past it the least recently used session goes. @default 64 MiB */
    maxBytes?: number;
    /** How long a finished call's outcome (plain keys) or a silent session is kept. @default 5 min */
    ttlMs?: number;
    /** After a connection drops, how long its keyed calls keep running for a re-send to attach to. @default 10 s */
    reattachMs?: number;
    /**
     * A window shared with the other server processes (e.g. `broker.idempotency` of a
     * Redis broker): a call re-sent to another process then runs once in all. Costs one
     * round trip to the store before each call runs. Needs `scope`: a store shared by many
     * processes cannot tell which connection holds a session. @default none: this process only
     */
    store?: IdempotencyStore;
  };
  /** Exact-match Origin allowlist. @default any origin */
  origin?: readonly string[];
  /** Told about every failure that reaches a caller as INTERNAL (handler bugs, bad output). @default console.error */
  onError?: (error: unknown, where: { procedure?: string; channel?: string }) => void;
  /** A connection was accepted: `context` made its ctx. What it throws goes to onError. @default none */
  onConnect?: (connection: Connection<Ctx>) => void;
  /** An accepted connection closed. What it throws goes to onError. @default none */
  onDisconnect?: (connection: Connection<Ctx>, info: DisconnectInfo) => void;
  /** `context` refused a connection (UNAUTHORIZED or FORBIDDEN). @default a one-line console.warn */
  onRefused?: (info: RefusedInfo) => void;
  /**
   * When a connection's credentials expire (ms since the epoch, or a Date), from the ctx
   * `context` made of them; undefined: never. The client is told how long it has with each
   * `authenticated` (ours refreshes at 90% of it); a connection not refreshed by then is
   * closed with 4401. What it throws goes to onError (and the credentials do not expire).
   * @default none
   */
  expiresAt?: (ctx: Ctx) => number | Date | undefined;
}

/** The defaults of ServerLimits and of the heartbeat and idempotency options, flattened. */
export const SERVER_DEFAULTS = {
  maxPayloadBytes: 1024 * 1024,
  maxInFlightCalls: 1_000,
  maxInFlightBytes: 4 * 1024 * 1024,
  maxStreamKeyChars: 4096,
  maxSubscriptions: 100,
  maxBinaryJsonBytes: 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  highWaterBytes: 1024 * 1024,
  maxCallDurationMs: 60_000,
  drainTimeoutMs: 10_000,
  authTimeoutMs: 10_000,
  maxRefreshesPerSecond: 1,
  clusterTimeoutMs: 2_000,
  maxStreams: 16,
  streamBufferChunks: 256,
  streamBufferBytes: 4 * 1024 * 1024,
  streamIdleMs: 30_000,
  streamDetachedBytes: 64 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  idempotencyMaxKeys: 10_000,
  idempotencyMaxSessionBytes: 1024 * 1024,
  idempotencyMaxSessionsPerConnection: 2,
  idempotencyMaxSessions: 10_000,
  idempotencyMaxBytes: 64 * 1024 * 1024,
  idempotencyTtlMs: 5 * 60_000,
  reattachMs: 10_000,
} as const;

/** ServerOptions with every default applied and checked, as the server runs with them. */
export interface ResolvedServerOptions {
  /** `limits.maxPayloadBytes`. */
  maxPayloadBytes: number;
  /** `limits.maxInFlightCalls`. */
  maxInFlightCalls: number;
  /** `limits.maxInFlightBytes`. */
  maxInFlightBytes: number;
  /** `limits.maxStreamKeyChars`. */
  maxStreamKeyChars: number;
  /** `limits.maxSubscriptions`. */
  maxSubscriptions: number;
  /** `limits.maxBinaryJsonBytes`, with the contract's bound on byte values per message. */
  binary: BinaryLimits;
  /** `limits.maxBufferedBytes`. */
  maxBufferedBytes: number;
  /** `limits.highWaterBytes`. */
  highWaterBytes: number;
  /** `limits.maxCallDurationMs`. */
  maxCallDurationMs: number;
  /** `limits.drainTimeoutMs`. */
  drainTimeoutMs: number;
  /** `limits.authTimeoutMs`. */
  authTimeoutMs: number;
  /** `limits.maxRefreshesPerSecond`. */
  maxRefreshesPerSecond: number;
  /** `limits.clusterTimeoutMs`. */
  clusterTimeoutMs: number;
  /** `limits.maxStreams`. */
  maxStreams: number;
  /** `limits.streamBufferChunks`. */
  streamBufferChunks: number;
  /** `limits.streamBufferBytes`. */
  streamBufferBytes: number;
  /** `limits.streamIdleMs`. */
  streamIdleMs: number;
  /** `limits.streamDetachedBytes`. */
  streamDetachedBytes: number;
  /** `heartbeat.intervalMs`; 0 when the heartbeat is off. */
  heartbeatIntervalMs: number;
  /** `heartbeat.timeoutMs`. */
  heartbeatTimeoutMs: number;
  /** The bounds of the idempotency window (`idempotency.*`). */
  idempotency: WindowLimits;
  /** The application's idempotency scope of a connection's context, if it gives one. */
  idempotencyScope: ((ctx: unknown) => string) | undefined;
  /** `idempotency.reattachMs`. */
  reattachMs: number;
  /** `origin`; undefined: any origin. */
  origin: readonly string[] | undefined;
  /** `onError`, or its default. */
  onError: (error: unknown, where: { procedure?: string; channel?: string }) => void;
  /** `onConnect`, if given. */
  onConnect: ((connection: Connection) => void) | undefined;
  /** `onDisconnect`, if given. */
  onDisconnect: ((connection: Connection, info: DisconnectInfo) => void) | undefined;
  /** `onRefused`, or its default. */
  onRefused: (info: RefusedInfo) => void;
  /** `expiresAt`, if given. */
  expiresAt: ((ctx: unknown) => number | Date | undefined) | undefined;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function logRefused({ error, remoteAddress }: RefusedInfo): void {
  console.warn(
    `[switchboard] refused a connection from ${remoteAddress ?? 'an unknown address'}: ${error.code} ${error.message}`,
  );
}

function hook<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function`);
  return value;
}

function logError(error: unknown, where: { procedure?: string; channel?: string }): void {
  console.error('[switchboard]', where.procedure ?? where.channel ?? '', error);
}

type WindowOptions = Omit<NonNullable<ServerOptions<AnyContract, unknown>['idempotency']>, 'scope'>;

function resolveWindowLimits(options: WindowOptions): WindowLimits {
  const d = SERVER_DEFAULTS;
  const limits = Object.freeze({
    maxKeys: positive('idempotency.maxKeys', options.maxKeys, d.idempotencyMaxKeys),
    maxSessionBytes: positive(
      'idempotency.maxSessionBytes',
      options.maxSessionBytes,
      d.idempotencyMaxSessionBytes,
      1024,
    ),
    maxSessionsPerConnection: positive(
      'idempotency.maxSessionsPerConnection',
      options.maxSessionsPerConnection,
      d.idempotencyMaxSessionsPerConnection,
    ),
    maxSessions: positive('idempotency.maxSessions', options.maxSessions, d.idempotencyMaxSessions),
    maxBytes: positive('idempotency.maxBytes', options.maxBytes, d.idempotencyMaxBytes, 1024),
    ttlMs: positive('idempotency.ttlMs', options.ttlMs, d.idempotencyTtlMs),
  });
  if (limits.maxSessionBytes > limits.maxBytes) {
    throw new TypeError('idempotency.maxSessionBytes must not exceed idempotency.maxBytes');
  }
  return limits;
}

export function resolveServerOptions<C extends AnyContract, Ctx>(
  options: ServerOptions<C, Ctx>,
): ResolvedServerOptions {
  if (options.router === undefined) throw new TypeError('createServer needs a router');
  const limits = options.limits ?? {};
  const d = SERVER_DEFAULTS;
  const heartbeat = options.heartbeat === false ? { intervalMs: 0 } : (options.heartbeat ?? {});
  const resolved = Object.freeze({
    maxPayloadBytes: positive(
      'limits.maxPayloadBytes',
      limits.maxPayloadBytes,
      d.maxPayloadBytes,
      MIN_MAX_PAYLOAD_BYTES,
    ),
    maxInFlightCalls: positive('limits.maxInFlightCalls', limits.maxInFlightCalls, d.maxInFlightCalls),
    maxInFlightBytes: positive('limits.maxInFlightBytes', limits.maxInFlightBytes, d.maxInFlightBytes),
    maxStreamKeyChars: positive('limits.maxStreamKeyChars', limits.maxStreamKeyChars, d.maxStreamKeyChars),
    maxSubscriptions: positive('limits.maxSubscriptions', limits.maxSubscriptions, d.maxSubscriptions),
    binary: Object.freeze({
      maxJsonBytes: positive('limits.maxBinaryJsonBytes', limits.maxBinaryJsonBytes, d.maxBinaryJsonBytes),
      maxByteValues: MAX_BYTE_VALUES,
    }),
    maxBufferedBytes: positive('limits.maxBufferedBytes', limits.maxBufferedBytes, d.maxBufferedBytes),
    highWaterBytes: positive('limits.highWaterBytes', limits.highWaterBytes, d.highWaterBytes),
    maxCallDurationMs: positive('limits.maxCallDurationMs', limits.maxCallDurationMs, d.maxCallDurationMs),
    drainTimeoutMs: positive('limits.drainTimeoutMs', limits.drainTimeoutMs, d.drainTimeoutMs, 0),
    authTimeoutMs: positive('limits.authTimeoutMs', limits.authTimeoutMs, d.authTimeoutMs),
    maxRefreshesPerSecond: positive(
      'limits.maxRefreshesPerSecond',
      limits.maxRefreshesPerSecond,
      d.maxRefreshesPerSecond,
    ),
    clusterTimeoutMs: positive('limits.clusterTimeoutMs', limits.clusterTimeoutMs, d.clusterTimeoutMs),
    maxStreams: positive('limits.maxStreams', limits.maxStreams, d.maxStreams),
    streamBufferChunks: positive('limits.streamBufferChunks', limits.streamBufferChunks, d.streamBufferChunks),
    streamBufferBytes: positive('limits.streamBufferBytes', limits.streamBufferBytes, d.streamBufferBytes),
    streamIdleMs: positive('limits.streamIdleMs', limits.streamIdleMs, d.streamIdleMs),
    streamDetachedBytes: positive('limits.streamDetachedBytes', limits.streamDetachedBytes, d.streamDetachedBytes),
    heartbeatIntervalMs: positive('heartbeat.intervalMs', heartbeat.intervalMs, d.heartbeatIntervalMs, 0),
    heartbeatTimeoutMs: positive(
      'heartbeat.timeoutMs',
      'timeoutMs' in heartbeat ? heartbeat.timeoutMs : undefined,
      d.heartbeatTimeoutMs,
    ),
    idempotency: resolveWindowLimits((options.idempotency ?? {}) as WindowOptions),
    idempotencyScope: options.idempotency?.scope as ((ctx: unknown) => string) | undefined,
    reattachMs: positive('idempotency.reattachMs', options.idempotency?.reattachMs, d.reattachMs, 0),
    origin: options.origin,
    onError: hook('onError', options.onError) ?? logError,
    onConnect: hook('onConnect', options.onConnect as ResolvedServerOptions['onConnect']),
    onDisconnect: hook('onDisconnect', options.onDisconnect as ResolvedServerOptions['onDisconnect']),
    onRefused: hook('onRefused', options.onRefused) ?? logRefused,
    expiresAt: hook('expiresAt', options.expiresAt as ResolvedServerOptions['expiresAt']),
  });
  const scope = options.idempotency?.scope;
  if (scope !== undefined && typeof scope !== 'function') throw new TypeError('idempotency.scope must be a function');
  if (options.idempotency?.store !== undefined && scope === undefined) {
    throw new TypeError(
      'idempotency.store needs idempotency.scope: a window shared by many processes must know whose calls it holds',
    );
  }
  if (resolved.maxInFlightBytes < resolved.maxPayloadBytes) {
    throw new TypeError('limits.maxInFlightBytes must be at least limits.maxPayloadBytes');
  }
  if (resolved.highWaterBytes >= resolved.maxBufferedBytes) {
    throw new TypeError('limits.highWaterBytes must be below limits.maxBufferedBytes');
  }
  return resolved;
}
