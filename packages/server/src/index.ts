/**
 * Switchboard's server: router, brokers, and an RFC 6455 WebSocket transport on node:http.
 *
 * @module @switchboard/server
 */
export { RpcError } from '@switchboard/contract';
export {
  type BroadcastListener,
  type BroadcastListening,
  type Broker,
  type BrokerGapListener,
  type BrokerListener,
  type BrokerPayload,
  type HistoryOptions,
  type HistoryResult,
  parsePosition,
} from './broker/broker.js';
export { MemoryBroker, memoryBroker } from './broker/memory-broker.js';
export type { Connection, DisconnectInfo, RefusedInfo } from './rpc/connection.js';
export {
  DELIVERY_DEFAULTS,
  type DeliveryOptions,
  type DeliveryPolicy,
  SLOW_CONSUMER_CLOSE_CODE,
} from './rpc/delivery.js';
export type { ChannelMetrics, IdempotencyMetrics, ProcedureMetrics, ServerMetrics } from './rpc/metrics.js';
export {
  type CtxAfter,
  defineMiddleware,
  type Middleware,
  type MiddlewareArgs,
  type MiddlewareKind,
  MiddlewareResult,
  type NextResult,
} from './rpc/middleware.js';
export { type ResolvedServerOptions, SERVER_DEFAULTS, type ServerLimits, type ServerOptions } from './rpc/options.js';
export {
  type ChannelArgs,
  type ChannelImplementation,
  type ContextArgs,
  defineRouter,
  type HandlerArgs,
  type Router,
  type RouterDefinition,
} from './rpc/router.js';
export {
  callFingerprint,
  type IdempotencyClaim,
  type IdempotencyStore,
  type IdempotencyWait,
} from './rpc/shared-idempotency.js';
export type { StreamClaim, StreamRecord, StreamStore } from './rpc/stream-store.js';
export { createServer, type ServerState, type SwitchboardServer } from './server.js';
export { WebSocketServer } from './transport/index.js';
