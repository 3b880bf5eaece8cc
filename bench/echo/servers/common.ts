// Shared plumbing for the echo servers: announce the port, answer stats requests, exit cleanly.

import { performance } from 'node:perf_hooks';
import type { ServerStats, StatsReply } from '../../lib/ipc.js';
import { isStatsRequest } from '../../lib/ipc.js';

export const HOST = '127.0.0.1';
/** Same limit for every WebSocket contender; comfortably above the largest benchmark message. */
export const MAX_PAYLOAD = 1024 * 1024;

/** Counts open connections for servers that do not track them themselves. */
export class ConnectionCounter {
  open = 0;
  track(emitter: { once(event: 'close', listener: () => void): unknown }): void {
    this.open++;
    emitter.once('close', () => {
      this.open--;
    });
  }
}

async function collect(gc: boolean, connections: () => number): Promise<ServerStats> {
  const forceGc = gc ? globalThis.gc : undefined;
  if (forceGc) {
    // Two full collections with a turn of the event loop between them, so weak
    // callbacks and finalizers queued by the first one have run.
    forceGc();
    await new Promise((resolve) => setImmediate(resolve));
    forceGc();
  }
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    nowMs: performance.now(),
    connections: connections(),
    gcForced: forceGc !== undefined,
  };
}

/**
 * Call once the server listens: prints `{"port":N,...info}` on stdout, answers
 * `{type:'stats'}` IPC requests, prints stats on SIGUSR2 (for manual runs), and exits on
 * SIGTERM/SIGINT or when the parent's IPC channel goes away.
 */
export function serve(port: number, connections: () => number, info: Record<string, string> = {}): void {
  process.on('message', (m: unknown) => {
    if (!isStatsRequest(m)) return;
    void collect(m.gc, connections).then((stats) => {
      const reply: StatsReply = { type: 'stats-reply', id: m.id, stats };
      process.send?.(reply);
    });
  });
  process.on('SIGUSR2', () => {
    void collect(true, connections).then((stats) => process.stdout.write(`${JSON.stringify({ stats })}\n`));
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ port, ...info })}\n`);
}

/** Startup failure: one loud line on stderr, then exit 1 so run.ts skips this contender. */
export function die(what: string, err: unknown): never {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${what}: ${message}\n`);
  process.exit(1);
}
