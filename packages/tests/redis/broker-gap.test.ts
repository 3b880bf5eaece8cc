import { randomUUID } from 'node:crypto';
import { createClient, type GapInfo } from '@switchboard/client';
import { RedisBroker } from '@switchboard/redis';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FaultProxy } from '../resilience/fault-proxy.js';
import { useRedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';
import { contract } from './fixtures/contract.js';

// A node whose link to Redis is cut while another node goes on publishing, past what the
// history holds: what it can read back reaches its clients in order, what it cannot
// reaches them as onGap({ reason: 'history' }) with the count — never a silent hole.

const { available, redis } = useRedisServer();

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function node(url: string, prefix: string) {
  const broker = new RedisBroker({
    url,
    prefix,
    history: { maxMessages: 10 },
    commandTimeoutMs: 500,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  const router = defineRouter(contract, {
    procedures: {
      burst: () => ({ published: 0, failed: 0 }),
      revoke: () => ({ closed: 0, ms: 0 }),
      whoami: () => process.pid,
    },
  });
  const server = createServer({ router, broker, heartbeat: false });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(
    () => broker.close(),
    () => server.close(),
  );
  return { server, broker, port };
}

describe.skipIf(!available)('a gap inside the broker reaches the client', () => {
  it("reports what a node's broker could not read back as onGap, then goes on in order", async () => {
    const prefix = `g${randomUUID().slice(0, 8)}`;
    const proxy = await FaultProxy.start(Number(new URL(redis.url).port));
    cleanups.push(() => proxy.close());
    const a = await node(redis.url, prefix);
    const b = await node(`redis://127.0.0.1:${proxy.port}`, prefix);

    const client = createClient<typeof contract>({
      url: `ws://127.0.0.1:${b.port}`,
      WebSocket: WebSocket as never,
      reconnect: false,
      heartbeat: false,
    });
    cleanups.push(() => client.close());
    const events: string[] = [];
    const subscription = client.subscribe(
      'feed',
      { room: 'r' },
      {
        onMessage: (message) => events.push(String(message.n)),
        onGap: (gap: GapInfo) => events.push(`gap:${gap.reason}:${gap.dropped}`),
      },
    );
    await subscription.ready;
    await a.server.publish('feed', { room: 'r' }, { from: 'a', n: 0 });
    await until(() => events.length === 1, 'the first message');

    proxy.refuse();
    proxy.cut();
    await until(() => b.broker.health === 'down', "node b's broker to see Redis gone");
    for (let n = 1; n <= 30; n++) await a.server.publish('feed', { room: 'r' }, { from: 'a', n });
    proxy.restore();
    await until(() => b.broker.health === 'ok', "node b's broker to recover");
    await a.server.publish('feed', { room: 'r' }, { from: 'a', n: 31 });

    await until(() => events.includes('31'), 'the live message after the hole');
    // 1–20 left the history (it holds 10) while b was cut off: reported, never hidden.
    expect(events).toEqual(['0', 'gap:history:20', ...Array.from({ length: 11 }, (_, i) => String(21 + i))]);
  });
});
