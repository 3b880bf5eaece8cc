import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { FrameParserLimits } from './frame-parser.js';
import type { PerMessageDeflate, PerMessageDeflateOptions, ResolvedDeflateOptions } from './permessage-deflate.js';
import type { ServerWebSocket } from './socket.js';

/** What `verifyClient` is told about a handshake. */
export interface VerifyClientInfo {
  /** The request's Origin header, if any. */
  origin: string | undefined;
  /** The connection is TLS (wss://). */
  secure: boolean;
  /** The HTTP upgrade request. */
  req: IncomingMessage;
}

/** Refuse with `code` (default 401), an optional body and extra headers. */
export type VerifyClientCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string>,
) => void;

/**
 * Accept or refuse a handshake: return a boolean (or a promise of one), or declare a
 * second parameter and call it (ws style; the return value is then ignored).
 */
export type VerifyClient = (info: VerifyClientInfo, callback: VerifyClientCallback) => unknown;

/** Pick one of the offered subprotocols, or false for none. */
export type HandleProtocols = (protocols: Set<string>, request: IncomingMessage) => string | false;

/** What a WebSocketServer takes: ws's option names, where they exist, with limits of our own. */
export interface WebSocketServerOptions {
  /** Listen on this port (0 picks a free one); creates an http.Server. One of `port`, `server`, `noServer`: no default. */
  port?: number;
  /** With `port`: the address to bind. @default all interfaces, as `net.Server.listen` */
  host?: string;
  /** With `port`: the listen backlog. @default 511, as `net.Server.listen` */
  backlog?: number;
  /** Attach to an existing http.Server or https.Server (wss:// with your certificate). @default none */
  server?: HttpServer | HttpsServer;
  /** Neither listen nor attach: call `handleUpgrade` from your own 'upgrade' handler. @default false */
  noServer?: boolean;
  /** Accept upgrades only for this path (the query string is ignored). @default any path */
  path?: string;
  /** Largest message in bytes, summed over its fragments; holds for the compressed and the inflated size. @default 1 MiB */
  maxPayload?: number;
  /** Most frames one message may be split into. @default 1024 */
  maxFragments?: number;
  /** Bytes queued for a peer before it is deemed too slow and terminated. @default 4 MiB */
  maxBufferedBytes?: number;
  /** Deadline for a handshake that waits on `verifyClient`, and for slow request headers. @default 10 s */
  handshakeTimeoutMs?: number;
  /** How long a closing handshake may take before the TCP connection is destroyed. @default 10 s */
  closeTimeoutMs?: number;
  /** Ping a peer that has been quiet this long; 0 turns the heartbeat off. @default 30 s */
  pingIntervalMs?: number;
  /** Terminate a peer that has not answered a ping within this time. @default 10 s */
  pongTimeoutMs?: number;
  /** Exact-match Origin allowlist; a request from any other origin gets 403. @default any origin */
  origins?: readonly string[];
  /** permessage-deflate (RFC 7692). Off by default: it costs memory and CPU per connection. @default false */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Picks the subprotocol from those the client offers. @default the first offered */
  handleProtocols?: HandleProtocols;
  /** Accepts or refuses each handshake, after the Origin check. @default accept all */
  verifyClient?: VerifyClient;
  /** Keep the open sockets in `clients`. @default true */
  clientTracking?: boolean;
}

/** Limits and timeouts, each with its default. */
export const DEFAULTS = {
  maxPayloadBytes: 1024 * 1024,
  maxFragments: 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  closeTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  deflate: {
    threshold: 1024,
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    concurrencyLimit: 10,
    level: 6,
    memLevel: 8,
  },
} as const;

export interface ResolvedOptions {
  maxPayloadBytes: number;
  maxFragments: number;
  maxBufferedBytes: number;
  handshakeTimeoutMs: number;
  closeTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  path: string | undefined;
  origins: ReadonlySet<string> | undefined;
  deflate: ResolvedDeflateOptions | undefined;
  handleProtocols: HandleProtocols | undefined;
  verifyClient: VerifyClient | undefined;
  clientTracking: boolean;
}

