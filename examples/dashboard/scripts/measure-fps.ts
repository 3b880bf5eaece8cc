// `npx tsx examples/dashboard/scripts/measure-fps.ts`: how smooth the page stays as the feed speeds up. For each rate,
// the dashboard publishes at it while headless Chromium (1280×800) shows the page; after
// a warm-up, requestAnimationFrame timestamps are recorded in the page for a few seconds.
// Prints one row per rate and the highest rate that held ≥ 55 fps. Bounded: about 8 s a rate.
//
//   RATES=200,1000,5000 SECONDS=4 npx tsx examples/dashboard/scripts/measure-fps.ts
import { cpus, loadavg } from 'node:os';
import { launchChromium } from '../../../packages/tests/support/chromium.js';
import { FRAME_RATE_IN_PAGE, type FrameRate } from '../../../packages/tests/support/frame-rate.js';
import { startDashboard } from '../server/dashboard.js';

const RATES = (process.env.RATES ?? '200,1000,2000,5000,10000,20000,50000').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 4);
const WARM_UP_MS = 1_500;
const SMOOTH_FPS = 55;

interface FrameStats {
  fps: number;
  p99FrameMs: number;
  /** Frames that took longer than two vsyncs (a visible stutter). */
  longFrames: number;
  received: number;
  /** Gaps the client reported meanwhile: the server cut a page that fell too far behind. */
  gaps: number;
}

/** Readings the page received so far, and gaps it reported (the page's inspector). */
const COUNTS_IN_PAGE = `(() => {
  const streams = Object.entries(window.__dashboard.streams());
  return {
    received: streams.filter(([label]) => label.startsWith('readings/')).reduce((sum, [, s]) => sum + s.count, 0),
    gaps: streams.reduce((sum, [, s]) => sum + s.gaps, 0),
  };
})()`;

const dashboard = await startDashboard({ port: 0, host: '127.0.0.1' });
const browser = await launchChromium();
const rows: Array<{ rate: number; published: number } & FrameStats> = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(dashboard.url);
  await page.waitForFunction("window.__dashboard?.connection().state === 'open'", undefined, { timeout: 10_000 });
  for (const rate of RATES) {
    dashboard.feed.setRate(rate);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    const publishedBefore = dashboard.feed.published;
    const startedAt = performance.now();
    const before = (await page.evaluate(COUNTS_IN_PAGE)) as { received: number; gaps: number };
    const frames = (await page.evaluate(`(${FRAME_RATE_IN_PAGE})(${SECONDS})`)) as FrameRate;
    const after = (await page.evaluate(COUNTS_IN_PAGE)) as { received: number; gaps: number };
    const stats: FrameStats = {
      fps: frames.fps,
      p99FrameMs: frames.p99,
      longFrames: frames.longFrames,
      received: after.received - before.received,
      gaps: after.gaps - before.gaps,
    };
    const seconds = (performance.now() - startedAt) / 1000;
    const published = Math.round((dashboard.feed.published - publishedBefore) / seconds);
    rows.push({ rate, published, ...stats, received: Math.round(stats.received / seconds) });
  }
} finally {
  await browser.close();
  await dashboard.close();
}

console.log(
  `headless Chromium 1280×800, ${cpus().length} cores (load ${loadavg()[0]?.toFixed(2)}), ${SECONDS} s per rate`,
);
console.log('rate/s   published/s   received/s    fps   p99 frame   frames > 33 ms   gaps');
for (const row of rows) {
  console.log(
    `${String(row.rate).padStart(6)} ${String(row.published).padStart(13)} ${String(row.received).padStart(12)} ${row.fps
      .toFixed(1)
      .padStart(
        6,
      )} ${`${row.p99FrameMs.toFixed(1)} ms`.padStart(11)} ${String(row.longFrames).padStart(16)} ${String(row.gaps).padStart(6)}`,
  );
}
const smooth = rows.filter((row) => row.fps >= SMOOTH_FPS).map((row) => row.rate);
console.log(
  smooth.length === 0
    ? `no rate held ${SMOOTH_FPS} fps`
    : `highest rate at ≥ ${SMOOTH_FPS} fps: ${Math.max(...smooth)} updates/s`,
);
