// `--before <dir>` for bench/rpc, bench/fanout and bench/memory: <dir> is another checkout of this
// repository with its packages built. It runs as one more contender, `switchboard-before`: the
// same server and client scripts as `switchboard` (this checkout's bench/), with every
// @switchboard/* import taken from <dir>/packages/*/dist. Same mechanism as `--from`:
// TSX_TSCONFIG_PATH, here a generated tsconfig whose `paths` name <dir>'s ESM entry files.
//
//   run.ts ── env TSX_TSCONFIG_PATH=bench/results/tsconfig.before-<commit>-<hash>.json ──┐
//     ├─ servers/switchboard.ts      @switchboard/server  -> <dir>/packages/server/dist/index.js
//     └─ load.ts, subscribers.ts …   @switchboard/client  -> <dir>/packages/client/dist/index.js
//        <dir>'s dist files          @switchboard/contract -> <dir>/packages/contract/dist/index.js
//
// tsx maps `paths` for every importer outside node_modules, <dir>'s dist files included, so
// <dir>'s server gets <dir>'s contract. Third-party packages resolve as Node does, from <dir>'s
// node_modules: their major versions are checked against <dir>'s package.json files here.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loud } from '../lib/out.js';
import { ROOT } from '../lib/proc.js';

/** The @switchboard/* specifiers the bench scripts may import: [specifier, package dir, export subpath]. */
const ENTRIES = [
  ['@switchboard/contract', 'contract', '.'],
  ['@switchboard/server', 'server', '.'],
  ['@switchboard/server/transport', 'server', './transport'],
  ['@switchboard/client', 'client', '.'],
  ['@switchboard/redis', 'redis', '.'],
] as const;
const PACKAGES = [...new Set(ENTRIES.map(([, pkg]) => pkg))];

export interface BeforeCheckout {
  /** Real path of <dir>, no trailing slash. */
  dir: string;
  /** Short commit of <dir>, e.g. `4f18d4a`, `4f18d4a+uncommitted` (see describeCheckout). */
  commit: string;
  /** The generated tsconfig for the contender's TSX_TSCONFIG_PATH. */
  tsconfigPath: string;
  /** Packages, in this checkout or <dir>, whose src/ changed after their dist was built. */
  stale: readonly string[];
  /** Every ESM entry file is byte for byte the same in both checkouts: an A/A comparison. */
  identical: boolean;
}

interface PackageJson {
  main?: string;
  module?: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The ESM file an `exports` entry points at for `import` (not its `types`). */
function esmTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (typeof entry !== 'object' || entry === null) return undefined;
  const conditions = entry as Record<string, unknown>;
  for (const key of ['import', 'node', 'default']) {
    const target = key in conditions ? esmTarget(conditions[key]) : undefined;
    if (target !== undefined) return target;
  }
  return undefined;
}

/** Absolute ESM entry file per specifier in checkout `dir`; throws if a package is missing. */
function entryFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const [specifier, pkg, subpath] of ENTRIES) {
    const pkgDir = join(dir, 'packages', pkg);
    if (!existsSync(join(pkgDir, 'package.json'))) {
      throw new Error(`${dir} has no packages/${pkg}/package.json: is it a checkout of this repository?`);
    }
    const json = readJson<PackageJson>(join(pkgDir, 'package.json'));
    const target = json.exports
      ? esmTarget(json.exports[subpath])
      : subpath === '.'
        ? (json.module ?? json.main)
        : undefined;
    if (target === undefined)
      throw new Error(`packages/${pkg}/package.json in ${dir} exports no ESM file for ${specifier}`);
    files.set(specifier, resolve(pkgDir, target));
  }
  return files;
}

/** `^5.1.16` -> '5', `^0.2.1` -> '0.2' (the part a caret range pins); undefined for other ranges. */
function pinnedPart(versionOrRange: string): string | undefined {
  const m = /^[\^~]?(\d+)\.(\d+)\.\d+/.exec(versionOrRange.trim());
  if (!m) return undefined;
  return m[1] === '0' ? `0.${m[2]}` : m[1];
}

/** The package.json Node would find for `name` from `fromDir` (node_modules upwards), or null. */
function installed(name: string, fromDir: string): string | null {
  for (let d = fromDir; ; d = dirname(d)) {
    const file = join(d, 'node_modules', name, 'package.json');
    if (existsSync(file)) return file;
    if (dirname(d) === d) return null;
  }
}

/** Third-party dependencies of <dir>'s packages that are missing or of another major version. */
function dependencyProblems(dir: string): string[] {
  const problems: string[] = [];
  for (const pkg of PACKAGES) {
    const pkgDir = join(dir, 'packages', pkg);
    const deps = readJson<PackageJson>(join(pkgDir, 'package.json')).dependencies ?? {};
    for (const [name, range] of Object.entries(deps)) {
      if (name.startsWith('@switchboard/')) continue;
      const file = installed(name, pkgDir);
      if (file === null) {
        problems.push(`packages/${pkg} needs ${name}@${range}: not installed`);
        continue;
      }
      const version = readJson<{ version: string }>(file).version;
      const wanted = pinnedPart(range);
      if (wanted !== undefined && pinnedPart(version) !== wanted) {
        problems.push(`packages/${pkg} needs ${name}@${range}, Node would load ${version} (${realpathSync(file)})`);
      }
    }
  }
  return problems;
}

