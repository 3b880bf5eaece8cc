// Orchestration shared by bench/rpc, bench/fanout and bench/memory on top of bench/echo/lib:
// the contenders, where Switchboard is loaded from, and "start a server, run, stop it" with the
// quiet-machine wait and loud failures. Scripts are given relative to bench/echo/ (that is where
// bench/echo/lib/proc.ts resolves them), hence the "../rpc/..." paths.

import os from 'node:os';
import type { Contender } from '../echo/contenders.js';
import { ROOT, ServerProcess } from '../echo/lib/proc.js';
import { waitForQuiet } from '../echo/lib/quiet.js';
import * as fmt from '../echo/lib/report.js';

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

export const say = (line: string): void => void process.stdout.write(`${line}\n`);

export function loud(lines: readonly string[]): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${bar}\n\n`);
}

export function machine(): string {
  const cpus = os.cpus();
  return `Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}`;
}

export function flags(options: Record<string, string | number>): string[] {
  return Object.entries(options).flatMap(([k, v]) => [`--${k}`, `${v}`]);
}

const BUSY_THRESHOLD = 0.15;
const QUIET_WAIT_MS = 20_000;

/** Server lifecycle with bounded waits; failures are recorded, never thrown. */
export class Harness {
  readonly failedToStart = new Map<string, string>();
  readonly runFailures: string[] = [];
  readonly raw: Record<string, unknown[]> = {};
  private busyWaitsLeft = 2;

  async withServer<T>(
    c: RpcContender,
    what: string,
    timed: boolean,
    fn: (server: ServerProcess) => Promise<T>,
  ): Promise<T | null> {
    if (this.failedToStart.has(c.id)) return null;
    if (timed && this.busyWaitsLeft > 0) {
      const busy = await waitForQuiet(BUSY_THRESHOLD, QUIET_WAIT_MS, (b) =>
        say(`  ... other processes keep the machine ${fmt.pct(b)} busy; waiting up to ${QUIET_WAIT_MS / 1000} s`),
      );
      this.busyWaitsLeft = busy > BUSY_THRESHOLD ? this.busyWaitsLeft - 1 : 2;
    }
    let server: ServerProcess;
    try {
      server = await ServerProcess.start(c);
    } catch (err) {
      const reason = (err as Error).message;
      this.failedToStart.set(c.id, reason);
      loud([`SKIPPING ${c.label}: its server failed to start`, ...reason.split('\n')]);
      return null;
    }
    try {
      const result = await fn(server);
      const key = `${c.id} ${what}`;
      this.raw[key] = [...(this.raw[key] ?? []), result];
      return result;
    } catch (err) {
      const message = `${c.label} ${what}: ${(err as Error).message}`;
      this.runFailures.push(message);
      loud([`RUN FAILED: ${message}`]);
      return null;
    } finally {
      await server.stop();
    }
  }

  reportFailures(): void {
    for (const [id, reason] of this.failedToStart)
      loud([`NOT RUN: ${id} (server failed to start)`, ...reason.split('\n')]);
    for (const f of this.runFailures) loud([`FAILED RUN: ${f}`]);
  }

  get failed(): boolean {
    return this.failedToStart.size > 0 || this.runFailures.length > 0;
  }
}
