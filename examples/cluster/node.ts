// One node: a Switchboard server whose channels go through Redis. Run several, on one Redis,
// behind any load balancer (or proxy.ts): a message published on one reaches subscribers on all.
//
//   REDIS_URL=redis://127.0.0.1:6379 NODE_NAME=a PORT=8081 npx tsx examples/cluster/node.ts
import { redisBroker } from '@switchboard/redis';
import { createServer, defineRouter, RpcError } from '@switchboard/server';
import { contract } from './contract.js';

export async function startChatNode(options: { redisUrl: string; name: string; port?: number }) {
  const broker = redisBroker({ url: options.redisUrl, prefix: 'chat' });
  // Observable: 'ok', or 'down' while Redis is unreachable (publishes then fail with UNAVAILABLE).
  broker.on('health', (health) => console.log(`[node ${options.name}] redis: ${health}`));

  const router = defineRouter(contract, {
    // A real app verifies a token here; the demo takes the user's name from the URL (?user=ann).
    context: ({ request }) => {
      const user = new URL(request.url ?? '/', 'http://localhost').searchParams.get('user');
      if (user === null || user === '') throw new RpcError('UNAUTHORIZED', 'connect with ?user=<name>');
      return { user };
    },
    procedures: {
      'chat.send': async ({ input }) => {
        await server.publish('chat.room', { room: input.room }, { text: input.text, via: options.name });
        return options.name;
      },
      'node.name': () => options.name,
    },
  });
  // The idempotency window is shared too: a call re-sent to another node runs once in all.
  // Keys are the user's own (scope): no user can be answered with another's outcome.
  const server = createServer({
    router,
    broker,
    idempotency: { store: broker.idempotency, scope: (ctx) => ctx.user },
  });
  const { port } = await server.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  return {
    port,
    async close() {
      await server.close();
      await broker.close(); // a broker you pass is yours to close
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const name = process.env.NODE_NAME ?? 'node';
  const node = await startChatNode({
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    name,
    port: Number(process.env.PORT ?? 0),
  });
  // One line the launcher (run.ts) waits for.
  console.log(JSON.stringify({ node: name, port: node.port }));
  process.once('SIGTERM', () => void node.close().then(() => process.exit(0)));
}
