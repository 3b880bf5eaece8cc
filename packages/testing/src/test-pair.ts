import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Client, type ClientOptions, type ClientState, createClient, type StateInfo } from '@switchboard/client';
import type { AnyContract } from '@switchboard/contract';
import { createServer, type Router, type ServerOptions, type SwitchboardServer } from '@switchboard/server';
import { fakeClock, type OwnedClock, realClearTimeout, realClock, realSetTimeout, type TestClock } from './clock.js';
import { DuplexWebSocket } from './duplex-websocket.js';
import { Link } from './link.js';
import { LoopbackProxy } from './loopback.js';
import { connectInMemory } from './memory-socket.js';
import { WAIT_TIMEOUT_MS } from './wait-timeout.js';

/** What createTestPair() builds: the router to serve, and how. */
export interface TestPairOptions<C extends AnyContract, Ctx> {
  /** The application's router, served as createServer() would. */
  router: Router<C, Ctx>;
  /** createServer's options besides the router. @default heartbeat as createServer's */
  server?: Omit<ServerOptions<C, Ctx>, 'router'>;
  /** createClient's options besides `url` and `WebSocket`. @default reconnect and heartbeat as createClient's */
  client?: Omit<ClientOptions<C>, 'url' | 'WebSocket'>;
  /**
   * `memory`: the client (over duplex-websocket.ts) and the server's transport talk through
   * in-memory sockets: every byte of the handshake and the frames, no TCP. `loopback`:
   * the server listens on 127.0.0.1 and the client connects through a proxy there.
   * @default 'memory'
   */
  transport?: 'memory' | 'loopback';
  /** Fake the timers, Date and performance of the whole process until close(). @default true (false with `loopback`) */
  clock?: boolean;
  /** Wait for the client to be 'open' before resolving. @default true */
  open?: boolean;
}

/** A server, a client connected to it, the link between them and the clock. */
export interface TestPair<C extends AnyContract, Ctx> {
  /** The typed client: it reconnects, queues and resumes as in production. */
  readonly client: Client<C>;
  /** The server now: after restart(), the new one. */
  readonly server: SwitchboardServer<C, Ctx>;
  /** The network between them: faults on it reach open connections and later ones. */
  readonly link: Link;
  /** The clock of the whole process while the pair lives (faked unless `clock: false`). */
  readonly clock: TestClock;
  /**
   * The server goes away and comes back with the same router and options: `crash` (the
   * default) drops every connection at once, as a killed process would; `graceful` closes
   * it (1001, calls drained). Its in-memory broker and history go with it, unless the
   * options gave a broker.
   */
  restart(options?: { graceful?: boolean }): Promise<void>;
  /** Resolves with the state info once the client is in `state` (at once if it is); bounded by `timeoutMs` of real time. */
  whenState(state: ClientState, timeoutMs?: number): Promise<StateInfo>;
  /** Closes the client and the server, and gives the process its real timers back. */
  close(): Promise<void>;
  /** close(), for `await using pair = await createTestPair(…)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A server for `router` and a typed client connected to it, with the link between them
 * under the test's control and (by default) a fake clock.
 * @example
 * const { client, server, link, clock } = await createTestPair({ router });
 * link.cut();
 * await clock.advance(30_000);
 */
export async function createTestPair<C extends AnyContract, Ctx>(
  options: TestPairOptions<C, Ctx>,
): Promise<TestPair<C, Ctx>> {
  // Loopback talks through real sockets, whose round trips take real time: real timers by default.
  const faked = options.clock ?? options.transport !== 'loopback';
  const pair = new Pair(options, faked ? fakeClock() : realClock());
  try {
    await pair.start();
    return pair;
  } catch (error) {
    await pair.close().catch(() => {});
    throw error;
  }
}

class Pair<C extends AnyContract, Ctx> implements TestPair<C, Ctx> {
  readonly link = new Link();
  readonly clock: OwnedClock;
  readonly #options: TestPairOptions<C, Ctx>;
  #server: SwitchboardServer<C, Ctx> | undefined;
  #http: HttpServer | undefined;
  #proxy: LoopbackProxy | undefined;
  #client: Client<C> | undefined;
  /** The client's last state event: whenState() answers with it when the client is there already. */
  #last: { state: ClientState; info: StateInfo } | undefined;
  #closed = false;

