import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { launchChromium } from '../support/chromium.js';

const rootTsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

/** A test page's script (`./fixtures/<name>.ts`), bundled for the browser with the client, as the page's one module. */
export async function bundlePage(name: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: rootTsconfig,
    write: false,
    logLevel: 'silent',
  });
  return (result.outputFiles[0] as { text: string }).text;
}

/**
 * A browser suite's setup: Chromium and the page's script (`./fixtures/<name>.ts`) made once
 * for the suite, and what each test opened closed after it (push onto `cleanups`).
 */
export function usePageSuite(name: string): {
  readonly browser: Browser;
  readonly script: string;
  cleanups: Array<() => Promise<unknown>>;
} {
  let browser: Browser | undefined;
  let script: string | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    [browser, script] = await Promise.all([launchChromium(), bundlePage(name)]);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      return browser as Browser;
    },
    get script() {
      return script as string;
    },
    cleanups,
  };
}
