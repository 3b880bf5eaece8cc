import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type AnyContract,
  type ChannelName,
  type CheckedChannelName,
  CLOSE_CODES,
  encodeValue,
  issuesData,
  type KnownName,
  type MessageEnvelope,
  type ParamsOf,
  PROTOCOL,
  type PublishedMessageOf,
  RpcError,
  unnumberedMessageText,
  type Validated,
  validate,
} from '@switchboard/contract';
import type { Broker } from './broker/broker.js';
import { MemoryBroker } from './broker/memory-broker.js';
import { type Admitted, admit, refusalReason } from './rpc/admission.js';
import { serverMessage } from './rpc/binary-buffer.js';
import { resolveDeliveries } from './rpc/channel-deliveries.js';
import type { ChannelDelivery } from './rpc/delivery.js';
import { Fanout, type JoinRequest } from './rpc/fanout.js';
import { IdempotencyWindow } from './rpc/idempotency.js';
import { Metrics, type ServerMetrics } from './rpc/metrics.js';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './rpc/options.js';
import { Peer, type PeerHost } from './rpc/peer.js';
import { PendingRevocations } from './rpc/pending-revocations.js';
import { RemoteDisconnect, type RemoteMatches } from './rpc/remote-disconnect.js';
import type { Router } from './rpc/router.js';
import { SharedIdempotency } from './rpc/shared-idempotency.js';
import { StreamRegistry } from './rpc/stream-registry.js';
import type { StreamStore } from './rpc/stream-store.js';
import { paramsKey, topicOf } from './rpc/topic-key.js';
import {
  type ServerWebSocket,
  type VerifyClientCallback,
  type VerifyClientInfo,
  WebSocketServer,
  type WebSocketServerOptions,
} from './transport/index.js';

/** `idle` until listen() or attach(), `draining` while close() lets calls finish, then `closed`. */
export type ServerState = 'idle' | 'listening' | 'draining' | 'closed';

/** A Switchboard server: the router on a WebSocket endpoint, plus publishing. */
export interface SwitchboardServer<C extends AnyContract, Ctx = unknown> {
  /** Listens on its own HTTP server; port 0 picks a free port. */
  listen(options?: { port?: number; host?: string }): Promise<{ port: number }>;
  /**
   * Serves WebSocket upgrades of an existing http(s) server, optionally on one path (other
   * paths: 400, unless another 'upgrade' listener is there to answer them).
   */
  attach(server: HttpServer | HttpsServer, options?: { path?: string }): void;
  /**
   * Completes an upgrade that the application's own 'upgrade' listener routed here (beside
   * other WebSocket servers on other paths). Instead of listen() or attach(), or besides them.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sends `message` to every subscriber of `channel` with these params (validated against the contract). */
  publish<K extends string>(
    channel: CheckedChannelName<C, K>,
    params: ParamsOf<C, KnownName<K, ChannelName<C>>>,
    message: PublishedMessageOf<C, KnownName<K, ChannelName<C>>>,
  ): Promise<void>;
  /** Graceful: refuses new connections (503) and calls, lets running calls finish, closes with 1001. */
  close(): Promise<void>;
  /**
   * Closes every connection whose ctx `filter` picks, with 4401 and `reason`: their clients
   * go to 'unauthorized' and wait for new credentials (revoking a user's sessions). With a
   * broker shared by several processes (Redis), their connections too: `filter` runs here
   * on a superjson copy of each one's ctx (docs/auth.md). Resolves to the number closed,
   * counting the processes that answered within `limits.clusterTimeoutMs`.
   */
  disconnect(filter: (ctx: Ctx) => boolean, reason: string): Promise<number>;
  /** Connections, calls and latency per procedure, messages and slow subscribers per channel, event loop, memory. */
  metrics(): ServerMetrics;
  /** Where the server is in its lifecycle. */
  readonly state: ServerState;
  /** Open client connections. */
  readonly connections: number;
}

const RETRY_AFTER_SECONDS = '5';

