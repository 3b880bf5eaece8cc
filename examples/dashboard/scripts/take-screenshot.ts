// What both dashboards' screenshot scripts share: a page of `site` in headless Chromium at
// 1280×800, made ready by `ready`, written to docs/images/<name>.png; then both are closed.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium } from '../../../packages/tests/support/chromium.js';

export async function takeScreenshot(
  site: { url: string; close(): Promise<void> },
  name: string,
  ready: (page: Page) => Promise<unknown>,
): Promise<void> {
  const images = new URL('../../../docs/images/', import.meta.url);
  const output = fileURLToPath(new URL(`${name}.png`, images));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    await page.goto(site.url);
    await ready(page);
    await mkdir(fileURLToPath(images), { recursive: true });
    await page.screenshot({ path: output });
    console.log(`wrote ${output}`);
  } finally {
    await browser.close();
    await site.close();
  }
}
