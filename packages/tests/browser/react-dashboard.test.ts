import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ZONES } from '../../../examples/dashboard/shared.js';
import type { Probe } from '../../../examples/react-dashboard/page/probe.js';
import {
  type RunningReactDashboard,
  startReactDashboard,
} from '../../../examples/react-dashboard/server/react-dashboard.js';
import { canRunBrowserSuite, launchChromium } from '../support/chromium.js';
import { FRAME_RATE_IN_PAGE, type FrameRate } from '../support/frame-rate.js';

// The React dashboard (examples/react-dashboard) in headless Chromium: 100 tiles, server
// rendered, hydrated, live over the page's own WebSocket. Renders are counted by the page's
// probe (window.__reactDashboard), snapshots by the server.

const offset = (position: string) => Number(position.slice(position.lastIndexOf(':') + 1));
const epoch = (position: string) => position.slice(0, position.lastIndexOf(':'));

const probeOf = (page: Page) => page.evaluate(() => (window as never as { __reactDashboard: Probe }).__reactDashboard);

describe.skipIf(!canRunBrowserSuite('react dashboard'))('the React dashboard in Chromium', () => {
  let browser: Browser;
  const running: RunningReactDashboard[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async () => {
    for (const dashboard of running.splice(0)) await dashboard.close();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function start(updatesPerSecond: number) {
    const dashboard = await startReactDashboard({ port: 0, host: '127.0.0.1', feed: { updatesPerSecond } });
    running.push(dashboard);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A hydration mismatch is an error in the console (and React renders the page anew).
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return { dashboard, page, errors };
  }

  async function openLive(page: Page, url: string) {
    await page.goto(url);
    await page.waitForSelector('.connection[data-state="open"]', { timeout: 10_000 });
  }

  it('at 1,000 updates/s across 100 tiles, at least 99% of render passes touch exactly one tile', async () => {
    const { dashboard, page, errors } = await start(1_000);
    await openLive(page, dashboard.url);
    expect(await page.locator('.tile').count()).toBe(100);
    await page.waitForFunction(() => (window as never as { __reactDashboard: Probe }).__reactDashboard.folded > 500);
    const before = await probeOf(page);
    const frames = (await page.evaluate(`(${FRAME_RATE_IN_PAGE})(3)`)) as FrameRate;
    const after = await probeOf(page);
    const passes = after.passesByTiles.map((n, tiles) => (n ?? 0) - (before.passesByTiles[tiles] ?? 0));
    const withTiles = passes.slice(1).reduce((sum, n) => sum + (n ?? 0), 0);
    const oneTile = passes[1] ?? 0;
    const folded = after.folded - before.folded;
    const tileRenders = after.tileRenders - before.tileRenders;
    console.log(
      `React dashboard, 1,000 updates/s, 3 s: ${folded} readings folded, ${tileRenders} tile renders ` +
        `(${(tileRenders / folded).toFixed(3)} per reading), ${withTiles} render passes, ` +
        `${((100 * oneTile) / withTiles).toFixed(2)}% with exactly one tile; ${frames.fps.toFixed(1)} fps, longest frame ${frames.longest.toFixed(1)} ms`,
    );
    expect(folded).toBeGreaterThan(1_500); // it kept up with the feed
    expect(oneTile / withTiles).toBeGreaterThanOrEqual(0.99);
    expect(tileRenders / folded).toBeLessThanOrEqual(1.01);
    expect(errors).toEqual([]);
  });

  it('100 page loads while the feed publishes 500/s: each zone continues exactly after its rendered position, no browser snapshot', async () => {
    const { dashboard, page, errors } = await start(500);
    let missing = 0;
    let repeated = 0;
    let otherEpoch = 0;
    let checked = 0;
    const loads = 100;
    for (let load = 0; load < loads; load++) {
      await page.goto(dashboard.url);
      // Some readings of every zone after the render (500/s: about 125 a second per zone).
      await page.waitForFunction(
        (zones) => {
          const probe = (window as never as { __reactDashboard?: Probe }).__reactDashboard;
          return zones.every((zone) => (probe?.positions[zone]?.length ?? 0) >= 3);
        },
        [...ZONES],
        { timeout: 10_000 },
      );
      const probe = await probeOf(page);
      for (const zone of ZONES) {
        const from = probe.preloaded[zone] as string;
        const positions = probe.positions[zone] as string[];
        let expected = offset(from) + 1;
        for (const position of positions) {
          checked++;
          if (epoch(position) !== epoch(from)) otherEpoch++;
          const at = offset(position);
          if (at > expected) missing += at - expected;
          if (at < expected) repeated++;
          expected = Math.max(expected, at + 1);
        }
      }
    }
    const snapshots = dashboard.snapshotsTaken();
    const rendered = dashboard.rendered();
    console.log(
      `React dashboard SSR handoff: ${loads} page loads at 500 updates/s, ${checked} readings checked after the ` +
        `rendered positions: ${missing} missing, ${repeated} repeated, ${otherEpoch} of another epoch; ` +
        `${snapshots} snapshots taken for ${rendered} server renders (${ZONES.length + 1} each)`,
    );
    expect({ missing, repeated, otherEpoch }).toEqual({ missing: 0, repeated: 0, otherEpoch: 0 });
    expect(rendered).toBe(loads);
    expect(errors).toEqual([]); // every hydration matched the server's HTML
    // Every snapshot was taken by a server render (four zones and the feed's status): none by a browser.
    expect(snapshots).toBe(rendered * (ZONES.length + 1));
  }, 120_000);
});
