import { randomUUID } from 'node:crypto';
import { createClient } from '@switchboard/client';
import { channel, defineContract } from '@switchboard/contract';
import { RedisBroker } from '@switchboard/redis';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { useRedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

// A channel message holding bytes, published on one node and delivered by another
// through Redis: the payload crosses the broker as a binary message (kept in Redis as
// base64, packages/redis/src/payload-text.ts) and reaches the client as raw bytes.

const { available, redis } = useRedisServer();

const contract = defineContract({
  procedures: {},
  channels: { files: channel({ params: z.object({ name: z.string() }), message: z.instanceof(Uint8Array) }) },
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function node(prefix: string) {
  const broker = new RedisBroker({ url: redis.url, prefix });
  const server = createServer({ router: defineRouter(contract, { procedures: {} }), broker, heartbeat: false });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(
    () => broker.close(),
    () => server.close(),
  );
  return { server, broker, port };
}

describe.skipIf(!available)('byte values through the Redis broker', () => {
  it('delivers a binary channel message published on another node, and keeps it in history as bytes', async () => {
    const prefix = `bytes${randomUUID().slice(0, 8)}`;
    const a = await node(prefix);
    const b = await node(prefix);
    const client = createClient<typeof contract>({
      url: `ws://127.0.0.1:${b.port}`,
      WebSocket: WebSocket as never,
      reconnect: false,
      heartbeat: false,
    });
    cleanups.push(async () => client.close());
    const received: Uint8Array[] = [];
    const subscription = client.subscribe(
      'files',
      { name: 'x' },
      {
        onMessage: (message) => {
          received.push(message);
        },
      },
    );
    await subscription.ready;
    const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 13) & 0xff);
    await a.server.publish('files', { name: 'x' }, bytes);
    await until(() => received.length === 1, 'the message through Redis', 5_000);
    expect(Object.getPrototypeOf(received[0])).toBe(Uint8Array.prototype);
    expect(Buffer.from(received[0] as Uint8Array).equals(bytes)).toBe(true);

    const topic = 'files:{"name":"x"}';
    const epoch = (await a.broker.position(topic)).split(':')[0];
    const history = await a.broker.history(topic, `${epoch}:0`);
    expect(history.messages).toHaveLength(1);
    const payload = history.messages[0]?.payload;
    expect(payload).toBeInstanceOf(Uint8Array);
    expect((payload as Uint8Array).byteLength).toBeLessThan(bytes.byteLength + 256);
  });
});
