// Messages between run.ts, the server processes and the client processes.
// Servers answer stats requests over their IPC channel; clients ask run.ts, which relays.

/** What a server reports about itself. */
export interface ServerStats {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** process.cpuUsage() in µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** performance.now() in the server, to turn CPU deltas into a utilisation. */
  nowMs: number;
  /** Open connections as the server counts them. */
  connections: number;
  /** Whether the server could force a GC (started with --expose-gc) before measuring. */
  gcForced: boolean;
}

/** run.ts -> server, and client -> run.ts (relayed to the server). */
export interface StatsRequest {
  type: 'stats';
  id: number;
  gc: boolean;
}

/** server -> run.ts, and run.ts -> client. */
export interface StatsReply {
  type: 'stats-reply';
  id: number;
  stats: ServerStats;
}

export function isStatsRequest(m: unknown): m is StatsRequest {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stats';
}

export function isStatsReply(m: unknown): m is StatsReply {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stats-reply';
}

let nextId = 1;

/**
 * Client side: asks the server (through run.ts) for its stats.
 * Resolves null when the process has no IPC channel (run standalone) or on timeout.
 */
export function requestServerStats(gc: boolean, timeoutMs = 5000): Promise<ServerStats | null> {
  const send = process.send?.bind(process);
  if (!send || !process.connected) return Promise.resolve(null);
  const id = nextId++;
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      if (isStatsReply(m) && m.id === id) finish(m.stats);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (stats: ServerStats | null): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(stats);
    };
    process.on('message', onMessage);
    const request: StatsRequest = { type: 'stats', id, gc };
    send(request);
  });
}

/** Client result line: the last line a client prints on stdout. */
export function printResult(result: object): void {
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}

/** Client side: exit when run.ts goes away (only applies when started by it). */
export function exitWithParent(): void {
  if (process.connected) process.on('disconnect', () => process.exit(1));
}
