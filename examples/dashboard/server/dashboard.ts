// The dashboard server: one node:http server serves the page and, on /ws, Switchboard.
//
//   GET /, /assets/app.js, /assets/app.css   the bundled page (server/bundle.ts)
//   /ws (upgrade)                            the router: feed controls, alert acknowledgement
//   channels                                 readings (per zone), alerts, feed.status — each with a
//                                            snapshot of the current state — and stats
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import { contract, type DashboardContract, type ReadingData } from '../contract.js';
import { AlertBook } from './alerts.js';
import { type Asset, pageAssets } from './bundle.js';
import { type FeedOptions, SensorFeed } from './feed.js';
import { startStats } from './stats.js';

export interface DashboardOptions {
  /** @default 3000; 0 picks a free port */
  port?: number;
  /** @default all interfaces */
  host?: string;
  /** Settings of the synthetic feed (its rate, spikes, random numbers). */
  feed?: FeedOptions;
}

export interface RunningDashboard {
  /** Where to open the page, e.g. http://127.0.0.1:3000/ */
  url: string;
  port: number;
  server: SwitchboardServer<DashboardContract>;
  feed: SensorFeed;
  /** Stops the feed, closes every connection (1001) and the HTTP server. */
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

function serveAsset(assets: ReadonlyMap<string, Asset>, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const asset = assets.get(path);
  if (asset === undefined) {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': asset.contentType,
    'Content-Length': asset.body.byteLength,
  });
  response.end(request.method === 'HEAD' ? undefined : asset.body);
}

/**
 * Bundles the page (once per process), starts the feed and serves both.
 * @example
 * const dashboard = await startDashboard({ port: 0, host: '127.0.0.1' });
 * console.log(dashboard.url);
 * await dashboard.close();
 */
export async function startDashboard(options: DashboardOptions = {}): Promise<RunningDashboard> {
  const assets = await pageAssets();
  const alerts = new AlertBook();

  const zoneParams = {
    north: { zone: 'north' },
    south: { zone: 'south' },
    east: { zone: 'east' },
    west: { zone: 'west' },
  } as const;
  const publishReading = (reading: ReadingData) => {
    // A closing server refuses publishes (UNAVAILABLE): the feed stops right after.
    server.publish('readings', zoneParams[reading.zone], reading).catch(() => {});
    const alert = alerts.observe(reading);
    if (alert !== undefined) server.publish('alerts', {}, { kind: 'raised', alert }).catch(() => {});
  };
  const feed = new SensorFeed(publishReading, options.feed);
  const publishStatus = () => server.publish('feed.status', {}, feed.status()).catch(() => {});

  const router = defineRouter(contract, {
    procedures: {
      'feed.setRate': ({ input }) => {
        const before = feed.status().revision;
        const status = feed.setRate(input.updatesPerSecond);
        if (status.revision !== before) void publishStatus();
        return status;
      },
      'feed.setPaused': ({ input }) => {
        const before = feed.status().revision;
        const status = feed.setPaused(input.zone, input.paused);
        if (status.revision !== before) void publishStatus();
        return status;
      },
      'alerts.acknowledge': ({ input }) => {
        // Two people may click the same alert: the second learns it is closed already.
        const closed = alerts.acknowledge(input.id);
        if (closed) server.publish('alerts', {}, { kind: 'acknowledged', id: input.id }).catch(() => {});
        return closed;
      },
    },
    // The feed and the alert book change their state and publish in the same step, and
    // these read it synchronously: each snapshot is exact (docs/dashboards.md).
    channels: {
      readings: {
        snapshot: ({ params }) => feed.readings().filter((reading) => reading.zone === params.zone),
        // A page that cannot keep up gets the newest reading of each sensor, not a backlog.
        delivery: { policy: 'latest', key: (reading) => reading.id },
      },
      alerts: { snapshot: () => alerts.open() },
      'feed.status': { snapshot: () => feed.status(), delivery: { policy: 'latest' } },
    },
  });

  const server = createServer({ router });
  const http = createHttpServer((request, response) => serveAsset(assets, request, response));
  server.attach(http, { path: '/ws' });
  const port = options.port ?? 3000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    if (options.host === undefined) http.listen(port, resolve);
    else http.listen(port, options.host, resolve);
  });
  const address = http.address() as AddressInfo;
  const stopStats = startStats(server);
  feed.start();

  const shownHost =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}/`,
    port: address.port,
    server,
    feed,
    close: () => {
      closing ??= (async () => {
        feed.stop();
        stopStats();
        await server.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
