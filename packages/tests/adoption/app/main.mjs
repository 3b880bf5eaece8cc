// ESM `import` of the installed packages, in plain JavaScript: a server and a client that talk.
import { createClient } from '@switchboard/client';
import { defineContract, procedure } from '@switchboard/contract';
import { useChannel } from '@switchboard/react';
import { callQueryOptions } from '@switchboard/react/query';
import { createServer, defineRouter } from '@switchboard/server';
import WebSocket from 'ws';
import { z } from 'zod';

const contract = defineContract({
  procedures: { add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }) },
});
const server = createServer({
  router: defineRouter(contract, { procedures: { add: ({ input }) => input.a + input.b } }),
});
const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
const client = createClient({ url: `ws://127.0.0.1:${port}`, WebSocket });
const react = `${typeof useChannel}/${typeof callQueryOptions}`;
console.log(JSON.stringify({ esm: await client.call('add', { a: 2, b: 3 }), react }));
await client.close();
await server.close();
