// Shared by bench/rpc, bench/fanout and bench/memory on top of bench/echo/lib: the contenders and
// where Switchboard is loaded from. Scripts are given relative to bench/echo/ (that is where
// bench/echo/lib/proc.ts resolves them), hence the "../rpc/..." paths.

import type { Contender } from '../echo/contenders.js';
import { ROOT } from '../echo/lib/proc.js';

export interface RpcContender extends Contender {
  /** What the client / load scripts call it. */
  client: 'switchboard' | 'thin' | 'socketio' | 'trpc';
}

const contender = (client: RpcContender['client'], label: string): RpcContender => ({
  id: client,
  client,
  label,
  script: `../rpc/servers/${client}.ts`,
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
const ALIASES: Record<string, string> = { ws: 'thin', 'socket.io': 'socketio', tRPC: 'trpc' };

export function select(list: string | undefined): RpcContender[] {
  if (list === undefined || list.trim() === '') return [...CONTENDERS];
  const wanted = new Set(
    list.split(',').map((raw) => {
      const id = ALIASES[raw.trim()] ?? raw.trim();
      if (!CONTENDERS.some((c) => c.id === id)) {
        throw new Error(`unknown contender ${JSON.stringify(raw)} (known: ${CONTENDERS.map((c) => c.id).join(', ')})`);
      }
      return id;
    }),
  );
  return CONTENDERS.filter((c) => wanted.has(c.id));
}

/**
 * Where @switchboard/* come from in every child process: 'dist' (default, closer to production:
 * packages/*\/dist through node_modules, build first) or 'src' (TypeScript through tsconfig paths).
 * Set through TSX_TSCONFIG_PATH, which the children inherit.
 */
export function useSwitchboardFrom(from: string | undefined): 'dist' | 'src' {
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
