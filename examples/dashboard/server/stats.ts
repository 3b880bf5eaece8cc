// The server's own numbers, published on the `stats` channel once per second. Gathered
// in one function, from what the process can see, until the server reports its own.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SwitchboardServer } from '@switchboard/server';
import type { DashboardContract, StatsData } from '../contract.js';

/** What the dashboard counts itself. */
export interface StatsCounters {
  /** Readings published so far. */
  published(): number;
  /** Calls handled so far, by procedure. */
  calls(): Record<string, number>;
}

const NS_PER_MS = 1e6;

function total(calls: Record<string, number>): number {
  let sum = 0;
  for (const count of Object.values(calls)) sum += count;
  return sum;
}

/** Starts publishing a `stats` message every `intervalMs`; returns the function that stops it. */
export function startStats(
  server: SwitchboardServer<DashboardContract>,
  counters: StatsCounters,
  intervalMs = 1_000,
): () => void {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let last = { atMs: performance.now(), published: counters.published(), calls: total(counters.calls()) };
  const timer = setInterval(() => {
    const atMs = performance.now();
    const seconds = (atMs - last.atMs) / 1000;
    const calls = counters.calls();
    const now = { atMs, published: counters.published(), calls: total(calls) };
    const memory = process.memoryUsage();
    const stats: StatsData = {
      time: Date.now(),
      connections: server.connections,
      publishedPerSecond: Math.round((now.published - last.published) / seconds),
      callsPerSecond: Math.round(((now.calls - last.calls) / seconds) * 10) / 10,
      calls,
      // The histogram has no samples until the loop has run a while: report 0, not NaN.
      eventLoopDelayMs: {
        mean: loopDelay.count === 0 ? 0 : loopDelay.mean / NS_PER_MS,
        p99: loopDelay.count === 0 ? 0 : loopDelay.percentile(99) / NS_PER_MS,
        max: loopDelay.count === 0 ? 0 : loopDelay.max / NS_PER_MS,
      },
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    };
    loopDelay.reset();
    last = now;
    // A closing server refuses publishes; there is no one left to tell.
    server.publish('stats', {}, stats).catch(() => {});
  }, intervalMs);
  return () => {
    clearInterval(timer);
    loopDelay.disable();
  };
}
