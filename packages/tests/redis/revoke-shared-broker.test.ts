import { randomUUID } from 'node:crypto';
import { type Client, createClient } from '@switchboard/client';
import { defineContract, procedure } from '@switchboard/contract';
import { RedisBroker } from '@switchboard/redis';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { useRedisServer } from '../support/redis-server.js';
import { within } from '../support/wait.js';

// server.disconnect() on Redis when one broker serves two servers (one process, two
// ports): Redis counts the broker's subscription once, the servers answer twice. Every
// connection is still reached, and counted, from any of the three servers.

const { available, redis } = useRedisServer();

const contract = defineContract({ procedures: { me: procedure({ input: z.object({}), output: z.string() }) } });
const router = defineRouter(contract, {
  context: ({ auth }) => ({ user: (auth as { user: string }).user }),
  procedures: { me: ({ ctx }) => ctx.user },
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

async function serve(
  broker: RedisBroker,
): Promise<{ server: SwitchboardServer<typeof contract, { user: string }>; url: string }> {
  const server = createServer({ router, broker, heartbeat: false });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return { server, url: `ws://127.0.0.1:${port}` };
}

function whenState(client: Client<typeof contract>, state: string): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      if (client.state === state) resolve();
      client.on('state', (now) => {
        if (now === state) resolve();
      });
    }),
    5_000,
    `the client to be '${state}'`,
  );
}

describe.skipIf(!available)('revoke with two servers on one Redis broker', () => {
  it('reaches and counts every connection, whichever server it is called on', async () => {
    const prefix = `rs${randomUUID().slice(0, 8)}`;
    const shared = new RedisBroker({ url: redis.url, prefix });
    const alone = new RedisBroker({ url: redis.url, prefix });
    cleanups.push(
      () => shared.close(),
      () => alone.close(),
    );
    const servers = [await serve(shared), await serve(shared), await serve(alone)];
    for (const [caller, user] of [
      [0, 'ada'],
      [2, 'bob'],
      [1, 'cy'],
    ] as const) {
      const clients = servers.map(({ url }) => {
        const client = createClient<typeof contract>({
          url,
          WebSocket: WebSocket as never,
          auth: () => ({ user }),
          reconnect: false,
          heartbeat: false,
        });
        cleanups.push(() => client.close());
        return client;
      });
      await Promise.all(clients.map((client) => whenState(client, 'open')));
      const ended = clients.map((client) => whenState(client, 'unauthorized'));
      await expect(servers[caller]?.server.disconnect((ctx) => ctx.user === user, 'revoked')).resolves.toBe(3);
      await Promise.all(ended);
    }
  });
});
