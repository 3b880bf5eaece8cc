import { RpcError } from '@switchboard/contract';
import { Redis, type RedisOptions } from 'ioredis';
import type { ResolvedRedisOptions } from './options.js';

/**
 * The two connections of a broker, made alike. Neither queues a command while Redis is
 * unreachable (it fails at once), nor retries or re-sends one after a lost connection (a
 * re-sent publish could be numbered twice): the broker decides what to do again.
 */
export function connectionOptions(options: ResolvedRedisOptions, role: 'command' | 'subscriber') {
  const { reconnectInitialDelayMs, reconnectMaxDelayMs, commandTimeoutMs } = options;
  return {
    connectionName: `${options.prefix}:${role}`,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The broker subscribes again itself: it must know when that is done to read back holes.
    autoResubscribe: false,
    commandTimeout: commandTimeoutMs,
    // A command unanswered this long drops the connection: a silent Redis is found as fast.
    socketTimeout: commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    // Doubling delays with full jitter, so that many nodes do not reconnect in step.
    retryStrategy: (attempt: number) =>
      10 +
      Math.round(Math.random() * Math.min(reconnectMaxDelayMs, reconnectInitialDelayMs * 2 ** Math.min(attempt, 20))),
  } satisfies RedisOptions;
}

/** Opens a connection from the broker's `url` or a copy of its `client`. */
export function openConnection(options: ResolvedRedisOptions, role: 'command' | 'subscriber'): Redis {
  const settings = connectionOptions(options, role);
  if (options.client !== undefined) return options.client.duplicate(settings);
  return new Redis(options.url as string, settings);
}

/** What a failed Redis command means to a publisher: Redis is unreachable, try again later. */
export function unavailable(error: unknown, what: string): RpcError {
  if (error instanceof RpcError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new RpcError('UNAVAILABLE', `${what}: redis is unreachable (${reason})`, undefined, { cause: error });
}

/** Closes a connection now (nothing is waited for), resolving once it has ended (bounded). */
export function disconnect(connection: Redis): Promise<void> {
  if (connection.status === 'end') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    connection.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    connection.disconnect();
  });
}

/** Pings each ready connection every `intervalMs` (unref'd), so that a dead link (no FIN) is found by the socket timeout. */
export function pingWhileOpen(connections: Redis[], intervalMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    for (const connection of connections) {
      if (connection.status === 'ready') connection.ping().catch(() => {});
    }
  }, intervalMs);
  timer.unref();
  return timer;
}