class Server<C extends AnyContract, Ctx> implements SwitchboardServer<C, Ctx>, PeerHost {
  readonly router: Router<AnyContract, unknown>;
  readonly options: ResolvedServerOptions;
  readonly #broker: Broker;
  readonly #ownsBroker: boolean;
  readonly #fanout: Fanout;
  readonly #remote: RemoteDisconnect;
  readonly idempotency: IdempotencyWindow;
  readonly streams: StreamRegistry;
  readonly streamStore: StreamStore | undefined;
  readonly sharedIdempotency: SharedIdempotency | undefined;
  readonly counters = new Metrics();
  readonly #peers = new Set<Peer>();
  /** Connections between the upgrade and their ctx (admission.ts), and revocations they must still meet. */
  readonly #pending: PendingRevocations;
  #wss: WebSocketServer | undefined;
  #state: ServerState = 'idle';
  #onCallSettled: (() => void) | undefined;

  constructor(options: ServerOptions<C, Ctx>) {
    this.options = resolveServerOptions(options);
    this.router = options.router as unknown as Router<AnyContract, unknown>;
    this.#ownsBroker = options.broker === undefined;
    this.#broker = options.broker ?? new MemoryBroker(options.history);
    const deliveries = resolveDeliveries(this.router, this.counters, this.options.onError);
    this.#fanout = new Fanout(this.#broker, (channel) => deliveries.get(channel) as ChannelDelivery);
    const onError = (error: unknown) => this.options.onError(error, {});
    this.#pending = new PendingRevocations(onError);
    this.#remote = new RemoteDisconnect(this.#broker, () => this.#peers, this.options.clusterTimeoutMs, onError);
    this.#remote.start();
    this.idempotency = new IdempotencyWindow(this.options.idempotency);
    const { idempotency, streamDetachedBytes } = this.options;
    this.streams = new StreamRegistry(idempotency.ttlMs, idempotency.maxKeys, streamDetachedBytes);
    this.streamStore = options.idempotency?.store?.streams;
    const store = options.idempotency?.store;
    this.sharedIdempotency =
      store === undefined ? undefined : new SharedIdempotency(store, (error) => this.options.onError(error, {}));
  }

  get state(): ServerState {
    return this.#state;
  }

  get draining(): boolean {
    return this.#state === 'draining' || this.#state === 'closed';
  }

  get connections(): number {
    return this.#peers.size;
  }

  async listen({ port = 0, host }: { port?: number; host?: string } = {}): Promise<{ port: number }> {
    const wss = this.#serve(host === undefined ? { port } : { port, host });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return { port: (wss.address() as AddressInfo).port };
  }

  attach(server: HttpServer | HttpsServer, { path }: { path?: string } = {}): void {
    this.#serve(path === undefined ? { server } : { server, path });
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Closed before it ever served: nobody here to answer.
    if (this.#wss === undefined && this.#state !== 'idle') return void socket.destroy();
    const wss = this.#wss ?? this.#serve({ noServer: true });
    wss.handleUpgrade(request, socket, head, (ws, req) => wss.emit('connection', ws, req));
  }

  #serve(where: Pick<WebSocketServerOptions, 'port' | 'host' | 'server' | 'path' | 'noServer'>): WebSocketServer {
    if (this.#state !== 'idle') throw new TypeError('a server listens or attaches once');
    const { options } = this;
    const wss = new WebSocketServer({
      ...where,
      maxPayload: options.maxPayloadBytes,
      maxBufferedBytes: options.maxBufferedBytes,
      pingIntervalMs: options.heartbeatIntervalMs,
      pongTimeoutMs: options.heartbeatTimeoutMs,
      ...(options.origin === undefined ? {} : { origins: options.origin }),
      handleProtocols: selectProtocol,
      verifyClient: (info: VerifyClientInfo, callback: VerifyClientCallback) => this.#verify(info, callback),
    });
    wss.on('connection', (socket, request) => this.#connect(socket, request));
    this.#wss = wss;
    this.counters.start();
    this.#state = 'listening';
    return wss;
  }

  /** A server shutting down refuses the upgrade: 503 with Retry-After. */
  #verify(_info: VerifyClientInfo, callback: VerifyClientCallback): void {
    if (this.draining) callback(false, 503, 'server is shutting down', { 'Retry-After': RETRY_AFTER_SECONDS });
    else callback(true);
  }

  #connect(socket: ServerWebSocket, request: IncomingMessage): void {
    // RFC 6455 §4.1: without our subprotocol the client would not understand us.
    if (socket.protocol !== PROTOCOL) {
      socket.close(1002, `the ${PROTOCOL} subprotocol is required`);
      return;
    }
    // Revocations from now on also reach this connection once its ctx exists (see disconnect()).
    const since = this.#pending.admitting();
    admit(
      socket,
      request,
      this.router,
      this.options,
      (admission) => this.#admitted(socket, request, admission, since),
      () => this.#pending.admitted(),
    );
  }

