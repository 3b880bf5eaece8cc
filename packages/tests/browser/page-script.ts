import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { waitInPage } from './dashboard-page.js';

const rootTsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

/** A test page's script (`./fixtures/<name>.ts`), bundled for the browser with the client, as the page's one module. */
export async function bundlePage(name: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: rootTsconfig,
    write: false,
    logLevel: 'silent',
  });
  return (result.outputFiles[0] as { text: string }).text;
}

/**
 * A browser suite's setup: Chromium and the page's script (`./fixtures/<name>.ts`) made once
 * for the suite, and what each test opened closed after it (push onto `cleanups`).
 */
export function usePageSuite(name: string): {
  readonly browser: Browser;
  readonly script: string;
  cleanups: Array<() => Promise<unknown>>;
  /** Opens `url` in a browser context of its own (closed after the test), once the page's script has set `window[global]`. */
  openPage(url: string, global: string): Promise<Page>;
} {
  let browser: Browser | undefined;
  let script: string | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    [browser, script] = await Promise.all([launchChromium(), bundlePage(name)]);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      return browser as Browser;
    },
    get script() {
      return script as string;
    },
    cleanups,
    async openPage(url, global) {
      const context = await (browser as Browser).newContext();
      cleanups.push(() => context.close());
      const page = await context.newPage();
      await page.goto(url);
      await waitInPage(
        page,
        (name) => (window as unknown as Record<string, unknown>)[name] !== undefined,
        global,
        'the page script',
      );
      return page;
    },
  };
}

/** A page served by servePage(). */
export interface ServedPage {
  /** The HTTP server (listen for its `upgrade` events to count connections). */
  http: Server;
  port: number;
  /** The page: `http://127.0.0.1:<port>/`. */
  url: string;
  /** Where the Switchboard server is: `ws://127.0.0.1:<port>/ws`. */
  wsUrl: string;
  /** Closes the Switchboard server, then the HTTP server. */
  close(): Promise<void>;
}

/**
 * A page that is one module script, served at every path by an HTTP server on 127.0.0.1
 * (port 0), with `server` attached on /ws.
 */
export async function servePage(
  script: string,
  server: { attach(http: Server, options: { path: string }): void; close(): Promise<void> },
): Promise<ServedPage> {
  const html = `<!doctype html><meta charset="utf-8"><body><script type="module">${script}</script></body>`;
  const http = createHttpServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  server.attach(http, { path: '/ws' });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    http,
    port,
    url: `http://127.0.0.1:${port}/`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    close: async () => {
      await server.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
