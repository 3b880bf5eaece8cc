// `npm run screenshot`: the README's picture, taken from the real page. Starts the
// dashboard, opens it in headless Chromium at 1280×800, waits until the charts have a
// good stretch of live data and an alert is open, and writes docs/images/dashboard.png.
import { startDashboard } from '../server/dashboard.js';
import { takeScreenshot } from './take-screenshot.js';

/** Seconds of chart history in the picture. */
const HISTORY_S = Number(process.env.HISTORY_S ?? 45);

const dashboard = await startDashboard({ port: 0, host: '127.0.0.1', feed: { spikeEveryMs: 2_500 } });
await takeScreenshot(dashboard, 'dashboard', (page) =>
  page.waitForFunction(
    (history) => {
      const inspector = (window as never as { __dashboard?: { charts(): { zones: number }; alerts(): unknown[] } })
        .__dashboard;
      // Five samples a second.
      return inspector !== undefined && inspector.charts().zones >= history * 5 && inspector.alerts().length >= 2;
    },
    HISTORY_S,
    { timeout: (HISTORY_S + 60) * 1000, polling: 500 },
  ),
);
