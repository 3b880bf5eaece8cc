// React dashboard benchmark: renders per update and the page's frame rate at several feed
// rates, in headless Chromium (1280×800), for four pages of the same 100-sensor plant:
//   switchboard   examples/react-dashboard: useChannel per tile, one subscription per zone, select
//   switchboard-frame  the same with renderMessages 'frame' (readings rendered once per frame)
//   vanilla       examples/dashboard (25 sensors per zone): no React, drawn once per frame
//   trpc-zone     tRPC 11 useSubscription per tile, following its zone (bench/react/trpc-page)
//   trpc-sensor   tRPC 11 useSubscription per tile, its own sensor filtered on the server
// Each run: a fresh server in this process, one page, warm-up, then rAF timestamps and the
// page's tile renders for --seconds, with the feed's published readings as the updates. Medians
// over --runs, contenders interleaved. Not a test: prints numbers (docs/benchmarks.md).
//
//   npx tsx bench/react/run.ts [--runs 3] [--rates 200,1000,5000] [--seconds 3]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { startDashboard } from '../../examples/dashboard/server/dashboard.js';
import type { Probe } from '../../examples/react-dashboard/page/probe.js';
import { startReactDashboard } from '../../examples/react-dashboard/server/react-dashboard.js';
import { launchChromium } from '../../packages/tests/support/chromium.js';
import { FRAME_RATE_IN_PAGE, type FrameRate } from '../../packages/tests/support/frame-rate.js';
import { startTrpcDashboard } from './trpc-server.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rates: { type: 'string', default: '200,1000,5000' },
    seconds: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const RATES = values.rates.split(',').map(Number);
const SECONDS = Number(values.seconds);
const WARM_UP_MS = 1_500;

interface Running {
  url: string;
  published(): number;
  close(): Promise<void>;
}

interface Contender {
  id: string;
  label: string;
  start(rate: number): Promise<Running>;
  /** Page text to evaluate until true: the page is connected. */
  ready: string;
  /** Whether the page counts tile renders (the React pages). */
  renders: boolean;
  /** Not run above this rate (see its entry). */
  maxRate?: number;
}

const CONTENDERS: Contender[] = [
  {
    id: 'switchboard',
    label: '@switchboard/react',
    async start(rate) {
      const d = await startReactDashboard({ port: 0, host: '127.0.0.1', feed: { updatesPerSecond: rate } });
      return { url: d.url, published: () => d.feed.published, close: d.close };
    },
    ready: `document.querySelector('.connection[data-state="open"]') !== null`,
    renders: true,
  },
  {
    id: 'switchboard-frame',
    label: "@switchboard/react, renderMessages 'frame'",
    async start(rate) {
      const d = await startReactDashboard({ port: 0, host: '127.0.0.1', feed: { updatesPerSecond: rate } });
      return { url: `${d.url}?render=frame`, published: () => d.feed.published, close: d.close };
    },
    ready: `document.querySelector('.connection[data-state="open"]') !== null`,
    renders: true,
  },
  {
    id: 'vanilla',
    label: 'vanilla (examples/dashboard)',
    async start(rate) {
      const d = await startDashboard({
        port: 0,
        host: '127.0.0.1',
        feed: { updatesPerSecond: rate, sensorsPerZone: 25 },
      });
      return { url: d.url, published: () => d.feed.published, close: d.close };
    },
    ready: `window.__dashboard?.connection().state === 'open'`,
    renders: false,
  },
  {
    id: 'trpc-zone',
    label: 'tRPC useSubscription, zone',
    async start(rate) {
      const d = await startTrpcDashboard(rate);
      return { url: d.url, published: () => d.feed.published, close: d.close };
    },
    ready: 'window.__trpcOpen?.() === true',
    renders: true,
    // At 5,000/s the page (25 copies of each reading) cannot read what the server sends, and
    // tRPC's ws server buffers it without bound (1.9 GB of RSS within a minute): not run.
    maxRate: 1_000,
  },
  {
    id: 'trpc-sensor',
    label: 'tRPC useSubscription, sensor',
    async start(rate) {
      const d = await startTrpcDashboard(rate);
      return { url: `${d.url}?variant=sensor`, published: () => d.feed.published, close: d.close };
    },
    ready: 'window.__trpcOpen?.() === true',
    renders: true,
  },
];

interface Sample {
  fps: number;
  p99: number;
  rendersPerUpdate: number | null;
  /** Of the tile renders, the share that showed nothing new. */
  wasted: number | null;
  updatesPerSecond: number;
}

