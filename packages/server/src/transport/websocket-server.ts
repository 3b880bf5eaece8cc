import { EventEmitter } from 'node:events';
import { createServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { acceptKey, checkUpgradeRequest, refuseUpgrade, switchingProtocolsResponse } from './handshake.js';
import {
  type ResolvedOptions,
  resolveOptions,
  type SocketConfig,
  type VerifyClientCallback,
  type WebSocketServerOptions,
} from './options.js';
import { type DeflateParams, negotiateDeflate, PerMessageDeflate, ZlibLimiter } from './permessage-deflate.js';
import { ServerWebSocket } from './socket.js';

/** `closing` from close() until every socket and the server it owns are closed. */
export type WebSocketServerState = 'listening' | 'closing' | 'closed';

/** The events of a WebSocketServer, with their arguments. */
export interface WebSocketServerEvents {
  /** A handshake completed: the new socket and its upgrade request. */
  connection: [socket: ServerWebSocket, request: IncomingMessage];
  /** The 101 response headers, before they are written; push to add your own. */
  headers: [headers: string[], request: IncomingMessage];
  /** The http.Server it created (with `port`) is listening. */
  listening: [];
  /** The http.Server it created failed (the port is taken, say). */
  error: [error: Error];
  /** close() finished. */
  close: [];
}

type Verdict = { ok: true } | { ok: false; status: number; message: string; headers?: Record<string, string> };

const SHUTDOWN_RETRY_AFTER_SECONDS = '5';

/**
 * An RFC 6455 WebSocket server on node:http.
 * @example
 * const wss = new WebSocketServer({ port: 9001 });
 * wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
 */
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  /** Open sockets (empty when `clientTracking` is off). */
  readonly clients: ReadonlySet<ServerWebSocket>;
  /** The options with their defaults applied and checked. */
  readonly options: ResolvedOptions;

  #state: WebSocketServerState = 'listening';
  readonly #httpServer: HttpServer | HttpsServer | undefined;
  readonly #ownsHttpServer: boolean;
  readonly #onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #limiter: ZlibLimiter | undefined;
  readonly #live = new Set<ServerWebSocket>();
  readonly #socketConfig: SocketConfig;
  #heartbeat: NodeJS.Timeout | undefined;

  /** Starts listening, attaches, or waits for handleUpgrade(), per `options`; a bad option is a TypeError. */
  constructor(options: WebSocketServerOptions, onListening?: () => void) {
    super();
    this.options = resolveOptions(options);
    const { maxPayloadBytes, maxFragments, maxBufferedBytes, closeTimeoutMs } = this.options;
    this.clients = this.options.clientTracking ? this.#live : new Set();
    this.#socketConfig = {
      maxPayloadBytes,
      parserLimits: { maxPayloadBytes, maxFragments, compression: false },
      parserLimitsCompressed: { maxPayloadBytes, maxFragments, compression: true },
      maxBufferedBytes,
      closeTimeoutMs,
      onClosed: (socket) => {
        this.#live.delete(socket);
        if (this.#live.size === 0) this.#stopHeartbeat();
        this.#closeWhenEmpty();
      },
    };
    this.#limiter = this.options.deflate ? new ZlibLimiter(this.options.deflate.concurrencyLimit) : undefined;
    this.#onUpgrade = (request, socket, head) => {
      if (!this.#matchesPath(request)) {
        // Another 'upgrade' listener may own this path; alone, we refuse it.
        if (this.#httpServer !== undefined && this.#httpServer.listenerCount('upgrade') > 1) return;
        refuseUpgrade(socket, 400, 'unknown path');
        return;
      }
      this.handleUpgrade(request, socket, head, (ws, req) => this.emit('connection', ws, req));
    };
    if (onListening) this.once('listening', onListening);

    if (options.port !== undefined) {
      // Node checks header deadlines on an interval (30 s by default): check often enough.
      const connectionsCheckingInterval = Math.max(
        100,
        Math.min(1000, Math.floor(this.options.handshakeTimeoutMs / 2)),
      );
      const server = createServer({ connectionsCheckingInterval }, (_request, response) => {
        const body = 'Upgrade Required';
        response.writeHead(426, {
          'Content-Type': 'text/plain',
          'Content-Length': body.length,
          Upgrade: 'websocket',
          Connection: 'close',
        });
        response.end(body);
      });
      // Slow request headers (slowloris) are cut off by Node before the upgrade event.
      server.headersTimeout = this.options.handshakeTimeoutMs;
      server.requestTimeout = this.options.handshakeTimeoutMs;
      this.#httpServer = server;
      this.#ownsHttpServer = true;
      server.on('listening', () => this.emit('listening'));
      server.on('error', (error) => this.emit('error', error));
      server.on('upgrade', this.#onUpgrade);
      server.listen(options.port, options.host, options.backlog);
    } else if (options.server !== undefined) {
      this.#httpServer = options.server;
      this.#ownsHttpServer = false;
      options.server.on('upgrade', this.#onUpgrade);
    } else {
      this.#httpServer = undefined;
      this.#ownsHttpServer = false;
    }
  }

  /** 'listening' | 'closing' | 'closed'. */
  get state(): WebSocketServerState {
    return this.#state;
  }

  /** The bound address when listening on a port or attached to a listening server. */
  address(): AddressInfo | string | null {
    return this.#httpServer?.address() ?? null;
  }

  /** Does this request's path belong to this server? */
  shouldHandle(request: IncomingMessage): boolean {
    return this.#matchesPath(request);
  }

  /**
   * Completes (or refuses) an upgrade. Use with `noServer` from your own 'upgrade'
   * handler; `callback` receives the open socket. Never throws for peer input.
   */
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (socket: ServerWebSocket, request: IncomingMessage) => void,
  ): void {
    socket.on('error', destroyOnError);
    try {
      this.#upgrade(request, socket, head, callback);
    } catch {
      refuseUpgrade(socket, 500, 'internal error');
    }
  }

  /**
   * Stops accepting upgrades (later ones get 503), closes every socket with 1001,
   * and calls back once all are closed (or destroyed at their close timeout).
   */
  close(callback?: (error?: Error) => void): void {
    if (this.#state === 'closed') {
      callback?.(new Error('the server is not running'));
      return;
    }
    if (callback) this.once('close', () => callback());
    if (this.#state !== 'listening') return;
    this.#state = 'closing';
    if (this.#ownsHttpServer) this.#httpServer?.close();
    for (const socket of this.#live) socket.close(1001, 'server shutting down');
    this.#closeWhenEmpty();
  }

  #closeWhenEmpty(): void {
    if (this.#state !== 'closing' || this.#live.size > 0) return;
    this.#state = 'closed';
    this.#stopHeartbeat();
    if (!this.#ownsHttpServer) this.#httpServer?.off('upgrade', this.#onUpgrade);
    this.emit('close');
  }

  #matchesPath(request: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = request.url ?? '';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === path;
  }

  #upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (socket: ServerWebSocket, request: IncomingMessage) => void,
  ): void {
    if (this.#state !== 'listening') {
      refuseUpgrade(socket, 503, 'server is shutting down', { 'Retry-After': SHUTDOWN_RETRY_AFTER_SECONDS });
      return;
    }
    const check = checkUpgradeRequest(request);
    if (!check.ok) {
      refuseUpgrade(socket, check.status, check.message, check.headers);
      return;
    }

    // RFC 6455 §10.2: a server that checks origins answers a foreign one with 403.
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;
    const origins = this.options.origins;
    if (origins !== undefined && (origin === undefined || !origins.has(origin))) {
      refuseUpgrade(socket, 403, 'origin not allowed');
      return;
    }

    // RFC 6455 §4.2.2: select at most one of the offered subprotocols.
    let protocol = '';
    if (check.protocols.length > 0) {
      const choose = this.options.handleProtocols;
      const chosen = choose ? choose(new Set(check.protocols), request) : check.protocols[0];
      if (typeof chosen === 'string') {
        if (!check.protocols.includes(chosen))
          throw new TypeError('handleProtocols must return an offered protocol or false');
        protocol = chosen;
      }
    }

    let deflate: { response: string; params: DeflateParams } | null = null;
    if (this.options.deflate !== undefined && check.extensions.length > 0) {
      deflate = negotiateDeflate(check.extensions, this.options.deflate);
    }

    const complete = () => this.#complete(request, socket, head, check.key, protocol, deflate, callback);
    const verify = this.options.verifyClient;
    if (verify === undefined) {
      complete();
      return;
    }

    // verifyClient may be asynchronous: bound it, and watch the socket meanwhile.
    let settled = false;
    const timer = setTimeout(
      () => settle({ ok: false, status: 408, message: 'handshake timed out' }),
      this.options.handshakeTimeoutMs,
    );
    timer.unref();
    const settle = (verdict: Verdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (socket.destroyed) return;
      if (!verdict.ok) refuseUpgrade(socket, verdict.status, verdict.message, verdict.headers);
      else if (this.#state !== 'listening')
        refuseUpgrade(socket, 503, 'server is shutting down', { 'Retry-After': SHUTDOWN_RETRY_AFTER_SECONDS });
      else complete();
    };
    const refused = (code = 401, message = '', headers?: Record<string, string>): Verdict =>
      headers === undefined ? { ok: false, status: code, message } : { ok: false, status: code, message, headers };
    const info = { origin, secure: isTls(socket), req: request };
    const failed = () => settle({ ok: false, status: 500, message: 'verifyClient failed' });

    if (verify.length >= 2) {
      const done: VerifyClientCallback = (result, code, message, headers) =>
        settle(result ? { ok: true } : refused(code, message, headers));
      try {
        verify(info, done);
      } catch {
        failed();
      }
      return;
    }
    let result: unknown;
    try {
      result = verify(info, ignoreCallback);
    } catch {
      failed();
      return;
    }
    if (!(result instanceof Promise)) settle(result === true ? { ok: true } : refused());
    else result.then((ok) => settle(ok === true ? { ok: true } : refused()), failed);
  }

  #complete(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    key: string,
    protocol: string,
    deflate: { response: string; params: DeflateParams } | null,
    callback: (socket: ServerWebSocket, request: IncomingMessage) => void,
  ): void {
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    const headers = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`];
    if (protocol !== '') headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    if (deflate !== null) headers.push(`Sec-WebSocket-Extensions: ${deflate.response}`);
    this.emit('headers', headers, request);
    socket.write(switchingProtocolsResponse(headers));
    socket.off('error', destroyOnError);

    const options = this.options;
    const ws = new ServerWebSocket(socket as Socket, head, this.#socketConfig, {
      protocol,
      extensions: deflate?.response ?? '',
      deflate:
        deflate !== null && options.deflate !== undefined && this.#limiter !== undefined
          ? new PerMessageDeflate(deflate.params, options.deflate, this.#limiter, options.maxPayloadBytes)
          : undefined,
    });
    this.#live.add(ws);
    this.#startHeartbeat();
    callback(ws, request);
  }

  /** One timer for every connection, not one per socket. */
  #startHeartbeat(): void {
    const { pingIntervalMs, pongTimeoutMs } = this.options;
    if (pingIntervalMs === 0 || this.#heartbeat !== undefined) return;
    const tickMs = Math.max(10, Math.floor(Math.min(pingIntervalMs, pongTimeoutMs) / 4));
    // Time as ticks × tickMs: small integers, which a socket keeps without a heap number (for
    // the first 12 days of a running timer; correct after, at 16 bytes per socket). A server
    // whose event loop stalls counts the stall as one tick: its own pause kills no peer.
    let ticks = 0;
    this.#heartbeat = setInterval(() => {
      const now = ++ticks * tickMs;
      for (const socket of this.#live) socket.checkHeartbeat(now, pingIntervalMs, pongTimeoutMs);
    }, tickMs);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}

function ignoreCallback(): void {}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function isTls(socket: Duplex): boolean {
  return (socket as { encrypted?: boolean }).encrypted === true;
}
