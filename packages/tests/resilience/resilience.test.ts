import { type Client, createClient, type RpcError } from '@switchboard/client';
import { channel, defineContract, procedure } from '@switchboard/contract';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { until } from '../support/wait.js';
import { FaultProxy } from './fault-proxy.js';

const contract = defineContract({
  procedures: {
    echo: procedure({ input: z.string(), output: z.string() }),
    /** Counts its runs per tag and answers after `ms` (unless its signal aborts). */
    slowCount: procedure({ input: z.object({ tag: z.string(), ms: z.number() }), output: z.number() }),
  },
  channels: {
    ticks: channel({ params: z.object({ feed: z.string() }), message: z.number() }),
  },
});
type Contract = typeof contract;

const WAIT_MS = 5_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: {
    heartbeat?: { intervalMs: number; timeoutMs: number } | false;
    serverHeartbeat?: { intervalMs: number; timeoutMs: number };
    history?: { maxMessages: number };
  } = {},
) {
  const runs = new Map<string, number>();
  const router = defineRouter(contract, {
    procedures: {
      echo: ({ input }) => input,
      slowCount: async ({ input, signal }) => {
        const count = (runs.get(input.tag) ?? 0) + 1;
        runs.set(input.tag, count);
        // Honours its signal: an abort ends the call with the abort's reason.
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, input.ms);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
        return count;
      },
    },
  });
  const server: SwitchboardServer<Contract> = createServer({
    router,
    ...(options.history === undefined ? {} : { history: options.history }),
    ...(options.serverHeartbeat === undefined ? {} : { heartbeat: options.serverHeartbeat }),
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const proxy = await FaultProxy.start(port);
  const states: string[] = [];
  const client: Client<Contract> = createClient<Contract>({
    url: `ws://127.0.0.1:${proxy.port}`,
    WebSocket: WebSocket as never,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, factor: 2 },
    heartbeat: options.heartbeat ?? false,
    timeoutMs: WAIT_MS,
    // An attempt whose handshake was swallowed (blackhole) is given up and retried quickly.
    connectTimeoutMs: 500,
  });
  client.on('state', (state) => states.push(state));
  cleanups.push(
    () => client.close(),
    () => proxy.close(),
    () => server.close(),
  );
  await until(() => client.state === 'open', 'the first connection');
  return { server, proxy, client, runs, states };
}

describe('reconnecting', () => {
  it('reconnects after the link is cut and keeps serving calls', async () => {
    const { proxy, client, states } = await setup();
    expect(await client.call('echo', 'before')).toBe('before');
    proxy.cut();
    await until(() => states.includes('reconnecting'), 'reconnecting');
    await until(() => client.state === 'open', 'the new connection');
    expect(await client.call('echo', 'after')).toBe('after');
    expect(states).toEqual(['open', 'reconnecting', 'open']);
  });

  it('runs a call whose response was lost in a cut once, and resolves it once with the right value', async () => {
    const { proxy, client, runs } = await setup();
    const result = client.call('slowCount', { tag: 'once', ms: 300 });
    await until(() => runs.get('once') === 1, 'the handler to start');
    proxy.cut(); // the response cannot come back on this connection
    expect(await result).toBe(1);
    expect(runs.get('once')).toBe(1);
  });

  it('restores a subscription after a reconnect and replays what it missed, once and in order', async () => {
    const { server, proxy, client } = await setup();
    const received: number[] = [];
    const gaps: string[] = [];
    const subscription = client.subscribe(
      'ticks',
      { feed: 'a' },
      {
        onMessage: (tick) => received.push(tick),
        onGap: (gap) => gaps.push(gap.reason),
      },
    );
    await subscription.ready;
    await server.publish('ticks', { feed: 'a' }, 1);
    await until(() => received.length === 1, 'the first tick');
    proxy.refuse();
    proxy.cut();
    await until(() => client.state === 'reconnecting', 'reconnecting');
    for (const tick of [2, 3, 4]) await server.publish('ticks', { feed: 'a' }, tick);
    proxy.restore();
    await until(() => received.length === 4, 'the missed ticks');
    await server.publish('ticks', { feed: 'a' }, 5);
    await until(() => received.length === 5, 'a live tick after the replay');
    expect(received).toEqual([1, 2, 3, 4, 5]);
    expect(gaps).toEqual([]);
  });

  it('reports a gap when the history no longer holds what was missed, then goes on live', async () => {
    const { server, proxy, client } = await setup({ history: { maxMessages: 2 } });
    const received: number[] = [];
    const gaps: string[] = [];
    const subscription = client.subscribe(
      'ticks',
      { feed: 'b' },
      {
        onMessage: (tick) => received.push(tick),
        onGap: (gap) => gaps.push(gap.reason),
      },
    );
    await subscription.ready;
    proxy.refuse();
    proxy.cut();
    await until(() => client.state === 'reconnecting', 'reconnecting');
    for (const tick of [1, 2, 3, 4, 5]) await server.publish('ticks', { feed: 'b' }, tick);
    proxy.restore();
    await until(() => gaps.length === 1, 'the gap report');
    await server.publish('ticks', { feed: 'b' }, 6);
    await until(() => received.includes(6), 'a live tick after the gap');
    // All or nothing: nothing of the broken stretch is replayed.
    expect(received).toEqual([6]);
    expect(gaps).toEqual(['history']);
  });
});