  /** `context` accepted the connection: its Peer, onConnect, `authenticated`, then what waited. */
  #admitted(socket: ServerWebSocket, request: IncomingMessage, admission: Admitted, since: number): void {
    const { ctx, authId, waiting, skew } = admission;
    const revoked = this.#pending.revoked(since, ctx);
    if (revoked !== undefined) {
      socket.close(CLOSE_CODES.unauthorized, revoked);
      return;
    }
    let peer: Peer;
    try {
      // The request is kept for `context` on a refresh, and only where there is a `context`.
      peer = new Peer(socket, ctx, this, this.router.context === undefined ? undefined : request, skew);
    } catch (error) {
      // The application's idempotency.scope failed for this context: a server bug.
      this.options.onError(error, {});
      socket.close(1011, 'internal error');
      return;
    }
    this.#peers.add(peer);
    socket.once('close', () => this.#peers.delete(peer));
    const { onConnect } = this.options;
    if (onConnect !== undefined) {
      try {
        onConnect(peer.connection);
      } catch (error) {
        peer.report(error, {});
      }
    }
    peer.authenticated(authId, skew?.report());
    for (const { data, isBinary } of waiting) peer.receive(data, isBinary);
  }

  subscribe(request: JoinRequest): Promise<void> {
    return this.#fanout.add(request);
  }

  unsubscribe(peer: Peer, topic: string): void {
    this.#fanout.remove(peer, topic);
  }

  callSettled(): void {
    this.#onCallSettled?.();
  }

