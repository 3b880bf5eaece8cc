// `npx tsx examples/react-dashboard/scripts/screenshot.ts`: the README's picture of the React
// dashboard, taken from the real page in headless Chromium at 1280×800 a few seconds after it
// loaded (server-rendered, then live): docs/images/react-dashboard.png.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../../../packages/tests/support/chromium.js';
import { startReactDashboard } from '../server/react-dashboard.js';

const output = fileURLToPath(new URL('../../../docs/images/react-dashboard.png', import.meta.url));

const dashboard = await startReactDashboard({ port: 0, host: '127.0.0.1', feed: { spikeEveryMs: 1_500 } });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(dashboard.url);
  await page.waitForSelector('.connection[data-state="open"]', { timeout: 10_000 });
  // Live for a while, with a sensor or two past the alert threshold.
  await page.waitForFunction(
    () => document.querySelectorAll('.tile[data-level="warning"], .tile[data-level="critical"]').length >= 2,
    undefined,
    {
      timeout: 60_000,
      polling: 250,
    },
  );
  await mkdir(fileURLToPath(new URL('../../../docs/images/', import.meta.url)), { recursive: true });
  await page.screenshot({ path: output });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  await dashboard.close();
}
