// The page, bundled with esbuild's API when the server starts: TypeScript, the client
// package and uPlot (with its CSS) become /assets/app.js and /assets/app.css. The bundle
// stays in memory, so no build directory can go stale and parallel test runs never race
// on one. The client and contract resolve to their sources through the root tsconfig's
// paths, so the page needs no package build first.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** A file the HTTP server serves. */
export interface Asset {
  contentType: string;
  body: Uint8Array;
}

const pageDir = fileURLToPath(new URL('../page/', import.meta.url));
const rootTsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  return CONTENT_TYPES[path.slice(dot)] ?? 'application/octet-stream';
}

/**
 * A page's script bundled for the browser, in memory: /assets/app.js, its CSS (app.css) and
 * source map. `react`: JSX with React's automatic runtime, and React's production build.
 */
export async function bundlePage(entry: string, { react = false } = {}): Promise<Map<string, Asset>> {
  const result = await build({
    entryPoints: { app: entry },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    tsconfig: rootTsconfig,
    ...(react ? { jsx: 'automatic' as const, define: { 'process.env.NODE_ENV': '"production"' } } : {}),
    // Only names matter here: write: false keeps the output in memory.
    outdir: 'assets',
    write: false,
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const path = `/assets/${basename(file.path)}`;
    assets.set(path, { contentType: contentType(path), body: file.contents });
  }
  return assets;
}

async function bundle(): Promise<ReadonlyMap<string, Asset>> {
  const assets = await bundlePage(`${pageDir}main.ts`);
  for (const name of ['index.html', 'favicon.svg']) {
    const body = await readFile(`${pageDir}${name}`);
    assets.set(`/${name}`, { contentType: contentType(name), body });
  }
  assets.set('/', assets.get('/index.html') as Asset);
  return assets;
}

let building: Promise<ReadonlyMap<string, Asset>> | undefined;

/** The page's files by URL path; bundled once per process, on first use. */
export function pageAssets(): Promise<ReadonlyMap<string, Asset>> {
  building ??= bundle().catch((error: unknown) => {
    building = undefined; // let the next start try again
    throw error;
  });
  return building;
}
