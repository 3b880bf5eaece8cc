import type { Socket } from 'node:net';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { canRunBrowserSuite } from '../support/chromium.js';
import { type BytesContract, bytesContract, pattern } from './fixtures/bytes-contract.js';
import type { BytesPage } from './fixtures/bytes-page.js';
import { servePage, usePageSuite } from './page-script.js';

// Byte values in a real browser: a Uint8Array call, an ArrayBuffer call and a channel
// message, each one binary WebSocket message holding the raw bytes, read from the
// ArrayBuffer the browser hands over.

type BytesWindow = Window & { __bytes: BytesPage };

interface Site {
  url: string;
  wsUrl: string;
  /** Bytes the server's sockets have written so far. */
  written: () => number;
  close: () => Promise<void>;
}

async function startSite(script: string): Promise<Site> {
  let server: SwitchboardServer<BytesContract> | undefined;
  const router = defineRouter(bytesContract, {
    procedures: {
      echo: ({ input }) => input,
      echoBuffer: ({ input }) => input,
      publish: async ({ input }) => {
        await server?.publish('files', { name: 'page' }, pattern(input.size));
        return null;
      },
    },
  });
  server = createServer({ router, limits: { maxPayloadBytes: 4 * 1024 * 1024 } });
  const { http, url, wsUrl, close } = await servePage(script, server);
  const sockets = new Set<Socket>();
  http.on('upgrade', (_request, socket: Socket) => sockets.add(socket));
  return { url, wsUrl, written: () => [...sockets].reduce((sum, socket) => sum + socket.bytesWritten, 0), close };
}

describe.skipIf(!canRunBrowserSuite('bytes'))('byte values in Chromium', () => {
  const suite = usePageSuite('bytes-page');
  const { cleanups } = suite;

  const open = (site: Site): Promise<Page> => suite.openPage(site.url, '__bytes');

  it.each([0, 1024, 1024 * 1024])(
    'round-trips %i bytes as a Uint8Array call, an ArrayBuffer call and a channel message, as raw bytes',
    async (size) => {
      const site = await startSite(suite.script);
      cleanups.push(site.close);
      const page = await open(site);
      const report = await page
        .evaluate(([url, n]) => (window as unknown as BytesWindow).__bytes.run(url as string, n as number), [
          site.wsUrl,
          size,
        ] as const)
        .catch((error: Error) => {
          throw new Error(`in the page: ${error.message.split('\n')[0]}`);
        });
      expect(report).toEqual({
        echoEqual: true,
        echoPrototype: 'Uint8Array',
        bufferEqual: true,
        bufferIsArrayBuffer: true,
        messageEqual: true,
        messagePrototype: 'Uint8Array',
      });
      // Three messages of `size` bytes each went to the page, and little else.
      expect(site.written()).toBeLessThanOrEqual(3 * size * 1.01 + 4_096);
    },
    30_000,
  );
});
