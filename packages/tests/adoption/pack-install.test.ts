import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a user does: `npm pack` every package (its `prepack` builds dist/), install the
// tarballs into a fresh app outside this workspace (its own package.json, nothing hoisted
// from ours), then in it: a server and a client that talk (ESM import and CJS require),
// `tsc` strict over both with NodeNext and with Bundler resolution, and an esbuild browser
// bundle of the client (its gzipped size printed; no zod inside when only the contract's
// type is imported). Prints the time from `npm install` of the tarballs to the first typed call.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('./app/', import.meta.url));
const PACKAGES = ['contract', 'server', 'client', 'redis', 'react', 'testing'] as const;
const require = createRequire(join(ROOT, 'package.json'));
const TSC = require.resolve('typescript/bin/tsc');
const PUBLINT = join(ROOT, 'node_modules/publint/src/cli.js');
const ATTW = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
/** node10 resolution (no `exports`) cannot reach subpaths such as `@switchboard/server/transport`: not a target. */
const isNode10 = (problem: unknown) => (problem as { resolutionKind?: string }).resolutionKind === 'node10';
/** Versions the app asks for: the ones this workspace uses (in npm's cache after its install). */
const version = (name: string) => `^${(require(`${name}/package.json`) as { version: string }).version}`;

let dir: string;
let app: string;
let installMs = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-adoption-'));
  const tarballs = join(dir, 'tarballs');
  mkdirSync(tarballs);
  for (const name of PACKAGES) {
    await run('npm', ['pack', '--silent', '--pack-destination', tarballs], { cwd: join(ROOT, 'packages', name) });
  }
  app = join(dir, 'app');
  cpSync(TEMPLATE, app, { recursive: true });
  const dependencies: Record<string, string> = {
    zod: version('zod'),
    ws: version('ws'),
    react: version('react'),
    'react-dom': version('react-dom'),
    '@tanstack/react-query': version('@tanstack/react-query'),
  };
  for (const name of PACKAGES) dependencies[`@switchboard/${name}`] = `file:../tarballs/switchboard-${name}-0.1.0.tgz`;
  const devDependencies = {
    '@types/node': version('@types/node'),
    '@types/ws': version('@types/ws'),
    '@types/react': version('@types/react'),
    '@types/react-dom': version('@types/react-dom'),
  };
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'fresh-app', private: true, type: 'module', dependencies, devDependencies }, null, 2),
  );
  const started = performance.now();
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app });
  installMs = performance.now() - started;
}, 180_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Runs a script of the app; its stderr is the error when it fails. */
async function node(script: string): Promise<{ stdout: string }> {
  try {
    return await run(process.execPath, [script], { cwd: app, timeout: 30_000 });
  } catch (error) {
    throw new Error(`node ${script} failed:\n${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
}
/** tsc over the app; its diagnostics (stdout) are the error when it fails. */
async function tsc(project: string): Promise<void> {
  try {
    await run(process.execPath, [TSC, '-p', project], { cwd: app, timeout: 120_000 });
  } catch (error) {
    throw new Error(`tsc -p ${project} failed:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
  }
}

describe('the packed packages installed in a fresh app', () => {
  it('carry a README, the LICENSE and dist, and resolve each other from the tarballs (no registry copy)', () => {
    for (const name of PACKAGES) {
      const installed = join(app, 'node_modules', '@switchboard', name);
      expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toContain('MIT License');
      expect(readFileSync(join(installed, 'README.md'), 'utf8')).toContain(`@switchboard/${name}`);
      const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      for (const range of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
        if (range[0].startsWith('@switchboard/')) expect(range[1]).toBe('^0.1.0');
      }
    }
    // One copy of the contract: the server's and the client's are the app's.
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: object };
    expect(Object.keys(lock.packages).filter((path) => path.endsWith('@switchboard/contract'))).toEqual([
      'node_modules/@switchboard/contract',
    ]);
  });

  it('talk: a server and a client with ESM import and with CJS require', { timeout: 60_000 }, async () => {
    const esm = await node('main.mjs');
    expect(JSON.parse(esm.stdout)).toEqual({ esm: 5, react: 'function/function' });
    const cjs = await node('main.cjs');
    expect(JSON.parse(cjs.stdout)).toEqual({ cjs: 5, redis: 'function', react: 'function/function' });
  });

  it('type-check strict with NodeNext and with Bundler resolution; the typed server makes its first call', async () => {
    const started = performance.now();
    await tsc('tsconfig.nodenext.json');
    await tsc('tsconfig.bundler.json');
    const first = await node('first-call.mjs');
    const { firstPaint, ...calls } = JSON.parse(first.stdout) as { firstPaint: string };
    expect(calls).toEqual({ firstCall: 5, kitCall: 5 });
    // The tile rendered from the preloaded snapshot, live, and the script carrying it.
    const [html, script] = firstPaint.split('<script>window.__SB__=');
    expect(html).toBe('<p>live:connecting:41</p>');
    expect(JSON.parse(script?.replace('</script>', '') ?? '')).toMatchObject([{ data: { x: 41 } }]);
    console.log(
      `fresh app: npm install of the tarballs ${(installMs / 1000).toFixed(1)} s, then tsc (NodeNext + Bundler) and ` +
        `the first typed call ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 180_000);

  it('pass publint and are-the-types-wrong (node16 and bundler resolution), each tarball', async () => {
    for (const name of PACKAGES) {
      const tarball = join(dir, 'tarballs', `switchboard-${name}-0.1.0.tgz`);
      const lint = await run(process.execPath, [PUBLINT, 'run', tarball, '--strict'], { timeout: 60_000 });
      expect(lint.stdout, name).toContain('All good!');
      const types = await run(process.execPath, [ATTW, tarball, '--profile', 'node16', '--format', 'json'], {
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
      const report = JSON.parse(types.stdout) as { analysis: { problems: unknown[] } };
      expect(
        report.analysis.problems.filter((p) => !isNode10(p)),
        name,
      ).toEqual([]);
    }
  }, 240_000);

  it('work with React 18: server rendering, a live tile in strict mode (one subscription), in a second app', async () => {
    const app18 = join(dir, 'app18');
    mkdirSync(app18);
    cpSync(join(TEMPLATE, 'react18.mjs'), join(app18, 'react18.mjs'));
    const dependencies: Record<string, string> = {
      zod: version('zod'),
      ws: version('ws'),
      'happy-dom': version('happy-dom'),
      react: '^18.3.1',
      'react-dom': '^18.3.1',
    };
    for (const name of ['contract', 'server', 'client', 'react']) {
      dependencies[`@switchboard/${name}`] = `file:../tarballs/switchboard-${name}-0.1.0.tgz`;
    }
    writeFileSync(
      join(app18, 'package.json'),
      JSON.stringify({ name: 'react18-app', private: true, type: 'module', dependencies }),
    );
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app18 });
    const { stdout } = await run(process.execPath, ['react18.mjs'], { cwd: app18, timeout: 30_000 }).catch(
      (error: { stderr?: string }) => {
        throw new Error(`react18.mjs failed:\n${error.stderr ?? String(error)}`);
      },
    );
    const seen = JSON.parse(stdout) as { react: string; ssr: string; shown: string; subscribes: number };
    expect(seen.react).toMatch(/^18\./);
    expect(seen.ssr).toBe('<p>live:41</p>');
    expect(seen.shown).toBe('live:42');
    expect(seen.subscribes).toBe(2); // the preload's and the strict-mode tile's, not three
  }, 180_000);

  it('bundle the client for the browser with esbuild, without zod, and say how large it is', async () => {
    const result = await build({
      absWorkingDir: app,
      entryPoints: ['src/browser.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('node_modules/@switchboard/client/'))).toBe(true);
    expect(inputs.filter((path) => path.includes('node_modules/zod/'))).toEqual([]);
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    const gzipped = gzipSync(code, { level: 9 }).length;
    console.log(
      `browser bundle of the client: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gzipped / 1024).toFixed(1)} KiB gzipped`,
    );
    expect(gzipped).toBeGreaterThan(0);
  });
});
