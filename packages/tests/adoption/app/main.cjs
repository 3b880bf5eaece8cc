// CommonJS `require` of the installed packages: a server and a client that talk.
const { createClient } = require('@switchboard/client');
const { defineContract, procedure } = require('@switchboard/contract');
const { createServer, defineRouter } = require('@switchboard/server');
const { redisBroker } = require('@switchboard/redis');
const { useChannel } = require('@switchboard/react');
const { callQueryOptions } = require('@switchboard/react/query');
const WebSocket = require('ws');
const { z } = require('zod');

async function main() {
  const contract = defineContract({
    procedures: { add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }) },
  });
  const router = defineRouter(contract, { procedures: { add: ({ input }) => input.a + input.b } });
  const server = createServer({ router });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = createClient({ url: `ws://127.0.0.1:${port}`, WebSocket });
  const sum = await client.call('add', { a: 2, b: 3 });
  await client.close();
  await server.close();
  const react = `${typeof useChannel}/${typeof callQueryOptions}`;
  console.log(JSON.stringify({ cjs: sum, redis: typeof redisBroker, react }));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
