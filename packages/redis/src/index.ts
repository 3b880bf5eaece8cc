/**
 * Switchboard's Redis broker: channels fan out across many server processes.
 *
 * @module @switchboard/redis
 */
import type { RedisBrokerOptions } from './options.js';
import { RedisBroker } from './redis-broker.js';

/** Positions are read and written once, in the contract. */
export { parsePosition } from '@switchboard/contract';
export type { BrokerHealth } from './health.js';
export {
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyEntry,
  type IdempotencyStoreOptions,
  RedisIdempotencyStore,
  sessionKey,
} from './idempotency-store.js';
export {
  type PubSubMode,
  REDIS_DEFAULTS,
  type RedisBrokerOptions,
  type RedisHistoryOptions,
} from './options.js';
export { RedisBroker, type RedisBrokerEvents } from './redis-broker.js';
export { RedisStreamStore, type RunCommand, type StreamStoreLimits } from './stream-store.js';
export { topicKeys } from './topic-commands.js';
export type { BrokerGap, GapListener } from './topic-stream.js';

/**
 * A broker on Redis, for several server processes.
 * @example
 * const broker = redisBroker({ url: 'redis://127.0.0.1:6379', prefix: 'sb' });
 * const server = createServer({ router, broker });
 */
export function redisBroker(options: RedisBrokerOptions): RedisBroker {
  return new RedisBroker(options);
}
