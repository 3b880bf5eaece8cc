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
export {
  type BrokerHealth,
  parsePosition,
  RedisBroker,
  type RedisBrokerEvents,
  redisBroker,
  topicKeys,
} from './redis-broker.js';
export type { BrokerGap, GapListener } from './topic-stream.js';