function count(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function resolveDeflate(input: WebSocketServerOptions['perMessageDeflate']): ResolvedDeflateOptions | undefined {
  if (input === undefined || input === false) return undefined;
  const options: PerMessageDeflateOptions = input === true ? {} : input;
  const d = DEFAULTS.deflate;
  return {
    threshold: count('perMessageDeflate.threshold', options.threshold, d.threshold, 0),
    serverNoContextTakeover: options.serverNoContextTakeover ?? d.serverNoContextTakeover,
    clientNoContextTakeover: options.clientNoContextTakeover ?? d.clientNoContextTakeover,
    serverMaxWindowBits: count(
      'perMessageDeflate.serverMaxWindowBits',
      options.serverMaxWindowBits,
      d.serverMaxWindowBits,
      8,
      15,
    ),
    clientMaxWindowBits:
      options.clientMaxWindowBits === undefined
        ? undefined
        : count('perMessageDeflate.clientMaxWindowBits', options.clientMaxWindowBits, 15, 8, 15),
    concurrencyLimit: count('perMessageDeflate.concurrencyLimit', options.concurrencyLimit, d.concurrencyLimit, 1),
    level: count('perMessageDeflate.level', options.level, d.level, 0, 9),
    memLevel: count('perMessageDeflate.memLevel', options.memLevel, d.memLevel, 1, 9),
  };
}

/** Merges with DEFAULTS and validates once; bad options throw a TypeError. */
export function resolveOptions(input: WebSocketServerOptions): ResolvedOptions {
  const modes = [input.port !== undefined, input.server !== undefined, input.noServer === true].filter(Boolean).length;
  if (modes !== 1) throw new TypeError('exactly one of port, server or noServer must be given');
  if (input.path !== undefined && !input.path.startsWith('/')) throw new TypeError('path must start with /');
  return Object.freeze({
    maxPayloadBytes: count('maxPayload', input.maxPayload, DEFAULTS.maxPayloadBytes, 1),
    maxFragments: count('maxFragments', input.maxFragments, DEFAULTS.maxFragments, 1),
    maxBufferedBytes: count('maxBufferedBytes', input.maxBufferedBytes, DEFAULTS.maxBufferedBytes, 1),
    handshakeTimeoutMs: count('handshakeTimeoutMs', input.handshakeTimeoutMs, DEFAULTS.handshakeTimeoutMs, 1),
    closeTimeoutMs: count('closeTimeoutMs', input.closeTimeoutMs, DEFAULTS.closeTimeoutMs, 1),
    pingIntervalMs: count('pingIntervalMs', input.pingIntervalMs, DEFAULTS.pingIntervalMs, 0),
    pongTimeoutMs: count('pongTimeoutMs', input.pongTimeoutMs, DEFAULTS.pongTimeoutMs, 1),
    path: input.path,
    origins: input.origins === undefined ? undefined : new Set(input.origins),
    deflate: resolveDeflate(input.perMessageDeflate),
    handleProtocols: input.handleProtocols,
    verifyClient: input.verifyClient,
    clientTracking: input.clientTracking ?? true,
  });
}

/** Settings shared by every socket of a server, resolved once. */
export interface SocketConfig {
  maxPayloadBytes: number;
  /** Parser limits without and with permessage-deflate, shared by all sockets. */
  parserLimits: FrameParserLimits;
  parserLimitsCompressed: FrameParserLimits;
  maxBufferedBytes: number;
  closeTimeoutMs: number;
  /** Called once when a socket has closed, before its 'close' event. */
  onClosed: ((socket: ServerWebSocket) => void) | undefined;
}

/** What one handshake agreed on. */
export interface Negotiated {
  protocol: string;
  extensions: string;
  deflate: PerMessageDeflate | undefined;
}