const tileRenders = (page: Page) =>
  page.evaluate(() => {
    const probe = (window as never as { __reactDashboard?: Probe }).__reactDashboard;
    return { renders: probe?.tileRenders ?? 0, wasted: probe?.wastedRenders ?? 0 };
  });

async function measure(contender: Contender, rate: number, browser: Awaited<ReturnType<typeof launchChromium>>) {
  const running = await contender.start(rate);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await page.goto(running.url);
    const ready = await page.waitForFunction(contender.ready, undefined, { timeout: 15_000 }).then(
      () => true,
      () => false,
    );
    // A page whose main thread the feed saturates before it is even ready: no frames to count.
    if (!ready) return { fps: 0, p99: Number.NaN, rendersPerUpdate: null, wasted: null, updatesPerSecond: Number.NaN };
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    const renders0 = await tileRenders(page);
    const published0 = running.published();
    const started = performance.now();
    const frames = (await page.evaluate(`(${FRAME_RATE_IN_PAGE})(${SECONDS})`)) as FrameRate;
    const seconds = (performance.now() - started) / 1000;
    const updates = running.published() - published0;
    const renders1 = await tileRenders(page);
    const renders = renders1.renders - renders0.renders;
    return {
      fps: frames.fps,
      p99: frames.p99,
      rendersPerUpdate: contender.renders ? renders / updates : null,
      wasted: contender.renders ? (renders1.wasted - renders0.wasted) / Math.max(1, renders) : null,
      updatesPerSecond: updates / seconds,
    } satisfies Sample;
  } finally {
    await page.close();
    await running.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

const contenders =
  values.only === undefined ? CONTENDERS : CONTENDERS.filter((c) => values.only?.split(',').includes(c.id));
const browser = await launchChromium();
const results = new Map<string, Sample[]>();
try {
  for (let run = 0; run < RUNS; run++) {
    for (const rate of RATES) {
      for (const contender of contenders) {
        if (rate > (contender.maxRate ?? Number.POSITIVE_INFINITY)) continue;
        const sample = await measure(contender, rate, browser);
        const key = `${contender.id}@${rate}`;
        results.set(key, [...(results.get(key) ?? []), sample]);
        process.stderr.write(
          `run ${run + 1} ${key}: ${sample.fps.toFixed(1)} fps, ${sample.rendersPerUpdate?.toFixed(2) ?? '–'} renders/update\n`,
        );
      }
    }
  }
} finally {
  await browser.close();
}

console.log(
  `\nReact dashboard benchmark (bench/react/run.ts), ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, headless Chromium 1280×800; ${SECONDS} s per measurement after ${WARM_UP_MS / 1000} s, median of ${RUNS} runs.\n`,
);
console.log('| rate | page | updates/s | tile renders per update | renders for nothing | fps | p99 frame |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const rate of RATES) {
  for (const contender of contenders) {
    const samples = results.get(`${contender.id}@${rate}`) ?? [];
    const renders = samples.map((s) => s.rendersPerUpdate).filter((r): r is number => r !== null);
    const wasted = samples.map((s) => s.wasted).filter((r): r is number => r !== null);
    console.log(
      `| ${rate.toLocaleString('en')}/s | ${contender.label} | ${median(samples.map((s) => s.updatesPerSecond)).toFixed(0)} | ${
        renders.length === 0 ? '–' : median(renders).toFixed(2)
      } | ${wasted.length === 0 ? '–' : `${(100 * median(wasted)).toFixed(1)}%`} | ${median(samples.map((s) => s.fps)).toFixed(1)} | ${median(samples.map((s) => s.p99)).toFixed(1)} ms |`,
    );
  }
}
for (const rate of RATES) {
  const m = (id: string, pick: (s: Sample) => number | null) =>
    median((results.get(`${id}@${rate}`) ?? []).map(pick).filter((x): x is number => x !== null));
  const ours = m('switchboard', (s) => s.rendersPerUpdate);
  console.log(
    `- ${rate}/s: tRPC (zone) renders ÷ ours ${(m('trpc-zone', (s) => s.rendersPerUpdate) / ours).toFixed(1)}×, tRPC (sensor) ÷ ours ${(
      m('trpc-sensor', (s) => s.rendersPerUpdate) / ours
    ).toFixed(2)}×; our fps ÷ vanilla ${(m('switchboard', (s) => s.fps) / m('vanilla', (s) => s.fps)).toFixed(3)}`,
  );
}
