// tRPC v11 over `ws` (applyWSSHandler), superjson transformer: `add` query with zod input and
// output, `feed` subscription backed by an EventEmitter (async generator over events.on).

import { EventEmitter, on } from 'node:events';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import superjson from 'superjson';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { AddInput, type FeedMessage, FeedParams } from '../contract.js';
import { startControl } from './control.js';

const ee = new EventEmitter();
ee.setMaxListeners(0);
const t = initTRPC.create({ transformer: superjson });
const appRouter = t.router({
  add: t.procedure
    .input(AddInput)
    .output(z.number())
    .query(({ input }) => input.a + input.b),
  feed: t.procedure.input(FeedParams).subscription(async function* ({ input, signal }) {
    for await (const [room, msg] of on(ee, 'feed', signal ? { signal } : {})) {
      if (room === input.room) yield msg as FeedMessage;
    }
  }),
});
export type AppRouter = typeof appRouter;

const wss = new WebSocketServer({ port: 0, host: HOST, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
wss.on('error', (err) => die('trpc server', err));
applyWSSHandler({ wss, router: appRouter });
wss.on('listening', async () => {
  const control = await startControl((seq, t, p) => {
    ee.emit('feed', 'r', { seq, t, p });
  });
  serve((wss.address() as AddressInfo).port, () => wss.clients.size, { control: String(control) });
});
