import { type AnyContract, MIN_MAX_PAYLOAD_BYTES } from '@switchboard/contract';
import type { Broker, HistoryOptions } from '../broker/broker.js';
import type { Router } from './router.js';
import type { IdempotencyStore } from './shared-idempotency.js';

export interface ServerLimits {
  /**
   * Largest message a client may send, in bytes; at least 64 KiB, so that a client's batch
   * of calls always fits. @default 1 MiB
   */
  maxPayloadBytes?: number;
  /** Calls one connection may have running; more get TOO_MANY_REQUESTS. @default 1,000 */
  maxInFlightCalls?: number;
  /** Subscriptions one connection may hold; more get TOO_MANY_REQUESTS. @default 100 */
  maxSubscriptions?: number;
  /** Bytes queued for a client that does not read before it is disconnected. @default 4 MiB */
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
}

export interface ServerOptions<C extends AnyContract, Ctx> {
  router: Router<C, Ctx>;
  /** Where publishes go. @default an in-memory broker owned (and closed) by the server */
  broker?: Broker;
  /** History per channel stream, for resuming subscribers (the default broker's; a broker you pass has its own). */
  history?: HistoryOptions;
  limits?: ServerLimits;
  /** Ping frames to detect dead clients; `false` turns them off. @default { intervalMs: 30 s, timeoutMs: 10 s } */
  heartbeat?: { intervalMs?: number; timeoutMs?: number } | false;
  /** The window of recent idempotency keys: a call re-sent with its key within it runs once. */
  idempotency?: {
    /** Keys remembered at most. @default 10,000 */
    maxKeys?: number;
    /** How long a finished call's outcome is kept. @default 5 min */
    ttlMs?: number;
    /** After a connection drops, how long its keyed calls keep running for a re-send to attach to. @default 10 s */
    reattachMs?: number;
    /**
     * A window shared with the other server processes (e.g. `broker.idempotency` of a
     * Redis broker): a call re-sent to another process then runs once in all. Costs one
     * round trip to the store before each call runs. @default none: this process only
     */
    store?: IdempotencyStore;
  };
  /** Exact-match Origin allowlist. @default any origin */
  origin?: readonly string[];
  /** Told about every failure that reaches a caller as INTERNAL (handler bugs, bad output). @default console.error */
  onError?: (error: unknown, where: { procedure?: string; channel?: string }) => void;
}

export const SERVER_DEFAULTS = {
  maxPayloadBytes: 1024 * 1024,
  maxInFlightCalls: 1_000,
  maxSubscriptions: 100,
  maxBufferedBytes: 4 * 1024 * 1024,
  highWaterBytes: 1024 * 1024,
  maxCallDurationMs: 60_000,
  drainTimeoutMs: 10_000,
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  idempotencyMaxKeys: 10_000,
  idempotencyTtlMs: 5 * 60_000,
  reattachMs: 10_000,
} as const;

export interface ResolvedServerOptions {
  maxPayloadBytes: number;
  maxInFlightCalls: number;
  maxSubscriptions: number;
  maxBufferedBytes: number;
  highWaterBytes: number;
  maxCallDurationMs: number;
  drainTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  idempotencyMaxKeys: number;
  idempotencyTtlMs: number;
  reattachMs: number;
  origin: readonly string[] | undefined;
  onError: (error: unknown, where: { procedure?: string; channel?: string }) => void;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function logError(error: unknown, where: { procedure?: string; channel?: string }): void {
  console.error('[switchboard]', where.procedure ?? where.channel ?? '', error);
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
    maxSubscriptions: positive('limits.maxSubscriptions', limits.maxSubscriptions, d.maxSubscriptions),
    maxBufferedBytes: positive('limits.maxBufferedBytes', limits.maxBufferedBytes, d.maxBufferedBytes),
    highWaterBytes: positive('limits.highWaterBytes', limits.highWaterBytes, d.highWaterBytes),
    maxCallDurationMs: positive('limits.maxCallDurationMs', limits.maxCallDurationMs, d.maxCallDurationMs),
    drainTimeoutMs: positive('limits.drainTimeoutMs', limits.drainTimeoutMs, d.drainTimeoutMs, 0),
    heartbeatIntervalMs: positive('heartbeat.intervalMs', heartbeat.intervalMs, d.heartbeatIntervalMs, 0),
    heartbeatTimeoutMs: positive(
      'heartbeat.timeoutMs',
      'timeoutMs' in heartbeat ? heartbeat.timeoutMs : undefined,
      d.heartbeatTimeoutMs,
    ),
    idempotencyMaxKeys: positive('idempotency.maxKeys', options.idempotency?.maxKeys, d.idempotencyMaxKeys),
    idempotencyTtlMs: positive('idempotency.ttlMs', options.idempotency?.ttlMs, d.idempotencyTtlMs),
    reattachMs: positive('idempotency.reattachMs', options.idempotency?.reattachMs, d.reattachMs, 0),
    origin: options.origin,
    onError: options.onError ?? logError,
  });
  if (resolved.highWaterBytes >= resolved.maxBufferedBytes) {
    throw new TypeError('limits.highWaterBytes must be below limits.maxBufferedBytes');
  }
  return resolved;
}
