/**
 * Switchboard's typed client over any WHATWG WebSocket.
 *
 * @module @switchboard/client
 */
export {
  type ContractFingerprint,
  type ContractSkew,
  type ReloadRequiredData,
  RpcError,
  type SkewReason,
  type StreamLostData,
} from '@switchboard/contract';
export { BACKOFF_DEFAULTS, type BackoffOptions, backoffDelayMs } from './backoff.js';
export { createClient } from './client.js';
export { HEARTBEAT_TIMEOUT_CODE, type HeartbeatOptions } from './connection.js';
export { CLIENT_DEFAULTS, type ClientOptions, type QueueOptions } from './options.js';
export type {
  CallArgs,
  CallOptions,
  Client,
  ClientEvents,
  ClientState,
  ClientStream,
  GapInfo,
  Joined,
  MessageMeta,
  StateInfo,
  StreamArgs,
  StreamChunkMeta,
  StreamOptions,
  SubscribeHandlers,
  Subscription,
} from './types.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';
