import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canRunBrowserSuite, launchChromium } from '../support/chromium.js';
import {
  closeAll,
  connectionText,
  type DashboardWindow,
  eventually,
  msUntilReadings,
  openDashboard,
  recordIndicator,
  saveScreenshot,
  startTestDashboard,
  streams,
  waitForState,
  waitForText,
  waitInPage,
} from './dashboard-page.js';

// The dashboard page when its connection goes: a server that stops and comes back on the
// same port, and a browser that goes offline and online again.

const NORTH_TOGGLE = '.zone[data-zone="north"] .toggle';
/** The page's client retries within this (page/main.ts: reconnect.maxDelayMs). */
const MAX_RECONNECT_DELAY_MS = 10_000;

describe.skipIf(!canRunBrowserSuite('dashboard connection'))('the dashboard when the connection goes', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(closeAll);
  afterAll(async () => {
    await browser?.close();
  });

  it('shows reconnecting, then open across a server restart; reports the gap; sends the call clicked meanwhile', async () => {
    const first = await startTestDashboard();
    const { page } = await openDashboard(browser, first.url);
    await msUntilReadings(page, 100, 3_000);
    const indicatorTexts = await recordIndicator(page);

    await first.close();
    await waitForState(page, 'reconnecting');
    await expect(page.locator('#connection').getAttribute('data-state')).resolves.toBe('reconnecting');

    // Clicked while the server is down: the call waits in the client's queue.
    await page.locator(NORTH_TOGGLE).click();
    await waitInPage(
      page,
      () => document.getElementById('connection-text')?.textContent?.includes('1 call queued') === true,
      undefined,
      'the indicator to show the queued call',
    );
    expect(await connectionText(page)).toMatch(/^reconnecting(…| in \d+ s) · 1 call queued$/);
    await waitForText(page, NORTH_TOGGLE, 'Pausing…');
    await saveScreenshot(page, 'dashboard-reconnecting');

    const second = await startTestDashboard(first.port);
    await waitForState(page, 'open', MAX_RECONNECT_DELAY_MS + 3_000);

    // The new server has a new broker, so a new epoch: the page says what it missed.
    const notice = page.locator('#notice');
    await waitInPage(page, () => document.getElementById('notice')?.hidden === false, undefined, 'the gap notice');
    await expect(notice.getAttribute('data-kind')).resolves.toBe('gap');
    await expect(page.locator('#notice-text').textContent()).resolves.toMatch(
      /^Gap: messages on 7 streams were missed/,
    );

    // The queued call ran on the new server, and its reply reached the page.
    await eventually(() => second.feed.status().paused.north, 'the queued pause to reach the new server');
    await waitInPage(
      page,
      (startedAt) => {
        const feed = (window as unknown as DashboardWindow).__dashboard.feed();
        return feed?.startedAt === startedAt && feed.paused.north === true;
      },
      second.feed.status().startedAt,
      "the page to show the new server's settings, north paused",
    );
    await waitForText(page, '#connection-text', 'open');
    await waitForText(page, NORTH_TOGGLE, 'Resume');

    // Subscriptions resumed on the new server: live readings flow again.
    await msUntilReadings(page, 100, 3_000);
    const texts = await indicatorTexts();
    expect(texts).toContain('open');
    expect(texts.some((text) => /^reconnecting in \d+ s/.test(text))).toBe(true);
    expect(texts.lastIndexOf('open')).toBeGreaterThan(texts.findIndex((text) => text.startsWith('reconnecting')));
    expect(texts.at(-1)).toBe('open');
    for (const [label, stream] of Object.entries(await streams(page))) {
      expect(stream.holes, label).toBe(0);
      expect(stream.gaps, label).toBe(1);
      // Channels with a snapshot healed the gap with a fresh one; stats has none.
      expect(stream.snapshots, label).toBe(label === 'stats' ? 0 : 2);
    }
    expect(await page.locator('.stream.gap').count()).toBe(7);
  });

  it('goes offline with the browser, and is open again at once when it is back online, with nothing missed', async () => {
    const dashboard = await startTestDashboard();
    const { page, context } = await openDashboard(browser, dashboard.url);
    await msUntilReadings(page, 100, 3_000);

    await context.setOffline(true);
    await waitForState(page, 'offline');
    await waitForText(page, '#connection-text', 'offline');
    expect(await page.evaluate(() => navigator.onLine)).toBe(false);
    const publishedAtOffline = dashboard.feed.published;
    await eventually(() => dashboard.feed.published >= publishedAtOffline + 100, 'readings published while offline');

    const onlineAtMs = Date.now();
    await context.setOffline(false);
    await waitForState(page, 'open', 3_000);
    // Far below the backoff's ceiling: the 'online' event, not a timer, brought it back.
    expect(Date.now() - onlineAtMs).toBeLessThan(MAX_RECONNECT_DELAY_MS / 4);
    await waitForText(page, '#connection-text', 'open');

    // The server kept its history, so what was published meanwhile is replayed: no gap.
    await msUntilReadings(page, 100, 3_000);
    for (const [label, stream] of Object.entries(await streams(page))) {
      expect(stream.holes, label).toBe(0);
      expect(stream.gaps, label).toBe(0);
    }
  });
});
