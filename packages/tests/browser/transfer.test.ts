import { createServer } from '@switchboard/server';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { FaultProxy } from '../resilience/fault-proxy.js';
import { fileRouter, Uploads } from '../streams/file-router.js';
import { fileChecksum } from '../streams/files.js';
import { canRunBrowserSuite } from '../support/chromium.js';
import { waitInPage } from './dashboard-page.js';
import type { TransferPage } from './fixtures/transfer-page.js';
import { servePage, usePageSuite } from './page-script.js';

// A 50 MiB download and upload in Chromium, each with a progress bar, each cut once on the
// way (the page's WebSocket goes through a proxy the test cuts): every byte arrives once.

type TransferWindow = Window & { __transfer: TransferPage };
const SIZE = 50 * 1024 * 1024;
describe.skipIf(!canRunBrowserSuite('transfer'))('a 50 MiB file in Chromium', () => {
  const suite = usePageSuite('transfer-page');
  const { cleanups } = suite;

  async function open(uploads: Uploads): Promise<{ page: Page; proxy: FaultProxy }> {
    const site = await servePage(suite.script, createServer({ router: fileRouter(uploads), heartbeat: false }));
    const proxy = await FaultProxy.start(site.port);
    cleanups.push(site.close, () => proxy.close());
    const context = await suite.browser.newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(site.url);
    await waitInPage(page, () => (window as unknown as TransferWindow).__transfer !== undefined, undefined, 'the page');
    await page.evaluate(
      (url) => (window as unknown as TransferWindow).__transfer.start(url),
      `ws://127.0.0.1:${proxy.port}/ws`,
    );
    await waitInPage(
      page,
      () => (window as unknown as TransferWindow).__transfer.state() === 'open',
      undefined,
      'open',
    );
    return { page, proxy };
  }

  /** Cuts the page's connection once its `bar` passed `fraction`, then lets it reconnect. */
  async function cutAt(page: Page, proxy: FaultProxy, bar: 'down' | 'up', fraction: number): Promise<void> {
    await waitInPage(
      page,
      ([which, at]) => {
        const bars = (window as unknown as TransferWindow).__transfer.bars()[which as 'down' | 'up'];
        return bars.max > 0 && bars.value >= bars.max * (at as number);
      },
      [bar, fraction],
      `the ${bar} bar at ${fraction}`,
      30_000,
    );
    proxy.cut();
    proxy.restore();
  }

  it('downloads with a progress bar through a cut: 50 MiB, every byte once', async () => {
    const { page, proxy } = await open(new Uploads());
    const started = performance.now();
    const result = page.evaluate((size) => (window as unknown as TransferWindow).__transfer.download(3, size), SIZE);
    await cutAt(page, proxy, 'down', 0.4);
    const got = await result;
    const bars = await page.evaluate(() => (window as unknown as TransferWindow).__transfer.bars());
    const reconnects = await page.evaluate(() => (window as unknown as TransferWindow).__transfer.reconnects());
    console.log(
      `[streams] Chromium download 50 MiB: ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
        `the bar moved ${bars.down.moves} times, reconnects ${reconnects}`,
    );
    expect(reconnects).toBe(1);
    expect(got.bytes).toBe(SIZE);
    expect(got.sum).toBe(fileChecksum(3, SIZE));
    expect(got.reported).toEqual({ bytes: SIZE, sum: got.sum });
    expect(bars.down).toMatchObject({ value: SIZE, max: SIZE, back: false });
    expect(bars.down.moves).toBe(200);
  }, 120_000);

  it('uploads with a progress bar through a cut: 50 MiB, every chunk taken once', async () => {
    const uploads = new Uploads();
    const { page, proxy } = await open(uploads);
    const started = performance.now();
    const result = page.evaluate(
      (size) => (window as unknown as TransferWindow).__transfer.upload('page', 5, size),
      SIZE,
    );
    await cutAt(page, proxy, 'up', 0.4);
    const done = await result;
    const bars = await page.evaluate(() => (window as unknown as TransferWindow).__transfer.bars());
    const reconnects = await page.evaluate(() => (window as unknown as TransferWindow).__transfer.reconnects());
    console.log(
      `[streams] Chromium upload 50 MiB: ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
        `the bar moved ${bars.up.moves} times, repeats ${uploads.repeats}, reconnects ${reconnects}`,
    );
    expect(reconnects).toBe(1);
    expect(done).toEqual({ bytes: SIZE, sum: fileChecksum(5, SIZE), chunks: 200 });
    expect(uploads.repeats).toBe(0);
    expect(bars.up).toMatchObject({ value: SIZE, max: SIZE, back: false });
  }, 120_000);
});
