// The fresh app's server and a Node client, type-checked (NodeNext and Bundler) and run.
import { type Client, createClient } from '@switchboard/client';
import { redisBroker } from '@switchboard/redis';
import { createServer, defineRouter, RpcError } from '@switchboard/server';
import WebSocket from 'ws';
import { type AppContract, contract } from './contract.js';

const router = defineRouter(contract, {
  context: ({ auth }) => {
    const token = (auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string') throw new RpcError('UNAUTHORIZED', 'no token');
    return { user: token };
  },
  procedures: { add: ({ input }) => input.a + input.b },
  channels: { board: { snapshot: () => ({ x: 41 }) } },
});

export async function firstCall(): Promise<number> {
  return withServer((client) => client.call('add', { a: 2, b: 3 }));
}

/** Runs `use` with a client of a fresh server, then closes both. */
export async function withServer<T>(use: (client: Client<AppContract>) => Promise<T>): Promise<T> {
  const server = createServer({ router });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = createClient<AppContract>({
    url: `ws://127.0.0.1:${port}`,
    WebSocket: WebSocket as never,
    auth: () => ({ token: 'ada' }),
  });
  try {
    return await use(client);
  } finally {
    await client.close();
    await server.close();
  }
}

// Typed, not run: the Redis broker plugs into the server's options.
export const withRedis = () => createServer({ router, broker: redisBroker({ url: 'redis://127.0.0.1:6379' }) });
