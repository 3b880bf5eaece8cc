// Child processes for run.ts: echo servers (port on stdout, stats over IPC) and client scripts
// (one JSON result line on stdout; their stats requests are relayed to the server).
// Every wait is bounded; every child is killed by its own pid.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Contender } from '../echo/contenders.js';
import type { ServerStats, StatsReply, StatsRequest } from './ipc.js';
import { isStatsReply, isStatsRequest } from './ipc.js';

/** Scripts are named relative to bench/ (`echo/load.ts`, `rpc/servers/ws.ts`). */
export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const STDERR_TAIL = 15;

type Env = Record<string, string | undefined>;

/** CPU for servers and for clients when pinning (taskset) is on; null = let the scheduler decide. */
let pinning: { server: number; client: number } | null = null;

/** Pins servers to CPU 0 and client scripts to CPU 1 from now on (Linux, needs taskset). */
export function enablePinning(): void {
  pinning = { server: 0, client: 1 };
}

interface Spawned {
  child: ChildProcess;
  stdoutLines: string[];
  stderrTail: string[];
  exited: Promise<number | null>;
}

/** `node [flags] --import tsx bench/<script> args` with stdout captured, stderr echoed with a prefix. */
function spawnTs(
  script: string,
  args: readonly string[],
  env: Env,
  nodeFlags: readonly string[],
  tag: string,
  cpu: number | undefined,
): Spawned {
  const childEnv: Env = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const argv = [process.execPath, ...nodeFlags, '--import', TSX_LOADER, `${BENCH_DIR}${script}`, ...args];
  if (cpu !== undefined) argv.unshift('taskset', '-c', `${cpu}`); // taskset execs node: same pid
  const [command = process.execPath, ...rest] = argv;
  const child = spawn(command, rest, {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const spawned: Spawned = {
    child,
    stdoutLines: [],
    stderrTail: [],
    // 'close' (not 'exit'): stdout has been read to the end by then.
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => spawned.stdoutLines.push(line));
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      process.stderr.write(`  [${tag}] ${line}\n`);
      spawned.stderrTail.push(line);
      if (spawned.stderrTail.length > STDERR_TAIL) spawned.stderrTail.shift();
    });
  }
  child.on('error', () => {}); // spawn failures surface as exit
  return spawned;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Sends SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
async function terminate(p: Spawned, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  if ((await withTimeout(p.exited, graceMs)) !== 'timeout') return;
  p.child.kill('SIGKILL');
  await withTimeout(p.exited, 2000);
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export class ServerProcess {
  private nextId = 1;

  private constructor(
    private readonly proc: Spawned,
    readonly port: number,
    /** Everything else the server printed in its ready line (e.g. ws's mask implementation). */
    readonly info: Record<string, unknown>,
  ) {}

  /** Starts a contender's server; rejects (with its stderr) if it exits or does not listen in time. */
  static async start(contender: Contender, timeoutMs = 20_000): Promise<ServerProcess> {
    const proc = spawnTs(
      contender.script,
      [],
      contender.env,
      ['--expose-gc'],
      `server ${contender.id}`,
      pinning?.server,
    );
    const ready = new Promise<Record<string, unknown> | null>((resolve) => {
      const check = (): void => {
        for (const line of proc.stdoutLines) {
          const json = parseJsonLine(line);
          if (json && typeof json.port === 'number') {
            resolve(json);
            return;
          }
        }
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) resolve(null);
        else setTimeout(check, 25);
      };
      check();
    });
    const json = await withTimeout(ready, timeoutMs);
    if (json === 'timeout' || json === null) {
      await terminate(proc);
      const why =
        json === 'timeout'
          ? `did not print its port within ${timeoutMs} ms`
          : `exited with code ${String(proc.child.exitCode)}`;
      throw new Error(
        `${contender.id} server ${why}${proc.stderrTail.length ? `:\n    ${proc.stderrTail.join('\n    ')}` : ''}`,
      );
    }
    const { port, ...info } = json;
    return new ServerProcess(proc, port as number, info);
  }

  /** Asks the server for its stats over IPC (after a forced GC when `gc`). */
  stats(gc: boolean, timeoutMs = 10_000): Promise<ServerStats> {
    const child = this.proc.child;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (m: unknown): void => {
        if (isStatsReply(m) && m.id === id) finish(null, m.stats);
      };
      const timer = setTimeout(() => finish(new Error('server stats timed out')), timeoutMs);
      const finish = (err: Error | null, stats?: ServerStats): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        if (stats) resolve(stats);
        else reject(err ?? new Error('no stats'));
      };
      child.on('message', onMessage);
      const request: StatsRequest = { type: 'stats', id, gc };
      child.send(request, (err) => err && finish(err));
    });
  }

  /** Forwards a client's stats requests to this server and the replies back. */
  relayTo(client: ChildProcess): void {
    client.on('message', (m: unknown) => {
      if (!isStatsRequest(m)) return;
      this.stats(m.gc).then(
        (stats) => {
          const reply: StatsReply = { type: 'stats-reply', id: m.id, stats };
          if (client.connected) client.send(reply);
        },
        () => {}, // the client times out on its own and reports null
      );
    });
  }

  get alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  stop(): Promise<void> {
    return terminate(this.proc);
  }
}

/**
 * Runs a client script (load.ts, handshakes.ts, idle-memory.ts) against `server`, relaying its
 * stats requests; resolves with its `{"result": ...}` object, rejects on failure or timeout.
 * `env` overrides run.ts's environment like a contender's `env` (pass the contender's own when the
 * client loads the contender's code, e.g. @switchboard/client from another checkout).
 */
export async function runClient<T>(
  script: string,
  args: readonly string[],
  server: ServerProcess,
  timeoutMs: number,
  env: Env = {},
): Promise<T> {
  const proc = spawnTs(script, args, env, [], script.replace(/\.ts$/, ''), pinning?.client);
  server.relayTo(proc.child);
  const code = await withTimeout(proc.exited, timeoutMs);
  if (code === 'timeout') {
    await terminate(proc, 1000);
    throw new Error(`${script} did not finish within ${timeoutMs} ms`);
  }
  const last = proc.stdoutLines.map(parseJsonLine).findLast((j) => j !== null && typeof j.result === 'object');
  if (code !== 0 || !last) {
    throw new Error(
      `${script} exited with code ${String(code)}${proc.stderrTail.length ? `: ${proc.stderrTail.join(' | ')}` : ''}`,
    );
  }
  return last.result as T;
}
