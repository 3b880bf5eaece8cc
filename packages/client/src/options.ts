import type { AnyContract } from '@switchboard/contract';
import type { WebSocketConstructor } from './websocket-like.js';

export interface ClientOptions<C extends AnyContract = AnyContract> {
  /** The server's ws:// or wss:// URL, or a function giving it (re-evaluated on every connection attempt). */
  url: string | (() => string | Promise<string>);
  /** A WHATWG WebSocket class. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Passing the contract turns on client-side input validation. */
  contract?: C;
  /** Default deadline of a call, in ms. @default 30 s */
  timeoutMs?: number;
  /** How long opening a connection may take. @default 10 s */
  connectTimeoutMs?: number;
  /** Calls and subscriptions waiting for the connection, at most. @default 1,000 */
  maxQueued?: number;
}

export const CLIENT_DEFAULTS = {
  timeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxQueued: 1_000,
} as const;

export interface ResolvedClientOptions {
  url: string | (() => string | Promise<string>);
  WebSocket: WebSocketConstructor;
  contract: AnyContract | undefined;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxQueued: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new TypeError(`${name} must be a positive number`);
  return value;
}

export function resolveOptions<C extends AnyContract>(options: ClientOptions<C>): ResolvedClientOptions {
  if (typeof options.url !== 'string' && typeof options.url !== 'function') {
    throw new TypeError('createClient needs a url');
  }
  const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WebSocketClass === undefined) {
    throw new TypeError('no WebSocket: pass one (e.g. `WebSocket` from the ws package) as options.WebSocket');
  }
  return Object.freeze({
    url: options.url,
    WebSocket: WebSocketClass,
    contract: options.contract,
    timeoutMs: positive('timeoutMs', options.timeoutMs, CLIENT_DEFAULTS.timeoutMs),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, CLIENT_DEFAULTS.connectTimeoutMs),
    maxQueued: positive('maxQueued', options.maxQueued, CLIENT_DEFAULTS.maxQueued),
  });
}
