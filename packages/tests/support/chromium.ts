// Debian's Chromium, driven by playwright-core. We never download a browser: CI installs
// the `chromium` package (.ci/run), developers `apt-get install chromium`.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type LaunchOptions } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, and quiet: no background traffic, updates or sync while tests run. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Whether Debian's Chromium is installed where we launch it from. */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Whether a browser suite can run. Without Chromium it throws under CI=true (no suite may
 * skip there) and otherwise warns loudly and returns false, for `describe.skipIf`.
 * @example
 * describe.skipIf(!canRunBrowserSuite('dashboard'))('the dashboard in Chromium', () => { … });
 */
export function canRunBrowserSuite(suite: string): boolean {
  if (hasChromium()) return true;
  const message = `${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`${suite}: ${message}`);
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING the ${suite} browser suite: ${message}\n${'!'.repeat(78)}\n`);
  return false;
}

/** Launches headless Chromium; close it with `browser.close()`. */
export function launchChromium(options: Omit<LaunchOptions, 'executablePath' | 'args'> = {}): Promise<Browser> {
  if (!hasChromium()) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install -y chromium)`);
  }
  return chromium.launch({ ...options, executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}
