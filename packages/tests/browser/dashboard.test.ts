import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canRunBrowserSuite, launchChromium } from '../support/chromium.js';
import {
  closeAll,
  type DashboardWindow,
  msUntilReadings,
  openDashboard,
  readingsReceived,
  saveScreenshot,
  startTestDashboard,
  streams,
  waitForText,
  waitInPage,
} from './dashboard-page.js';

const NORTH_TOGGLE = '.zone[data-zone="north"] .toggle';

// The dashboard (examples/dashboard) in headless Chromium: the page's own WebSocket to a
// real server on 127.0.0.1, its controls, and a page that stalls beside one that does not.

describe.skipIf(!canRunBrowserSuite('dashboard'))('the dashboard in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(closeAll);
  afterAll(async () => {
    await browser?.close();
  });

  it("sends the subscriptions made as the page loads as one batch over the browser's WebSocket", async () => {
    const dashboard = await startTestDashboard();
    const { page, framesSent } = await openDashboard(browser, dashboard.url);
    const [credentials, batch] = framesSent();
    // The credentials first, alone; then one message, a JSON array of every subscribe the
    // page made in its first task.
    expect(JSON.parse(credentials ?? 'null')).toMatchObject({ type: 'auth' });
    const first = JSON.parse(batch ?? 'null') as unknown;
    expect(Array.isArray(first)).toBe(true);
    const envelopes = first as Array<{ type: string; name: string }>;
    expect(envelopes.map((envelope) => envelope.type)).toEqual(envelopes.map(() => 'subscribe'));
    const followed = Object.keys(await streams(page));
    expect(envelopes).toHaveLength(followed.length);
    expect(envelopes.length).toBeGreaterThanOrEqual(4);
  });

  it('loads and fills the table, the cards and the charts from live messages over its own WebSocket', async () => {
    const dashboard = await startTestDashboard();
    const { page, framesReceived } = await openDashboard(browser, dashboard.url);

    const cell = page.locator('tr[data-sensor="north-001"] td.value');
    const first = await cell.textContent();
    expect(first).toMatch(/^\d+\.\d$/); // painted from the readings snapshot
    await waitInPage(
      page,
      (before) => document.querySelector('tr[data-sensor="north-001"] td.value')?.textContent !== before,
      first,
      'north-001 to show a newer reading',
    );
    await waitInPage(
      page,
      () => {
        const inspector = (window as unknown as DashboardWindow).__dashboard;
        const charts = inspector.charts();
        return inspector.rowUpdates() >= 20 && charts.zones >= 10 && charts.rate >= 10 && charts.server >= 1;
      },
      undefined,
      '20 table row updates, 10 samples in the charts and a server stats point',
    );

    expect(framesReceived()).toBeGreaterThan(300); // the browser's own socket carried them
    await expect(page.locator('.zone[data-zone="south"] .metric .value').textContent()).resolves.toMatch(/^\d+\.\d$/);
    await expect(page.locator('#stat-connections').textContent()).resolves.toBe('1');
    const all = await streams(page);
    expect(Object.keys(all).sort()).toEqual([
      'alerts',
      'feed.status',
      'readings/east',
      'readings/north',
      'readings/south',
      'readings/west',
      'stats',
    ]);
    for (const zone of ['north', 'south', 'east', 'west']) {
      const stream = all[`readings/${zone}`];
      expect(stream?.count).toBeGreaterThan(50);
      expect(stream?.holes).toBe(0);
      await expect(page.locator(`.stream[data-stream="readings/${zone}"] .position`).textContent()).resolves.toMatch(
        /^[0-9a-f]{8}\.\d+:\d+$/,
      );
    }

    const path = await saveScreenshot(page, 'dashboard');
    expect(existsSync(path)).toBe(true);
  });

  it('pauses a zone, resumes it and changes the rate through procedure calls, and the server publishes accordingly', async () => {
    const dashboard = await startTestDashboard();
    const { page } = await openDashboard(browser, dashboard.url);
    const toggle = page.locator(NORTH_TOGGLE);

    await toggle.click();
    await waitInPage(
      page,
      () => (window as unknown as DashboardWindow).__dashboard.feed()?.paused.north === true,
      undefined,
      'north to be paused',
    );
    expect(dashboard.feed.status().paused.north).toBe(true);
    await waitForText(page, NORTH_TOGGLE, 'Resume');
    // The reply came after every north reading published before the pause, on the same
    // socket: from here on north stays still while the other zones go on.
    const north = (await streams(page))['readings/north']?.count ?? 0;
    await msUntilReadings(page, 300, 5_000);
    expect((await streams(page))['readings/north']?.count).toBe(north);

    await toggle.click();
    await waitInPage(
      page,
      (before) =>
        ((window as unknown as DashboardWindow).__dashboard.streams()['readings/north']?.count ?? 0) >= before + 20,
      north,
      'north readings after resuming',
    );
    await waitForText(page, NORTH_TOGGLE, 'Pause');

    // 200/s by default; 1,000 readings take about 1 s at 1k/s, and 5 s at the old rate.
    await page.locator('#rate-presets button[data-rate="1000"]').click();
    await waitInPage(
      page,
      () => (window as unknown as DashboardWindow).__dashboard.feed()?.updatesPerSecond === 1000,
      undefined,
      'the rate to be 1,000/s',
    );
    const fastMs = await msUntilReadings(page, 1_000, 3_000);
    expect(1_000 / (fastMs / 1000)).toBeGreaterThan(600);

    await page.locator('#rate-presets button[data-rate="20"]').click();
    await waitInPage(
      page,
      () => (window as unknown as DashboardWindow).__dashboard.feed()?.updatesPerSecond === 20,
      undefined,
      'the rate to be 20/s',
    );
    const slowMs = await msUntilReadings(page, 20, 3_000);
    expect(20 / (slowMs / 1000)).toBeLessThan(40);
    await expect(page.locator('#rate-presets button[data-rate="20"]').getAttribute('aria-pressed')).resolves.toBe(
      'true',
    );
  });

  it('acknowledges an alert with its button: it leaves this page and every other page', async () => {
    const dashboard = await startTestDashboard(0, { spikeEveryMs: 200 });
    const { page } = await openDashboard(browser, dashboard.url);
    const other = await openDashboard(browser, dashboard.url);
    await waitInPage(
      page,
      () => document.querySelector('#alerts button[data-alert]') !== null,
      undefined,
      'an alert with an Acknowledge button',
    );
    const id = Number(await page.locator('#alerts button[data-alert]').first().getAttribute('data-alert'));
    await waitInPage(
      other.page,
      (id) => (window as unknown as DashboardWindow).__dashboard.alerts().some((alert) => alert.id === id),
      id,
      `alert ${id} on the other page`,
    );

    await page.locator(`#alerts button[data-alert="${id}"]`).click();
    for (const { page: each } of [{ page }, other]) {
      await waitInPage(
        each,
        (id) =>
          !(window as unknown as DashboardWindow).__dashboard.alerts().some((alert) => alert.id === id) &&
          document.querySelector(`#alerts [data-alert-id="${id}"]`) === null,
        id,
        `alert ${id} to leave the page`,
      );
    }
    expect(await readingsReceived(page)).toBeGreaterThan(0);
  });

  it('keeps another page at the full rate while one page stalls its main thread for 3 s', async () => {
    const dashboard = await startTestDashboard();
    dashboard.feed.setRate(1_000);
    // Two contexts: two renderer processes, as two tabs of two users would be.
    const steady = await openDashboard(browser, dashboard.url);
    const stalled = await openDashboard(browser, dashboard.url);
    await msUntilReadings(steady.page, 500, 3_000);

    const publishedBefore = dashboard.feed.published;
    const steadyBefore = await readingsReceived(steady.page);
    const stalledBefore = await readingsReceived(stalled.page);
    await stalled.page.evaluate(() => {
      const until = performance.now() + 3_000;
      while (performance.now() < until) {
        // busy: no frames, no messages handled
      }
    });
    const steadyDuring = (await readingsReceived(steady.page)) - steadyBefore;
    const publishedDuring = dashboard.feed.published - publishedBefore;

    // About 3,000 published; the steady page kept up with them (allowing for what was in
    // flight at either end of the window).
    expect(publishedDuring).toBeGreaterThan(2_000);
    expect(steadyDuring).toBeGreaterThan(publishedDuring * 0.75);
    // The stalled page lost nothing either: it catches up on what waited in its socket.
    await waitInPage(
      stalled.page,
      (target) => {
        const all = (window as unknown as DashboardWindow).__dashboard.streams();
        let sum = 0;
        for (const [label, stream] of Object.entries(all)) if (label.startsWith('readings/')) sum += stream.count;
        return sum >= target;
      },
      stalledBefore + publishedDuring,
      'the stalled page to catch up',
    );
    for (const stream of Object.values(await streams(stalled.page))) {
      expect(stream.holes).toBe(0);
      expect(stream.gaps).toBe(0);
    }
  });
});
