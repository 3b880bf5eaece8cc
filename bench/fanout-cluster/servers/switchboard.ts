// Switchboard node of the cluster fan-out benchmark: the bench contract on a server whose broker
// is @switchboard/redis. REDIS_URL, BENCH_PREFIX; with BENCH_CONTROL=1 this node also runs the
// publisher (bench/rpc/servers/control.ts) and announces its control port.

import { redisBroker } from '@switchboard/redis';
import { createServer, defineRouter } from '@switchboard/server';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { contract, ROOM } from '../../rpc/contract.js';
import { startControl } from '../../rpc/servers/control.js';

/** Publishes in flight at most: each is a round trip to Redis, so the publisher keeps a window open. */
const PUBLISH_WINDOW = 64;

const url = process.env.REDIS_URL;
if (url === undefined) die('switchboard cluster node', new Error('REDIS_URL is required'));
const broker = redisBroker({ url, prefix: process.env.BENCH_PREFIX ?? 'bench' });
const router = defineRouter(contract, {
  procedures: {
    add: ({ input }) => input.a + input.b,
  },
  channels: {},
});
const server = createServer({
  router,
  broker,
  limits: { maxInFlightCalls: 1000, maxPayloadBytes: MAX_PAYLOAD, maxSubscriptions: 100 },
});

try {
  const { port } = await server.listen({ port: 0, host: HOST });
  const info: Record<string, string> = {};
  if (process.env.BENCH_CONTROL === '1') {
    const params = { room: ROOM };
    let inFlight = 0;
    const waiting: Array<() => void> = [];
    const control = await startControl(async (seq, t, p) => {
      while (inFlight >= PUBLISH_WINDOW) await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight++;
      server
        .publish('feed', params, { seq, t, p })
        .catch((err: unknown) => process.stderr.write(`publish failed: ${String(err)}\n`))
        .finally(() => {
          inFlight--;
          waiting.shift()?.();
        });
    });
    info.control = String(control);
  }
  serve(port, () => server.connections, info);
} catch (err) {
  die('switchboard cluster node', err);
}
