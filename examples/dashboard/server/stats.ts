// The server's own numbers, published on the `stats` channel once per second: what
// `server.metrics()` reports, in the shape the page draws.
import type { SwitchboardServer } from '@switchboard/server';
import type { DashboardContract, StatsData } from '../contract.js';

/** Starts publishing a `stats` message every `intervalMs`; returns the function that stops it. */
export function startStats(server: SwitchboardServer<DashboardContract>, intervalMs = 1_000): () => void {
  const timer = setInterval(() => {
    const metrics = server.metrics();
    const channels = Object.values(metrics.channels);
    const stats: StatsData = {
      time: metrics.at,
      connections: metrics.connections,
      publishedPerSecond: Math.round(channels.reduce((sum, channel) => sum + channel.perSecond, 0)),
      callsPerSecond: Math.round(metrics.calls.perSecond * 10) / 10,
      calls: Object.fromEntries(Object.entries(metrics.procedures).map(([name, p]) => [name, p.calls])),
      eventLoopDelayMs: { p50: metrics.eventLoop.p50Ms, p99: metrics.eventLoop.p99Ms, max: metrics.eventLoop.maxMs },
      memory: metrics.memory,
      coalesced: channels.reduce((sum, channel) => sum + channel.coalesced, 0),
    };
    // A closing server refuses publishes; there is no one left to tell.
    server.publish('stats', {}, stats).catch(() => {});
  }, intervalMs);
  return () => clearInterval(timer);
}
