export { RpcError } from '@switchboard/contract';
export { createClient } from './client.js';
export { CLIENT_DEFAULTS, type ClientOptions } from './options.js';
export type {
  CallArgs,
  CallOptions,
  Client,
  ClientEvents,
  ClientState,
  MessageMeta,
  StateInfo,
  SubscribeHandlers,
  Subscription,
} from './types.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';
