/**
 * Switchboard's Redis broker: channels fan out across many server processes.
 *
 * @module @switchboard/redis
 */
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
export { RedisBroker, type RedisBrokerEvents, redisBroker } from './redis-broker.js';
export { topicKeys } from './topic-commands.js';
export type { BrokerGap, GapListener } from './topic-stream.js';