describe('the offline queue', () => {
  it('holds calls made while disconnected and sends them, in order, once reconnected', async () => {
    const { proxy, client } = await setup();
    proxy.refuse();
    proxy.cut();
    await until(() => client.state === 'reconnecting', 'reconnecting');
    const queued = [client.call('echo', 'one'), client.call('echo', 'two')];
    expect(client.queuedCalls).toBe(2);
    proxy.restore();
    expect(await Promise.all(queued)).toEqual(['one', 'two']);
    expect(client.queuedCalls).toBe(0);
  });

  it('fails a call made with { queue: false } at once while disconnected', async () => {
    const { proxy, client } = await setup();
    proxy.refuse();
    proxy.cut();
    await until(() => client.state === 'reconnecting', 'reconnecting');
    const outcome = await client.call('echo', 'now', { queue: false }).catch((error: RpcError) => error.code);
    expect(outcome).toBe('UNAVAILABLE');
    expect(client.queuedCalls).toBe(0);
  });

  it('rejects a call past queue.maxCalls at once with UNAVAILABLE', async () => {
    const server = createServer({
      router: defineRouter(contract, {
        procedures: { echo: ({ input }) => input, slowCount: () => 0 },
      }),
    });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    await server.close(); // refuses from now on
    const client = createClient<Contract>({
      url: `ws://127.0.0.1:${port}`,
      WebSocket: WebSocket as never,
      reconnect: { initialDelayMs: 1_000, maxDelayMs: 1_000, factor: 1 },
      queue: { maxCalls: 2 },
    });
    cleanups.push(() => client.close());
    const first = client.call('echo', 'a').catch((error: RpcError) => error.code);
    const second = client.call('echo', 'b').catch((error: RpcError) => error.code);
    const third = await client.call('echo', 'c').catch((error: RpcError) => error.code);
    expect(third).toBe('UNAVAILABLE');
    expect(client.queuedCalls).toBe(2);
    await client.close();
    expect(await Promise.all([first, second])).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
  });
});

// The heartbeat, and a link that delays every byte: heartbeat.test.ts, on the testing kit's fake clock.

describe('slow links', () => {
  it('delivers a burst in order through a throttled link, and calls still answer', async () => {
    const { server, proxy, client, states } = await setup({ heartbeat: { intervalMs: 200, timeoutMs: 1_000 } });
    proxy.throttle(32 * 1024);
    const received: number[] = [];
    const subscription = client.subscribe('ticks', { feed: 'narrow' }, { onMessage: (tick) => received.push(tick) });
    await subscription.ready;
    // ~80 KiB of messages: about 2.5 s through 32 KiB/s.
    for (let tick = 1; tick <= 1_000; tick++) await server.publish('ticks', { feed: 'narrow' }, tick);
    const call = client.call('echo', 'through the queue');
    await until(() => received.length === 1_000, 'every tick', 10_000);
    expect(received).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(await call).toBe('through the queue');
    expect(states).toEqual(['open']);
  });
});

describe('a server that goes away', () => {
  it('sends clients, with their subscriptions and queued calls, to the server that replaces it', async () => {
    const { server, proxy, client } = await setup();
    const received: number[] = [];
    const gaps: string[] = [];
    const states: string[] = [];
    client.on('state', (state) => states.push(state));
    const subscription = client.subscribe(
      'ticks',
      { feed: 'r' },
      {
        onMessage: (tick) => received.push(tick),
        onGap: (gap) => gaps.push(gap.reason),
      },
    );
    await subscription.ready;
    await server.publish('ticks', { feed: 'r' }, 1);
    await until(() => received.length === 1, 'the first tick');

    // The old server drains (close 1001) and its replacement takes the address.
    proxy.refuse();
    await server.close();
    await until(() => client.state === 'reconnecting', 'reconnecting after 1001');
    const queued = client.call('echo', 'made while away');
    const replacement = createServer({
      router: defineRouter(contract, {
        procedures: { echo: ({ input }) => `${input} (new server)`, slowCount: () => 0 },
      }),
    });
    const { port } = await replacement.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => replacement.close());
    proxy.retarget(port);
    proxy.restore();

    expect(await queued).toBe('made while away (new server)');
    // The new server's history is not the old one's (another epoch): a gap, reported.
    await until(() => gaps.length === 1, 'the gap report');
    await replacement.publish('ticks', { feed: 'r' }, 2);
    await until(() => received.length === 2, 'a tick from the new server');
    expect(received).toEqual([1, 2]);
    expect(gaps).toEqual(['history']);
    expect(states[0]).toBe('reconnecting');
    expect(states.at(-1)).toBe('open');
  });
});

describe('a keyed call whose connection closed cleanly', () => {
  it('keeps running for the re-send, which gets its value, not UNAVAILABLE', async () => {
    const { proxy, runs } = await setup();
    const url = `ws://127.0.0.1:${proxy.port}`;
    const open = async () => {
      const socket = new WebSocket(url, 'switchboard.v1');
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      return socket;
    };
    // A session key (`<session>.<call id>`): without a scope, its session goes to the
    // client's next connection once the first is gone.
    const call = { type: 'call', name: 'slowCount', input: { tag: 'clean', ms: 300 }, key: 'session-clean-V1StGXR8.1' };
    // One client before and after a clean close (its heartbeat gave up, or it went offline).
    const before = await open();
    before.send(JSON.stringify({ ...call, id: 1 }));
    await until(() => runs.get('clean') === 1, 'the handler to start');
    const closed = new Promise((resolve) => before.once('close', resolve));
    before.close(1000);
    await closed;

    const after = await open();
    const reply = new Promise<unknown>((resolve) => after.once('message', (data) => resolve(JSON.parse(String(data)))));
    after.send(JSON.stringify({ ...call, id: 7 }));
    let timer: NodeJS.Timeout | undefined;
    const answer = await Promise.race([
      reply,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no reply within 5 s')), 5_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(answer).toEqual({ type: 'result', id: 7, output: 1 });
    expect(runs.get('clean')).toBe(1);
    after.close();
  });
});