  publish<K extends string>(
    channelName: CheckedChannelName<C, K>,
    params: ParamsOf<C, KnownName<K, ChannelName<C>>>,
    message: PublishedMessageOf<C, KnownName<K, ChannelName<C>>>,
  ): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new RpcError('UNAVAILABLE', 'the server is closed'));
    const contract = this.router.contract;
    if (!Object.hasOwn(contract.channels, channelName)) {
      return Promise.reject(new RpcError('NOT_FOUND', `no channel '${channelName}'`));
    }
    const channel = contract.channels[channelName] as AnyContract['channels'][string];
    // Synchronous validators (zod's) reach the broker in this very call, so a message is
    // numbered in the same step as the application changed its state (exact snapshots).
    const checkedParams = validate(channel.params, params);
    const checkedMessage = validate(channel.message, message);
    if (checkedParams instanceof Promise || checkedMessage instanceof Promise) {
      return Promise.all([checkedParams, checkedMessage]).then(([p, m]) => this.#publishChecked(channelName, p, m));
    }
    try {
      return this.#publishChecked(channelName, checkedParams, checkedMessage);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #publishChecked(channelName: string, params: Validated<unknown>, message: Validated<unknown>): Promise<void> {
    if (!params.ok) throw new RpcError('BAD_REQUEST', 'invalid params', issuesData(params.issues));
    if (!message.ok) throw new RpcError('BAD_REQUEST', 'invalid message', issuesData(message.issues));
    const key = paramsKey(params.value, this.options.maxStreamKeyChars);
    const { json, meta, parts } = encodeValue(message.value);
    // Encoded once, without its position: the broker numbers it and the fan-out adds it.
    const envelope: Omit<MessageEnvelope, 'position'> =
      meta === undefined
        ? { type: 'message', channel: channelName, key, data: json }
        : { type: 'message', channel: channelName, key, data: json, meta };
    const text = unnumberedMessageText(envelope);
    const payload = serverMessage(text, parts);
    return this.#broker.publish(topicOf(channelName, key), payload).then(() => undefined);
  }

  async disconnect(filter: (ctx: Ctx) => boolean, reason: string): Promise<number> {
    if (typeof filter !== 'function') throw new TypeError('disconnect needs a filter function of the ctx');
    const text = refusalReason('UNAUTHORIZED', String(reason));
    // This process's connections as they are now: one that opens while other processes
    // answer (the user signing in again) is not picked.
    const matching = [...this.#peers].filter((peer) => peer.socket.state === 'open' && filter(peer.ctx as Ctx));
    // Connections whose `context` is running now (credentials checked before this call)
    // meet the filter when their ctx exists.
    const takeBack = this.#pending.add(filter as (ctx: unknown) => boolean, text);
    let remote: RemoteMatches;
    try {
      // Every filter answer before any close: one that throws closes nothing.
      remote = await this.#remote.find(filter as (ctx: unknown) => boolean);
    } catch (error) {
      takeBack();
      throw error;
    }
    for (const peer of matching) if (peer.socket.state === 'open') peer.socket.close(CLOSE_CODES.unauthorized, text);
    return matching.length + (await this.#remote.close(remote, text));
  }

  metrics(): ServerMetrics {
    let inFlight = 0;
    for (const peer of this.#peers) inFlight += peer.inFlightCalls;
    return this.counters.snapshot({
      connections: this.#peers.size,
      inFlight,
      subscribers: this.#fanout.subscribersByChannel(),
      idempotency: {
        keys: this.idempotency.size,
        sessions: this.idempotency.sessionCount,
        bytes: this.idempotency.bytes,
        waiting: this.idempotency.waiting,
      },
      streams: this.streams.size,
    });
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'draining') return;
    const wss = this.#wss;
    this.#state = 'draining';
    // A stream can run for ever: its client is told UNAVAILABLE and may resume on another process.
    this.streams.close();
    await this.#drainCalls();
    if (wss !== undefined) await new Promise<void>((resolve) => wss.close(() => resolve()));
    this.#state = 'closed';
    this.counters.stop();
    await this.#remote.stop();
    this.sharedIdempotency?.close();
    if (this.#ownsBroker) await this.#broker.close();
  }

  /** Waits until no call is running, or drainTimeoutMs. */
  #drainCalls(): Promise<void> {
    const running = () => {
      let count = 0;
      for (const peer of this.#peers) count += peer.inFlightCalls;
      return count;
    };
    if (running() === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#onCallSettled = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.options.drainTimeoutMs);
      this.#onCallSettled = () => {
        if (running() === 0) done();
      };
    });
  }
}

/**
 * `switchboard.v1` when offered. Otherwise another `switchboard.*` version is selected, only
 * so that the connection opens and can be closed with 1002: a client of another version
 * then stops, where a refused handshake would look like a network failure and be retried.
 */
function selectProtocol(protocols: Set<string>): string | false {
  if (protocols.has(PROTOCOL)) return PROTOCOL;
  for (const protocol of protocols) if (protocol.startsWith('switchboard.')) return protocol;
  return false;
}

/**
 * A Switchboard server for a router.
 * @example
 * const server = createServer({ router });
 * const { port } = await server.listen({ port: 8080 });
 */
export function createServer<C extends AnyContract, Ctx>(options: ServerOptions<C, Ctx>): SwitchboardServer<C, Ctx> {
  return new Server(options);
}
