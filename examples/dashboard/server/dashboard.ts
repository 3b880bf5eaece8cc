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

export type { Asset };

import { type FeedOptions, SensorFeed } from './feed.js';
import { startStats } from './stats.js';

export interface DashboardOptions {
  /** @default 3000; 0 picks a free port */
  port?: number;
  /** @default all interfaces */
  host?: string;
  /** Settings of the synthetic feed (its rate, spikes, random numbers). */
  feed?: FeedOptions;
  /** The page to serve. @default this dashboard's own (page/, bundled by server/bundle.ts) */
  page?: DashboardPage;
}

/** A page for the dashboard's server: its files, and optionally `/` rendered per request. */
export interface DashboardPage {
  /** The files by URL path (made once per process). */
  assets(): Promise<ReadonlyMap<string, Asset>>;
  /** The HTML of `/`, rendered per request (server rendering) by the server on `port`; served as a file otherwise. */
  render?(port: number): Promise<string>;
  /** Lets go of what render() holds (a client of the server), before the server closes. */
  close?(): Promise<void>;
}

export interface RunningDashboard {
  /** Where to open the page, e.g. http://127.0.0.1:3000/ */
  url: string;
  port: number;
  server: SwitchboardServer<DashboardContract>;
  feed: SensorFeed;
  /** Snapshots the server has taken so far (every channel; one per subscribe that asked for one). */
  snapshotsTaken(): number;
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
  const page = options.page ?? { assets: pageAssets };
  const assets = await page.assets();
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
  let snapshots = 0;
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
        snapshot: ({ params }) => {
          snapshots++;
          return feed.readings().filter((reading) => reading.zone === params.zone);
        },
        // A page that cannot keep up gets the newest reading of each sensor, not a backlog.
        delivery: { policy: 'latest', key: (reading) => reading.id },
      },
      alerts: {
        snapshot: () => {
          snapshots++;
          return alerts.open();
        },
      },
      'feed.status': {
        snapshot: () => {
          snapshots++;
          return feed.status();
        },
        delivery: { policy: 'latest' },
      },
    },
  });

  const server = createServer({ router });
  const http = createHttpServer((request, response) => {
    const render = page.render;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (render === undefined || path !== '/' || request.method !== 'GET') {
      serveAsset(assets, request, response);
      return;
    }
    render((http.address() as AddressInfo).port).then(
      (html) => response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' }).end(html),
      (error: unknown) => {
        console.error('render failed:', error);
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('render failed\n');
      },
    );
  });
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
    snapshotsTaken: () => snapshots,
    close: () => {
      closing ??= (async () => {
        feed.stop();
        stopStats();
        await page.close?.();
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
