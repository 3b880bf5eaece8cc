export {
  callFingerprint,
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyClaim,
  type IdempotencyEntry,
  type IdempotencyStoreOptions,
  type IdempotencyWait,
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
