// Shared by bench/rpc, bench/fanout and bench/memory on top of bench/lib: the contenders,
// where Switchboard is loaded from, and the `--before` contender and its after ÷ before tables
// (the checkout itself: before.ts). Scripts are named relative to bench/ (where
// bench/lib/proc.ts resolves them).

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Contender } from '../echo/contenders.js';
import type { ServerProcess } from '../lib/proc.js';
import { ROOT } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import type { BeforeCheckout } from './before.js';
import { beforeWarnings, describeCheckout } from './before.js';

export interface RpcContender extends Contender {
  /** What the client / load scripts call it. */
  client: 'switchboard' | 'thin' | 'socketio' | 'trpc';
}

const contender = (client: RpcContender['client'], label: string): RpcContender => ({
  id: client,
  client,
  label,
  script: `rpc/servers/${client}.ts`,
  // BENCH_CPU_PROF=<dir> (inherited): servers write a V8 CPU profile there on exit (see servers/control.ts).
  env: {},
  protocol: 'ws',
});

/** In print order; `thin` (the hand-written JSON layer on ws) is the baseline. */
export const CONTENDERS: readonly RpcContender[] = [
  contender('switchboard', 'switchboard'),
  contender('thin', 'thin ws JSON-RPC'),
  contender('socketio', 'socket.io 4'),
  contender('trpc', 'tRPC 11'),
];
export const BASELINE_ID = 'thin';
/** bench/rpc only: the same server with three no-op middleware around every call (what middleware costs). */
export const MIDDLEWARE_CONTENDER: RpcContender = {
  ...contender('switchboard', 'switchboard + 3 no-op middleware'),
  id: 'switchboard-mw3',
  env: { SB_MIDDLEWARE: '3' },
};
/** Switchboard from the `--before <dir>` checkout (see before.ts); only with --before. */
export const BEFORE_ID = 'switchboard-before';
const ALIASES: Record<string, string> = { ws: 'thin', 'socket.io': 'socketio', tRPC: 'trpc' };

/** `switchboard`'s scripts, with @switchboard/* (server and client processes) from the before checkout. */
function beforeContender(before: BeforeCheckout): RpcContender {
  return {
    ...contender('switchboard', `switchboard (before: ${before.commit})`),
    id: BEFORE_ID,
    env: { TSX_TSCONFIG_PATH: before.tsconfigPath },
  };
}

/**
 * The contenders named in a comma list (all when empty), in print order; throws on an unknown
 * name. With a before checkout, `switchboard-before` runs right after `switchboard`, named or not;
 * `extras` (variants of switchboard) right after those.
 */
export function select(
  list: string | undefined,
  before: BeforeCheckout | null = null,
  extras: readonly RpcContender[] = [],
): RpcContender[] {
  const all = CONTENDERS.flatMap((c) =>
    c.id === 'switchboard' ? [c, ...(before ? [beforeContender(before)] : []), ...extras] : [c],
  );
  if (list === undefined || list.trim() === '') return all;
  const wanted = new Set(
    list.split(',').map((raw) => {
      const id = ALIASES[raw.trim()] ?? raw.trim();
      if (id === BEFORE_ID && !before) throw new Error(`${BEFORE_ID} needs --before <dir> (a built checkout)`);
      if (!all.some((c) => c.id === id)) {
        throw new Error(`unknown contender ${JSON.stringify(raw)} (known: ${all.map((c) => c.id).join(', ')})`);
      }
      return id;
    }),
  );
  if (before) wanted.add(BEFORE_ID);
  return all.filter((c) => wanted.has(c.id));
}

/**
 * Where @switchboard/* come from in every child process: 'dist' (default, closer to production:
 * packages/*\/dist through node_modules, build first) or 'src' (TypeScript through tsconfig paths).
 * Set through TSX_TSCONFIG_PATH, which the children inherit.
 */
export function switchboardFrom(from: string | undefined): 'dist' | 'src' {
  if (from === 'src') {
    delete process.env.TSX_TSCONFIG_PATH;
    return 'src';
  }
  if (from !== undefined && from !== 'dist') {
    process.stderr.write(`--from must be dist or src, got ${from}\n`);
    process.exit(2);
  }
  process.env.TSX_TSCONFIG_PATH = `${ROOT}bench/rpc/tsconfig.dist.json`;
  return 'dist';
}

/**
 * Harness `onStart` check: a Switchboard server must have loaded @switchboard/server (the `switchboard`
 * field of its ready line) from the checkout it stands for: this one (dist or src, as `from`
 * says) or the before checkout. A mismatch fails the run instead of measuring the wrong code.
 */
export function expectSwitchboardFrom(
  from: 'dist' | 'src',
  before: BeforeCheckout | null,
): (c: RpcContender, server: ServerProcess) => void {
  const here = realpathSync(ROOT);
  return (c, server) => {
    if (c.client !== 'switchboard') return;
    const dir =
      c.id === BEFORE_ID && before ? `${before.dir}/packages/server/dist/` : `${here}/packages/server/${from}/`;
    const loaded = String(server.info.switchboard);
    if (!loaded.startsWith(pathToFileURL(dir).href)) {
      throw new Error(`${c.label} loaded @switchboard/server from ${loaded}, expected ${dir}`);
    }
  };
}

/** One row of an "after ÷ before" table. */
export interface AfterBefore {
  measure: string;
  after: number;
  before: number;
  digits: number;
  better: 'higher' | 'lower';
}
const AFTER_BEFORE_HEADER = ['after ÷ before', 'after', 'before', 'ratio', ''] as const;

/** Rows for AFTER_BEFORE_HEADER: the medians and after ÷ before ('n/a' when either did not run). */
function afterBeforeRows(rows: readonly AfterBefore[]): string[][] {
  const num = (n: number, digits: number): string => (digits === 0 ? fmt.int(n) : fmt.fixed(n, digits));
  return rows.map((r) => [
    r.measure,
    num(r.after, r.digits),
    num(r.before, r.digits),
    fmt.ratio(r.after, r.before),
    r.better === 'higher' ? 'above 1 = better' : 'below 1 = better',
  ]);
}

/**
 * The after ÷ before block: its title, any warning (stale or identical builds) and the table, as
 * text for the console or markdown for the summary; [] without --before.
 */
export function afterBeforeBlock(
  before: BeforeCheckout | null,
  rows: readonly AfterBefore[],
  as: 'text' | 'markdown',
): string[] {
  if (!before) return [];
  const after = describeCheckout(ROOT) ?? 'no git';
  const title = `after ÷ before: switchboard (this checkout, ${after}) ÷ switchboard (before: ${before.commit}, ${before.dir}), medians`;
  const warnings = beforeWarnings(before).map((w) => `Warning: ${w}`);
  return as === 'text'
    ? [
        '',
        `== ${title} ==`,
        ...warnings.map((w) => `  ${w}`),
        fmt.textTable(AFTER_BEFORE_HEADER, afterBeforeRows(rows)),
      ]
    : ['', `${title}:`, ...warnings, '', fmt.markdownTable(AFTER_BEFORE_HEADER, afterBeforeRows(rows))];
}
