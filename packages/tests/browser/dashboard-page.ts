// The dashboard page as the browser tests drive it: open it, read what the page itself
// counted (window.__dashboard), and wait for conditions inside the page, each with a deadline.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page, WebSocket as PageWebSocket } from 'playwright-core';
import type { DashboardInspector } from '../../../examples/dashboard/page/main.js';
import { type RunningDashboard, startDashboard } from '../../../examples/dashboard/server/dashboard.js';
import type { FeedOptions } from '../../../examples/dashboard/server/feed.js';

/** What `window` holds on the dashboard page. */
export type DashboardWindow = Window & { __dashboard: DashboardInspector };

export const VIEWPORT = { width: 1280, height: 800 } as const;
const DEFAULT_WAIT_MS = 5_000;
export const ARTIFACTS_DIR = fileURLToPath(new URL('../artifacts/browser/', import.meta.url));

/** Servers and browser contexts a test opened, closed after it. */
const cleanups: Array<() => Promise<unknown>> = [];

export async function closeAll(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  await Promise.allSettled(pending.map((cleanup) => cleanup()));
}

/** A dashboard server on 127.0.0.1 (port 0 unless given), closed after the test. */
export async function startTestDashboard(port = 0, feed: FeedOptions = {}): Promise<RunningDashboard> {
  const dashboard = await startDashboard({ port, host: '127.0.0.1', feed });
  cleanups.push(() => dashboard.close());
  return dashboard;
}

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  /** The page's own WebSocket to /ws, as the browser reports it. */
  socket: PageWebSocket;
  /** Frames the browser received on that socket. */
  framesReceived: () => number;
  /** The text of every frame the page sent on that socket, from the first. */
  framesSent: () => string[];
}

/**
 * Opens the dashboard in a context of its own (a renderer process of its own) and waits
 * until it is open and has painted the server's state.
 */
export async function openDashboard(browser: Browser, url: string): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const sent: string[] = [];
  page.on('websocket', (socket) => {
    if (socket.url().endsWith('/ws')) socket.on('framesent', ({ payload }) => sent.push(String(payload)));
  });
  const socketOpened = page.waitForEvent('websocket', {
    predicate: (socket) => socket.url().endsWith('/ws'),
    timeout: DEFAULT_WAIT_MS,
  });
  await page.goto(url);
  const socket = await socketOpened;
  let frames = 0;
  socket.on('framereceived', () => frames++);
  await waitInPage(
    page,
    () => {
      const inspector = (window as unknown as DashboardWindow).__dashboard;
      return inspector?.connection().state === 'open' && inspector.feed() !== undefined;
    },
    undefined,
    'the page to open and paint the state',
  );
  if (errors.length > 0) throw new Error(`the page threw: ${errors.join('; ')}`);
  return { page, context, socket, framesReceived: () => frames, framesSent: () => [...sent] };
}

/** Resolves once `predicate(arg)` holds inside the page; rejects naming `what` after `timeoutMs`. */
export async function waitInPage<A>(
  page: Page,
  predicate: (arg: A) => unknown,
  arg: A,
  what: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<void> {
  try {
    // Our args are plain values, which arrive in the page as they are (no handles to unbox).
    await page.waitForFunction(predicate as (arg: unknown) => unknown, arg as unknown, {
      timeout: timeoutMs,
      polling: 'raf',
    });
  } catch (error) {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** Resolves once the element at `selector` reads `text`. */
export function waitForText(page: Page, selector: string, text: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  return waitInPage(
    page,
    ([selector, text]) => document.querySelector(selector)?.textContent === text,
    [selector, text] as const,
    `${selector} to read '${text}'`,
    timeoutMs,
  );
}

/** Per stream: messages counted, last position, holes within an epoch, gaps reported. */
export function streams(page: Page) {
  return page.evaluate(() => (window as unknown as DashboardWindow).__dashboard.streams());
}

/** Readings received over the four zone streams. */
export async function readingsReceived(page: Page): Promise<number> {
  const all = await streams(page);
  return Object.entries(all)
    .filter(([label]) => label.startsWith('readings/'))
    .reduce((sum, [, stream]) => sum + stream.count, 0);
}

export function connectionText(page: Page): Promise<string | null> {
  return page.locator('#connection-text').textContent();
}

/** Resolves once the page's client is in `state`. */
export function waitForState(page: Page, state: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  return waitInPage(
    page,
    (expected) => (window as unknown as DashboardWindow).__dashboard.connection().state === expected,
    state,
    `the client to be ${state}`,
    timeoutMs,
  );
}

/**
 * Resolves with the ms it took until the page has received `count` more readings
 * (timed in the page), or rejects after `timeoutMs`.
 */
export async function msUntilReadings(page: Page, count: number, timeoutMs: number): Promise<number> {
  const handle = await page.evaluateHandle(() => {
    const inspector = (window as unknown as DashboardWindow).__dashboard;
    const total = () =>
      Object.entries(inspector.streams())
        .filter(([label]) => label.startsWith('readings/'))
        .reduce((sum, [, stream]) => sum + stream.count, 0);
    return { total, start: total(), startedAtMs: performance.now() };
  });
  try {
    await page.waitForFunction(
      ({ probe, count }) => probe.total() >= probe.start + count,
      { probe: handle, count },
      {
        timeout: timeoutMs,
        polling: 'raf',
      },
    );
  } catch (error) {
    throw new Error(`fewer than ${count} readings within ${timeoutMs} ms: ${(error as Error).message.split('\n')[0]}`);
  }
  const elapsedMs = await handle.evaluate((probe) => performance.now() - probe.startedAtMs);
  await handle.dispose();
  return elapsedMs;
}

/** Every text the connection indicator shows from now on, in order, recorded in the page. */
export async function recordIndicator(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const target = document.getElementById('connection-text') as HTMLElement;
    const seen: string[] = [target.textContent ?? ''];
    new MutationObserver(() => {
      const text = target.textContent ?? '';
      if (seen[seen.length - 1] !== text) seen.push(text);
    }).observe(target, { childList: true, characterData: true, subtree: true });
    (window as unknown as { __indicatorTexts: string[] }).__indicatorTexts = seen;
  });
  return () => page.evaluate(() => [...(window as unknown as { __indicatorTexts: string[] }).__indicatorTexts]);
}

/** Polls a server-side condition until it holds, or rejects naming `what`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Writes a PNG of the page under packages/tests/artifacts/browser/ (git-ignored); returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = `${ARTIFACTS_DIR}${name}.png`;
  await page.screenshot({ path });
  return path;
}
