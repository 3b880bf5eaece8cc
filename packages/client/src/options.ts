import {
  type AnyContract,
  type ContractFingerprint,
  contractFingerprint,
  fingerprintProblem,
} from '@switchboard/contract';
import { BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.js';
import type { HeartbeatOptions } from './connection.js';
import type { WebSocketConstructor } from './websocket-like.js';

/** Bounds of the queue of calls made while disconnected. */
export interface QueueOptions {
  /** Calls waiting at most; one more is rejected with UNAVAILABLE. @default 100 */
  maxCalls: number;
  /** Bytes of encoded calls waiting at most, in UTF-8 as they go out. @default 1 MiB */
  maxBytes: number;
  /** A call that has waited this long is rejected with UNAVAILABLE. @default 30 s */
  maxAgeMs: number;
}

/** What createClient() takes; only `url` is required. */
export interface ClientOptions<C extends AnyContract = AnyContract> {
  /** The server's ws:// or wss:// URL, or a function giving it, re-evaluated on every connection attempt. */
  url: string | (() => string | Promise<string>);
  /** A WHATWG WebSocket class. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /**
   * Credentials for the server's `context`, as any JSON value: called on every connection
   * (sent in its first message, never in the URL) and by reauthenticate(). Throw an
   * RpcError('UNAUTHORIZED') when there are none: the client then waits, 'unauthorized'.
   * @default none: the server's `context` gets `auth: undefined`
   */
  auth?: () => unknown;
  /**
   * Passing the contract turns on client-side input validation, and gives the fingerprint
   * sent to the server (below) when `fingerprint` is not given.
   * @default none: inputs are checked by the server only
   */
  contract?: C;
  /**
   * The contract this client was built with, in short (`contractFingerprint(contract)`,
   * generated at build time when only the contract's type is imported): sent in every
   * connection's first message, so that the server answers RELOAD_REQUIRED where its own
   * contract has moved on, and emits 'reloadRequired' (docs/deploy-skew.md). `false`: none.
   * @default worked out from `contract` when given; else none (the server checks nothing)
   */
  fingerprint?: ContractFingerprint | false;
  /** Default deadline of a call, in ms. @default 30 s */
  timeoutMs?: number;
  /** How long opening a connection may take. @default 10 s */
  connectTimeoutMs?: number;
  /** Reconnect after a lost connection, with full-jitter backoff; `false` turns it off. @default BACKOFF_DEFAULTS */
  reconnect?: Partial<BackoffOptions> | false;
  /** Application-level ping/pong to find dead connections; `false` turns it off. @default { intervalMs: 10 s, timeoutMs: 5 s } */
  heartbeat?: Partial<HeartbeatOptions> | false;
  /** Bounds of the offline queue. @default { maxCalls: 100, maxBytes: 1 MiB, maxAgeMs: 30 s } */
  queue?: Partial<QueueOptions>;
  /**
   * The longest message accepted from the server, in bytes (UTF-8, as on the wire). A longer
   * one is not parsed: the client emits 'error' (PAYLOAD_TOO_LARGE), closes the connection
   * (1009) and reconnects with backoff. @default 16 MiB
   */
  maxMessageBytes?: number;
}

/** The defaults of ClientOptions. */
export const CLIENT_DEFAULTS = {
  timeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  reconnect: BACKOFF_DEFAULTS,
  heartbeat: { intervalMs: 10_000, timeoutMs: 5_000 },
  queue: { maxCalls: 100, maxBytes: 1024 * 1024, maxAgeMs: 30_000 },
  maxMessageBytes: 16 * 1024 * 1024,
} as const;

export interface ResolvedClientOptions {
  url: string | (() => string | Promise<string>);
  WebSocket: WebSocketConstructor;
  auth: (() => unknown) | undefined;
  contract: AnyContract | undefined;
  fingerprint: ContractFingerprint | undefined;
  timeoutMs: number;
  connectTimeoutMs: number;
  reconnect: BackoffOptions | false;
  heartbeat: HeartbeatOptions | false;
  queue: QueueOptions;
  maxMessageBytes: number;
}

function positive(name: string, value: number | undefined, fallback: number, min = Number.MIN_VALUE): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min)) throw new TypeError(`${name} must be a number ≥ ${min}`);
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
  const d = CLIENT_DEFAULTS;
  const reconnect = options.reconnect;
  const heartbeat = options.heartbeat;
  const queue = options.queue ?? {};
  if (options.auth !== undefined && typeof options.auth !== 'function') {
    throw new TypeError('auth must be a function returning the credentials');
  }
  const fingerprint = resolveFingerprint(options);
  return Object.freeze({
    url: options.url,
    WebSocket: WebSocketClass,
    auth: options.auth,
    contract: options.contract,
    fingerprint,
    timeoutMs: positive('timeoutMs', options.timeoutMs, d.timeoutMs),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, d.connectTimeoutMs),
    reconnect:
      reconnect === false
        ? false
        : {
            initialDelayMs: positive(
              'reconnect.initialDelayMs',
              reconnect?.initialDelayMs,
              d.reconnect.initialDelayMs,
              0,
            ),
            maxDelayMs: positive('reconnect.maxDelayMs', reconnect?.maxDelayMs, d.reconnect.maxDelayMs, 0),
            factor: positive('reconnect.factor', reconnect?.factor, d.reconnect.factor, 1),
          },
    heartbeat:
      heartbeat === false
        ? false
        : {
            intervalMs: positive('heartbeat.intervalMs', heartbeat?.intervalMs, d.heartbeat.intervalMs),
            timeoutMs: positive('heartbeat.timeoutMs', heartbeat?.timeoutMs, d.heartbeat.timeoutMs),
          },
    queue: {
      maxCalls: positive('queue.maxCalls', queue.maxCalls, d.queue.maxCalls, 0),
      maxBytes: positive('queue.maxBytes', queue.maxBytes, d.queue.maxBytes, 0),
      maxAgeMs: positive('queue.maxAgeMs', queue.maxAgeMs, d.queue.maxAgeMs),
    },
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, d.maxMessageBytes, 1),
  });
}

/** The fingerprint to send: the one given, else the contract's; checked as the server will check it. */
function resolveFingerprint({ fingerprint, contract }: ClientOptions<AnyContract>): ContractFingerprint | undefined {
  if (fingerprint === false) return undefined;
  const resolved = fingerprint ?? (contract === undefined ? undefined : contractFingerprint(contract));
  const problem = resolved === undefined ? undefined : fingerprintProblem(resolved);
  if (problem !== undefined) throw new TypeError(`fingerprint: contract ${problem}`);
  return resolved;
}
