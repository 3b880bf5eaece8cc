// The React dashboard's page for the dashboard server: the bundle (esbuild, in memory, once
// per process) and `/` rendered per request: each zone's readings and the feed's status are
// preloaded through a client of the server itself, the app is rendered from them, and the page
// carries them (a JSON script element: the page's CSP allows no inline script) for the browser
// to continue after their positions.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@switchboard/client';
import { preloadChannel, SwitchboardProvider, serializePreloaded } from '@switchboard/react';
import { renderToString } from 'react-dom/server';
import WebSocket from 'ws';
import type { DashboardContract } from '../../dashboard/contract.js';
import { bundlePage } from '../../dashboard/server/bundle.js';
import type { Asset, DashboardPage } from '../../dashboard/server/dashboard.js';
import { ZONES } from '../../dashboard/shared.js';
import { App } from '../page/app.js';

const pageDir = fileURLToPath(new URL('../page/', import.meta.url));
const icon = fileURLToPath(new URL('../../dashboard/page/favicon.svg', import.meta.url));

async function bundle(): Promise<ReadonlyMap<string, Asset>> {
  const assets = await bundlePage(`${pageDir}main.tsx`, { react: true });
  // The plant dashboard's icon.
  assets.set('/favicon.svg', { contentType: 'image/svg+xml', body: await readFile(icon) });
  return assets;
}

let building: Promise<ReadonlyMap<string, Asset>> | undefined;

function html(app: string, preloaded: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Plant monitor · React · Switchboard</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="/assets/app.css" />
    <script type="module" src="/assets/app.js"></script>
  </head>
  <body>
    <div id="root">${app}</div>
    <script type="application/json" id="sb-preloaded">${preloaded}</script>
  </body>
</html>
`;
}

/** The page; `renders` counts the pages rendered on the server (each preloads four zones and the feed's status). */
export function reactPage(): DashboardPage & { renders: number } {
  let client: Client<DashboardContract> | undefined;
  const page = {
    renders: 0,
    assets() {
      building ??= bundle().catch((error: unknown) => {
        building = undefined;
        throw error;
      });
      return building;
    },
    async render(port: number) {
      // One connection of the render server to the Switchboard server, made on first use.
      client ??= createClient<DashboardContract>({ url: `ws://127.0.0.1:${port}/ws`, WebSocket: WebSocket as never });
      const ssr = client;
      const preloaded = await Promise.all([
        ...ZONES.map((zone) => preloadChannel(ssr, 'readings', { zone })),
        preloadChannel(ssr, 'feed.status', {}),
      ]);
      page.renders++;
      const app = renderToString(
        <SwitchboardProvider client={ssr} preloaded={preloaded}>
          <App />
        </SwitchboardProvider>,
      );
      return html(app, serializePreloaded(preloaded));
    },
    async close() {
      await client?.close();
    },
  };
  return page;
}
