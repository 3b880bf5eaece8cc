import { EventEmitter } from 'node:events';
import { type Client, createClient } from '@switchboard/client';
import { RpcError } from '@switchboard/contract';
import {
  createServer,
  defineRouter,
  type ServerLimits,
  type ServerOptions,
  type SwitchboardServer,
} from '@switchboard/server';
import { vi } from 'vitest';
import WebSocket from 'ws';
import { once, untilEvent, within } from '../support/wait.js';
import { contract, type Rich, SECRET, type TestContract } from './fixtures/contract.js';

// One real server on 127.0.0.1:0 per test, the real client over `ws`, and a raw `ws`
// peer for what the typed client cannot send. Every wait here has a deadline.

export const PROTOCOL = 'switchboard.v1';
const DEFAULT_WAIT_MS = 3_000;

/** The settled outcome of a promise, as a value: tests assert on errors without try/catch. */
export async function settle<T>(
  promise: Promise<T>,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<{ ok: true; value: T } | { ok: false; error: RpcError }> {
  try {
    return { ok: true, value: await within(promise, timeoutMs, 'a settled promise') };
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    return { ok: false, error };
  }
}

// ── what the handlers saw ───────────────────────────────────────────────────

/** Records what ran on the server: procedure names, inputs, slow-call lifecycles, authorize calls. */
export class Probe extends EventEmitter {
  readonly handled: string[] = [];
  readonly inputs: unknown[] = [];
  readonly started = new Set<string>();
  readonly finished = new Set<string>();
  readonly aborted = new Map<string, unknown>();
  readonly authorized: string[] = [];
  readonly contexts: string[] = [];

  record(name: string, input: unknown): void {
    this.handled.push(name);
    this.inputs.push(input);
    this.emit('handled', name);
  }

  /** Resolves once the slow call `tag` has started running. */
  whenStarted(tag: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return untilEvent(this, ['started'], () => this.started.has(tag), `call '${tag}' to start`, timeoutMs);
  }

  /** Resolves with the reason once the handler's signal of `tag` has aborted. */
  async whenAborted(tag: string, timeoutMs = DEFAULT_WAIT_MS): Promise<unknown> {
    await untilEvent(this, ['aborted'], () => this.aborted.has(tag), `the signal of '${tag}' to abort`, timeoutMs);
    return this.aborted.get(tag);
  }
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Ctx {
  user: string;
}

/**
 * The router of the fixture contract. `context` reads the query string: `?auth=none`
 * refuses with UNAUTHORIZED, `?auth=banned` with FORBIDDEN, `?user=x` names the user.
 */
export function makeRouter(probe: Probe) {
  return defineRouter(contract, {
    context: ({ request }) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      probe.contexts.push(url.search);
      const auth = url.searchParams.get('auth');
      if (auth === 'none') throw new RpcError('UNAUTHORIZED', 'who are you?');
      if (auth === 'banned') throw new RpcError('FORBIDDEN', 'go away');
      if (auth === 'crash') throw new Error(`context crashed: ${SECRET}`);
      return { user: url.searchParams.get('user') ?? 'anonymous' } satisfies Ctx;
    },
    procedures: {
      'math.add': ({ input }) => {
        probe.record('math.add', input);
        return input.a + input.b;
      },
      'util.echo': async ({ input }) => {
        probe.handled.push('util.echo');
        if (input.delayMs > 0) await wait(input.delayMs);
        return { n: input.n };
      },
      'types.shift': ({ input }): Rich => {
        probe.record('types.shift', input);
        return {
          when: new Date(input.when.getTime() + 86_400_000),
          counts: new Map([...input.counts].map(([key, value]) => [key.toUpperCase(), value * 2n])),
          tags: new Set([...input.tags, 'seen']),
          big: input.big + 1n,
          maybe: undefined,
          nested: { at: input.nested.at.map((date) => new Date(date.getTime() + 1_000)) },
        };
      },
      'types.nothing': ({ input }) => {
        probe.record('types.nothing', input);
        return undefined;
      },
      'user.create': ({ input }) => {
        probe.record('user.create', input);
        return { id: `user-${input.name}` };
      },
      'slow.wait': ({ input, signal }) => {
        probe.record('slow.wait', input);
        return new Promise<string>((resolve, reject) => {
          const abort = () => {
            clearTimeout(timer);
            probe.aborted.set(input.tag, signal.reason);
            probe.emit('aborted', input.tag);
            reject(signal.reason);
          };
          const timer = setTimeout(() => {
            signal.removeEventListener('abort', abort);
            probe.finished.add(input.tag);
            probe.emit('finished', input.tag);
            resolve(`done:${input.tag}`);
          }, input.ms);
          if (signal.aborted) abort();
          else signal.addEventListener('abort', abort, { once: true });
          probe.started.add(input.tag);
          probe.emit('started', input.tag);
        });
      },
      'slow.stubborn': async ({ input }) => {
        probe.record('slow.stubborn', input);
        probe.started.add(input.tag);
        probe.emit('started', input.tag);
        await wait(input.ms);
        probe.finished.add(input.tag);
        probe.emit('finished', input.tag);
        return `done:${input.tag}`;
      },
      'fail.plain': () => {
        probe.record('fail.plain', undefined);
        throw new Error(`connect failed: ${SECRET}`);
      },
      'fail.badOutput': () => {
        probe.record('fail.badOutput', undefined);
        return 'not a number' as unknown as number;
      },
      'fail.typed': ({ input }) => {
        probe.record('fail.typed', input);
        throw new RpcError('NOT_FOUND', 'no such user', { id: input.id });
      },
    },
    channels: {
      'chat.room': {
        authorize: ({ params, ctx }) => {
          probe.authorized.push(params.room);
          probe.emit('authorize', params.room);
          return !params.room.startsWith('private') || ctx.user === 'admin';
        },
      },
    },
  });
}

// ── servers and clients, closed after each test ─────────────────────────────

const cleanups: Array<() => Promise<void> | void> = [];

/** Closes every server, client and raw socket the test opened. Call from afterEach. */
export async function closeAll(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  await Promise.allSettled(pending.map((cleanup) => within(Promise.resolve(cleanup()), 5_000, 'cleanup')));
}

export interface TestServer {
  server: SwitchboardServer<TestContract>;
  port: number;
  url: string;
  probe: Probe;
  onError: ReturnType<typeof vi.fn<NonNullable<ServerOptions<TestContract, Ctx>['onError']>>>;
}

export async function startServer(
  options: { limits?: ServerLimits } & Omit<Partial<ServerOptions<TestContract, Ctx>>, 'router' | 'onError'> = {},
): Promise<TestServer> {
  const probe = new Probe();
  const onError = vi.fn<NonNullable<ServerOptions<TestContract, Ctx>['onError']>>();
  const server = createServer({
    heartbeat: false,
    onRefused: () => {},
    ...options,
    router: makeRouter(probe),
    onError,
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return { server, port, url: `ws://127.0.0.1:${port}`, probe, onError };
}

/**
 * A typed client over `ws`; with `validate`, it also gets the contract. These suites test one connection's semantics, so reconnecting is
 * off unless asked for (the resilience suite turns it on).
 */
export function connectClient(
  url: string,
  options: { validate?: boolean; timeoutMs?: number; reconnect?: boolean } = {},
): Client<TestContract> {
  const client = createClient<TestContract>({
    url,
    WebSocket: WebSocket as never,
    ...(options.reconnect === true ? {} : { reconnect: false }),
    ...(options.validate ? { contract } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  cleanups.push(() => client.close());
  return client;
}

/** Resolves once the client is open (or rejects if it closes first). */
export function whenOpen(client: Client<TestContract>, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  if (client.state === 'open') return Promise.resolve();
  let listener = (_state: string) => {};
  return within(
    new Promise<void>((resolve, reject) => {
      listener = (state) => {
        if (state === 'open') resolve();
        else if (state === 'closed') reject(new Error('the client closed before opening'));
      };
      client.on('state', listener);
    }),
    timeoutMs,
    'the client to open',
  ).finally(() => client.off('state', listener));
}

/** A server envelope as a raw client sees it. */
export type Envelope = Record<string, unknown> & { type: string };

/** A `ws` peer speaking the protocol by hand: sends anything, records every text reply parsed. */
export class RawClient extends EventEmitter {
  readonly socket: WebSocket;
  readonly received: Envelope[] = [];
  readonly texts: string[] = [];

  constructor(url: string, options: { protocol?: string | false } = {}) {
    super();
    const protocol = options.protocol === undefined ? PROTOCOL : options.protocol;
    this.socket = protocol === false ? new WebSocket(url) : new WebSocket(url, protocol);
    this.socket.on('message', (data, isBinary) => {
      const text = data.toString();
      this.texts.push(text);
      this.received.push(isBinary ? { type: 'binary' } : (JSON.parse(text) as Envelope));
      this.emit('envelope');
    });
    this.socket.on('error', () => {}); // reported through 'close' / 'unexpected-response'
    cleanups.push(() => {
      if (this.socket.readyState === WebSocket.CLOSED) return;
      const closed = once(this.socket, 'close', 2_000).then(() => {});
      this.socket.terminate();
      return closed;
    });
  }

  static async open(url: string): Promise<RawClient> {
    const raw = new RawClient(url);
    await once(raw.socket, 'open');
    return raw;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first envelope (from index `from`) matching `predicate`, waiting for it if need be. */
  async next(predicate: (envelope: Envelope) => boolean, what: string, from = 0): Promise<Envelope> {
    const find = () => this.received.slice(from).find(predicate);
    await untilEvent(this, ['envelope'], () => find() !== undefined, what, DEFAULT_WAIT_MS);
    return find() as Envelope;
  }

  /** The reply (result or error) to request `id`. */
  reply(id: unknown): Promise<Envelope> {
    return this.next((envelope) => envelope.id === id && envelope.type !== 'message', `a reply to id ${String(id)}`);
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }
}

/** The HTTP status of a refused upgrade, seen by a raw `ws` client. */
export async function upgradeStatus(url: string): Promise<number> {
  const socket = new WebSocket(url, PROTOCOL);
  socket.on('error', () => {});
  const outcome = new Promise<number>((resolve) => {
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(101);
      socket.terminate();
    });
  });
  return within(outcome, DEFAULT_WAIT_MS, `the upgrade response of ${url}`);
}
