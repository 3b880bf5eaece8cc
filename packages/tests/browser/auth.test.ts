import { RpcError } from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { canRunBrowserSuite } from '../support/chromium.js';
import { within } from '../support/wait.js';
import { waitInPage } from './dashboard-page.js';
import { authContract } from './fixtures/auth-contract.js';
import type { AuthPage } from './fixtures/auth-page.js';
import { servePage, usePageSuite } from './page-script.js';

// A refused connection in a real browser, where the HTTP status of a refused upgrade is
// invisible: the close code carries the refusal, and the client stops retrying.

type AuthWindow = Window & { __auth: AuthPage };

interface Site {
  url: string;
  wsUrl: string;
  /** Upgrade requests that reached the server: one per connection attempt. */
  upgrades: () => number;
  contexts: string[];
  close: () => Promise<void>;
}

async function startSite(script: string): Promise<Site> {
  const contexts: string[] = [];
  const router = defineRouter(authContract, {
    context: ({ auth }) => {
      const token = (auth as { token?: string } | undefined)?.token ?? '';
      contexts.push(token);
      if (token === 'bad') throw new RpcError('UNAUTHORIZED', 'token expired');
      return { user: token };
    },
    procedures: { whoami: ({ ctx }) => ctx.user },
  });
  const { http, url, wsUrl, close } = await servePage(script, createServer({ router, onRefused: () => {} }));
  let upgrades = 0;
  http.on('upgrade', () => upgrades++);
  return { url, wsUrl, upgrades: () => upgrades, contexts, close };
}

describe.skipIf(!canRunBrowserSuite('auth'))('credentials refused in Chromium', () => {
  const suite = usePageSuite('auth-page');
  const { cleanups } = suite;

  const open = (site: Site): Promise<Page> => suite.openPage(site.url, '__auth');

  it("a wrong token: 'unauthorized' with UNAUTHORIZED within 1 s, the queued call rejected, no retry; reauthenticate() opens", async () => {
    const site = await startSite(suite.script);
    cleanups.push(site.close);
    const page = await open(site);
    await page.evaluate((url) => (window as unknown as AuthWindow).__auth.start(url, 'bad'), site.wsUrl);
    await waitInPage(
      page,
      () => (window as unknown as AuthWindow).__auth.queuedCall() !== undefined,
      undefined,
      'the queued call to settle',
    );
    const states = await page.evaluate(() => (window as unknown as AuthWindow).__auth.states());
    expect(states.map((entry) => entry.state)).toEqual(['unauthorized']);
    expect(states[0]?.error).toBe('UNAUTHORIZED token expired');
    expect(states[0]?.atMs).toBeLessThan(1_000);
    expect(await page.evaluate(() => (window as unknown as AuthWindow).__auth.queuedCall())).toBe(
      'UNAUTHORIZED token expired',
    );
    await expect(page.evaluate(() => (window as unknown as AuthWindow).__auth.call())).resolves.toBe(
      'UNAUTHORIZED token expired',
    );

    // A marker: another page connects and calls. A client that retried (every 1–5 ms here)
    // would have sent more upgrades by the time that round trip is done.
    const other = await open(site);
    await other.evaluate((url) => (window as unknown as AuthWindow).__auth.start(url, 'ada'), site.wsUrl);
    await waitInPage(
      other,
      () => (window as unknown as AuthWindow).__auth.queuedCall() !== undefined,
      undefined,
      'the marker call',
    );
    expect(await other.evaluate(() => (window as unknown as AuthWindow).__auth.queuedCall())).toBe('ok "ada"');
    expect(site.upgrades()).toBe(2);
    expect(site.contexts).toEqual(['bad', 'ada']);

    const result = await within(
      page.evaluate(() => (window as unknown as AuthWindow).__auth.reauthenticate('bob')),
      5_000,
      'reauthenticate()',
    );
    expect(result).toBe('ok undefined');
    await expect(page.evaluate(() => (window as unknown as AuthWindow).__auth.call())).resolves.toBe('ok "bob"');
    const after = await page.evaluate(() => (window as unknown as AuthWindow).__auth.states());
    expect(after.map((entry) => entry.state)).toEqual(['unauthorized', 'reconnecting', 'open']);
  });
});