/**
 * `git rev-parse --short HEAD` in `dir`, `+uncommitted` when tracked files under packages/*\/src or a
 * packages/*\/package.json differ from it (untracked files are not counted: symlinked node_modules
 * would be); null without git.
 */
export function describeCheckout(dir: string): string | null {
  // GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock of a checkout others work in.
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', dir, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    }).trim();
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    const changed = git(
      'status',
      '--porcelain',
      '--untracked-files=no',
      '--',
      'packages/*/src/*',
      'packages/*/package.json',
    );
    return changed === '' ? commit : `${commit}+uncommitted`;
  } catch {
    return null;
  }
}

/** Newest modification time (ms) of the files under `dir`; 0 if none. */
function newestMtimeMs(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
  }
  return newest;
}

/** Packages of checkout `dir` whose src/ has changed since their dist entry files were built. */
function staleBuilds(dir: string): string[] {
  const files = [...entryFiles(dir).entries()];
  return PACKAGES.filter((pkg) => {
    const built = files.filter(([specifier]) => specifier.startsWith(`@switchboard/${pkg}`)).map(([, f]) => f);
    const builtAt = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
    return newestMtimeMs(join(dir, 'packages', pkg, 'src')) > builtAt;
  }).map((pkg) => `${dir}/packages/${pkg}`);
}

/**
 * Checks <dir> (a checkout, packages built, dependencies installed) and writes the tsconfig that
 * points @switchboard/* at it. Throws with what to do when <dir> will not do.
 */
export function openBefore(dirArg: string): BeforeCheckout {
  const given = resolve(dirArg);
  if (!existsSync(given) || !statSync(given).isDirectory()) throw new Error('no such directory');
  // Real path: Node reports loaded modules by real path, and the servers' self-check compares with it.
  const dir = realpathSync(given);
  const files = entryFiles(dir);
  const missing = [...files.values()].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(
      `its packages are not built (missing ${missing.map((f) => f.slice(dir.length + 1)).join(', ')}).\n` +
        `Build them: (cd ${dir} && npm run build)`,
    );
  }
  const problems = dependencyProblems(dir);
  if (problems.length > 0) {
    throw new Error(
      `its dependencies are not installed as its package.json files ask:\n  ` +
        `${problems.join('\n  ')}\n` +
        `Install them: (cd ${dir} && npm install --no-audit --no-fund), or symlink every node_modules of this\n` +
        `checkout into it (the root one and each packages/*/node_modules): see bench/README.md.`,
    );
  }
  const commit = describeCheckout(dir) ?? `no git: ${dir}`;
  const dist = readJson<{ compilerOptions: Record<string, unknown> }>(`${ROOT}bench/rpc/tsconfig.dist.json`);
  const tsconfig = {
    '//': `Generated by bench/rpc/before.ts for --before ${dir} (${commit}): @switchboard/* from its dist.`,
    compilerOptions: {
      ...dist.compilerOptions,
      paths: Object.fromEntries([...files].map(([specifier, file]) => [specifier, [file]])),
    },
  };
  const hash = createHash('sha1').update(dir).digest('hex').slice(0, 8);
  const tsconfigPath = `${ROOT}bench/results/tsconfig.before-${commit.replace(/[^\w.-]/g, '_')}-${hash}.json`;
  mkdirSync(dirname(tsconfigPath), { recursive: true });
  writeFileSync(tsconfigPath, `${JSON.stringify(tsconfig, null, 2)}\n`);
  const here = realpathSync(ROOT);
  const hereFiles = entryFiles(here);
  const identical = [...files].every(([specifier, file]) => {
    const other = hereFiles.get(specifier);
    return other !== undefined && existsSync(other) && readFileSync(other).equals(readFileSync(file));
  });
  return { dir, commit, tsconfigPath, stale: [...staleBuilds(here), ...staleBuilds(dir)], identical };
}

/**
 * `--before <dir>` for a runner: null without it; the checkout with it, after a loud warning when
 * a dist is older than its src or the two builds are the same. Exits 2 with the reason when <dir>
 * will not do, or with `--from src` (the before side is always a build: compare builds).
 */
export function beforeOrExit(dirArg: string | undefined, from: 'dist' | 'src'): BeforeCheckout | null {
  if (dirArg === undefined) return null;
  if (from !== 'dist') {
    process.stderr.write('--before compares built packages: use it with --from dist (the default)\n');
    process.exit(2);
  }
  let before: BeforeCheckout;
  try {
    before = openBefore(dirArg);
  } catch (err) {
    process.stderr.write(`--before ${dirArg}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const warnings = beforeWarnings(before);
  if (warnings.length > 0) loud(warnings);
  return before;
}

/** What makes an after ÷ before comparison suspect, one line each; for the console and the summary. */
export function beforeWarnings(before: BeforeCheckout): string[] {
  return [
    ...(before.stale.length > 0
      ? [
          `dist older than src in ${before.stale.join(', ')}: rebuild before comparing ` +
            '(npm run build there; npm run bench:* rebuilds this checkout only)',
        ]
      : []),
    ...(before.identical
      ? [`the built packages of this checkout and ${before.dir} are the same files: after ÷ before is A/A (noise)`]
      : []),
  ];
}
