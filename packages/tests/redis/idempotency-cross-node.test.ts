import { randomUUID } from 'node:crypto';
import { createClient } from '@switchboard/client';
import { defineContract, procedure } from '@switchboard/contract';
import { RedisBroker } from '@switchboard/redis';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { FaultProxy } from '../resilience/fault-proxy.js';
import { useRedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

// A call whose connection is lost is re-sent, with its key, to another node: the window
// shared through Redis makes it run once in all, whether the first node is still running
// it or has finished it.

const contract = defineContract({
  procedures: {
    /** Runs for `ms`, then answers with the node that ran it. */
    work: procedure({ input: z.object({ tag: z.string(), ms: z.number() }), output: z.string() }),
  },
});

const { available, redis } = useRedisServer();

const cleanups: Array<() => Promise<unknown> | undefined> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs of each tag, on every node. */
const runs = new Map<string, string[]>();

async function node(name: string, prefix: string, shared: boolean) {
  const broker = new RedisBroker({ url: redis.url, prefix });
  const router = defineRouter(contract, {
    procedures: {
      work: async ({ input }) => {
        runs.set(input.tag, [...(runs.get(input.tag) ?? []), name]);
        await new Promise((resolve) => setTimeout(resolve, input.ms));
        return name;
      },
    },
  });
  // Every client of these tests is one user: one scope.
  const idempotency = shared ? { store: broker.idempotency, scope: () => 'one-user' } : {};
  const server = createServer({ router, broker, heartbeat: false, idempotency });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(
    () => broker.close(),
    () => server.close(),
  );
  return { port };
}

async function setup(shared = true) {
  const prefix = `i${randomUUID().slice(0, 8)}`;
  const a = await node('a', prefix, shared);
  const b = await node('b', prefix, shared);
  const proxy = await FaultProxy.start(a.port);
  cleanups.push(() => proxy.close());
  const client = createClient<typeof contract>({
    url: `ws://127.0.0.1:${proxy.port}`,
    WebSocket: WebSocket as never,
    reconnect: { initialDelayMs: 20, maxDelayMs: 50, factor: 2 },
    heartbeat: { intervalMs: 100, timeoutMs: 100 },
  });
  cleanups.push(() => client.close());
  return { a, b, proxy, client };
}

describe.skipIf(!available)('a call re-sent to another node', () => {
  it('waits for the run still going on the first node, and answers with its value', async () => {
    const { b, proxy, client } = await setup();
    const tag = `running-${randomUUID()}`;
    const result = client.call('work', { tag, ms: 500 });
    await until(() => runs.get(tag)?.length === 1, 'the run on node a');
    proxy.retarget(b.port); // the client comes back to node b
    proxy.cut();
    expect(await result).toBe('a');
    expect(runs.get(tag)).toEqual(['a']);
  });

  it('answers with the stored outcome when the first node finished but its answer was lost', async () => {
    const { b, proxy, client } = await setup();
    const tag = `finished-${randomUUID()}`;
    const result = client.call('work', { tag, ms: 100 });
    await until(() => runs.get(tag)?.length === 1, 'the run on node a');
    proxy.blackhole(); // the answer goes nowhere; the client's heartbeat finds the dead link
    await until(() => client.state === 'reconnecting', 'the client to give the silent link up');
    proxy.cut();
    proxy.retarget(b.port);
    proxy.restore();
    expect(await result).toBe('a');
    expect(runs.get(tag)).toEqual(['a']);
  });

  it('runs again on the other node without a shared window (each node knows only its own keys)', async () => {
    const { b, proxy, client } = await setup(false);
    const tag = `unshared-${randomUUID()}`;
    const result = client.call('work', { tag, ms: 100 });
    await until(() => runs.get(tag)?.length === 1, 'the run on node a');
    proxy.retarget(b.port);
    proxy.cut();
    expect(await result).toBe('b');
    expect(runs.get(tag)).toEqual(['a', 'b']);
  });
});
