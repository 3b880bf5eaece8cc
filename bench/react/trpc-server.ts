// The plant dashboard on tRPC 11, for bench/react: the same simulated feed (four zones of 25
// sensors), one subscription procedure streaming a zone's readings (optionally only one
// sensor's) over tRPC's ws adapter, and the React page of trpc-page/ served from memory. tRPC
// has no snapshots: a tile shows its sensor once its first reading arrives.
import { EventEmitter, on } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { initTRPC } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import type { ReadingData } from '../../examples/dashboard/contract.js';
import { bundlePage } from '../../examples/dashboard/server/bundle.js';
import { SensorFeed } from '../../examples/dashboard/server/feed.js';
import { ZONES } from '../../examples/dashboard/shared.js';

const t = initTRPC.create();
const readings = new EventEmitter();
readings.setMaxListeners(0);

export const appRouter = t.router({
  /** A zone's readings as they come; with `id`, that sensor's only (filtered on the server). */
  readings: t.procedure
    .input(z.object({ zone: z.enum(ZONES), id: z.string().optional() }))
    .subscription(async function* ({ input, signal }) {
      for await (const [reading] of on(readings, input.zone, { signal }) as AsyncIterable<[ReadingData]>) {
        if (input.id === undefined || reading.id === input.id) yield reading;
      }
    }),
});
export type BenchDashboardRouter = typeof appRouter;

const pageEntry = fileURLToPath(new URL('./trpc-page/main.tsx', import.meta.url));

async function bundle(): Promise<{ js: Uint8Array; css: Uint8Array }> {
  const assets = await bundlePage(pageEntry, { react: true });
  const body = (path: string) => assets.get(path)?.body ?? new Uint8Array();
  return { js: body('/assets/app.js'), css: body('/assets/app.css') };
}

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>Plant monitor · tRPC</title>
<link rel="stylesheet" href="/assets/app.css" /><script type="module" src="/assets/app.js"></script></head>
<body><div id="root"></div></body></html>`;

export interface TrpcDashboard {
  url: string;
  feed: SensorFeed;
  close(): Promise<void>;
}

export async function startTrpcDashboard(updatesPerSecond: number): Promise<TrpcDashboard> {
  const { js, css } = await bundle();
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/assets/app.js') response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(js);
    else if (path === '/assets/app.css') response.writeHead(200, { 'Content-Type': 'text/css' }).end(css);
    else if (path === '/') response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(HTML);
    else response.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: http, path: '/trpc' });
  const handler = applyWSSHandler({ wss, router: appRouter });
  const feed = new SensorFeed((reading) => readings.emit(reading.zone, reading), {
    sensorsPerZone: 25,
    updatesPerSecond,
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  feed.start();
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    feed,
    async close() {
      feed.stop();
      handler.broadcastReconnectNotification();
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