  constructor(options: TestPairOptions<C, Ctx>, clock: OwnedClock) {
    this.#options = options;
    this.clock = clock;
  }

  get client(): Client<C> {
    if (this.#client === undefined) throw new Error('the pair has no client yet');
    return this.#client;
  }

  get server(): SwitchboardServer<C, Ctx> {
    if (this.#server === undefined) throw new Error('the pair has no server yet');
    return this.#server;
  }

  async start(): Promise<void> {
    await this.#startServer();
    const client = createClient<C>({
      ...(this.#options.client as ClientOptions<C>),
      url: this.#proxy === undefined ? 'ws://switchboard.test/' : this.#proxy.url,
      WebSocket: this.#webSocketClass() as never,
    });
    this.#client = client;
    client.on('state', (state, info) => {
      this.#last = { state, info };
    });
    if (this.#options.open !== false) await this.whenState('open');
  }

  /** Our client end (duplex-websocket.ts) over an in-memory connection through the link, or TCP to the proxy. */
  #webSocketClass(): new (url: string, protocols?: string | string[]) => DuplexWebSocket {
    const proxy = this.#proxy;
    const open = (): Duplex =>
      proxy === undefined
        ? connectInMemory(this.link, (serverEnd) => this.#http?.emit('connection', serverEnd))
        : tcpConnect({ host: '127.0.0.1', port: proxy.port });
    return class extends DuplexWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, open);
      }
    };
  }

  async #startServer(): Promise<void> {
    this.#server = createServer({ ...this.#options.server, router: this.#options.router } as ServerOptions<C, Ctx>);
    if (this.#options.transport === 'loopback') {
      const { port } = await this.#server.listen({ port: 0, host: '127.0.0.1' });
      if (this.#proxy === undefined) this.#proxy = await LoopbackProxy.start(this.link, port);
      else this.#proxy.retarget(port);
    } else {
      this.#http = createHttpServer();
      this.#server.attach(this.#http);
    }
  }

  async restart({ graceful = false }: { graceful?: boolean } = {}): Promise<void> {
    const old = this.server;
    if (graceful) await old.close();
    else {
      this.link.resetAll();
      // The old process is gone: its closing is not waited for by anyone.
      void old.close();
    }
    await this.#startServer();
  }

  whenState(state: ClientState, timeoutMs = WAIT_TIMEOUT_MS): Promise<StateInfo> {
    const client = this.client;
    return new Promise<StateInfo>((resolve, reject) => {
      const done = (info: StateInfo) => {
        realClearTimeout(timer);
        client.off('state', listener);
        resolve(info);
      };
      const listener = (now: ClientState, info: StateInfo) => {
        if (now === state) done(info);
      };
      const timer = realSetTimeout(() => {
        client.off('state', listener);
        reject(
          new Error(`the client did not reach '${state}' within ${timeoutMs} ms (real time); it is '${client.state}'`),
        );
      }, timeoutMs);
      client.on('state', listener);
      const last = this.#last;
      if (client.state === state && last?.state === state) done(last.info);
      else if (client.state === state)
        done({ attempt: 0, nextDelayMs: undefined, queuedCalls: 0, closeCode: undefined });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // An open link (delayed and held bytes delivered now), then real time: closing
    // handshakes must not wait on a fault, or on a clock that nobody moves.
    this.link.restore();
    this.clock.uninstall();
    // Each part closes even if another fails; the first failure is thrown after.
    const results = [
      await settle(this.#client?.close()),
      await settle(this.#server?.close()),
      await settle(this.#proxy?.close()),
    ];
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function settle(promise: Promise<unknown> | undefined): Promise<PromiseSettledResult<unknown>> {
  return Promise.allSettled([promise]).then(([result]) => result as PromiseSettledResult<unknown>);
}
