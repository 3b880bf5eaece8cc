// Switchboard: defineRouter + createServer, validated `add`, `feed` channel published with server.publish.
// SB_MIDDLEWARE=N: the router runs N no-op middleware around every call (the `switchboard-mw3` contender).
// Loads packages/*/dist when started with TSX_TSCONFIG_PATH=bench/rpc/tsconfig.dist.json (the
// runners' default), the TypeScript sources through tsconfig paths otherwise, another checkout's
// dist with --before's generated tsconfig (bench/rpc/before.ts).

import { createServer, defineRouter, type Middleware } from '@switchboard/server';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { contract, ROOM } from '../contract.js';
import { startControl } from './control.js';

const noop: Middleware = ({ next }) => next();
const middleware = Array.from({ length: Number(process.env.SB_MIDDLEWARE ?? 0) }, () => noop);

const router = defineRouter(contract, {
  middleware,
  procedures: {
    add: ({ input }) => input.a + input.b,
  },
  channels: {},
});

const server = createServer({
  router,
  limits: { maxInFlightCalls: 1000, maxPayloadBytes: MAX_PAYLOAD, maxSubscriptions: 100 },
});
try {
  const { port } = await server.listen({ port: 0, host: HOST });
  const params = { room: ROOM };
  const control = await startControl((seq, t, p) => server.publish('feed', params, { seq, t, p }));
  // The file actually loaded: run.ts checks it against the checkout this contender stands for.
  const switchboard = import.meta.resolve('@switchboard/server');
  const from = switchboard.includes('/dist/') ? 'dist' : 'src';
  serve(port, () => server.connections, { control: String(control), from, switchboard });
} catch (err) {
  die('switchboard server', err);
}
