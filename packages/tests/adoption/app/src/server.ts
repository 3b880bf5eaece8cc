// The fresh app's server and a Node client, type-checked (NodeNext and Bundler) and run.
import { createClient } from '@switchboard/client';
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
});

export async function firstCall(): Promise<number> {
  const server = createServer({ router });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = createClient<AppContract>({
    url: `ws://127.0.0.1:${port}`,
    WebSocket: WebSocket as never,
    auth: () => ({ token: 'ada' }),
  });
  try {
    const sum: number = await client.call('add', { a: 2, b: 3 });
    return sum;
  } finally {
    await client.close();
    await server.close();
  }
}

// Typed, not run: the Redis broker plugs into the server's options.
export const withRedis = () => createServer({ router, broker: redisBroker({ url: 'redis://127.0.0.1:6379' }) });
