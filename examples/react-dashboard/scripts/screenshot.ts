// `npx tsx examples/react-dashboard/scripts/screenshot.ts`: the README's picture of the React
// dashboard, taken from the real page in headless Chromium at 1280×800 a few seconds after it
// loaded (server-rendered, then live): docs/images/react-dashboard.png.
import { takeScreenshot } from '../../dashboard/scripts/take-screenshot.js';
import { startReactDashboard } from '../server/react-dashboard.js';

const dashboard = await startReactDashboard({ port: 0, host: '127.0.0.1', feed: { spikeEveryMs: 1_500 } });
await takeScreenshot(dashboard, 'react-dashboard', async (page) => {
  await page.waitForSelector('.connection[data-state="open"]', { timeout: 10_000 });
  // Live for a while, with a sensor or two past the alert threshold.
  await page.waitForFunction(
    () => document.querySelectorAll('.tile[data-level="warning"], .tile[data-level="critical"]').length >= 2,
    undefined,
    { timeout: 60_000, polling: 250 },
  );
});
