import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/rpc/metrics.js';

describe('Metrics', () => {
  const metrics = new Metrics();
  afterEach(() => metrics.stop());
  const live = {
    connections: 0,
    inFlight: 0,
    subscribers: new Map<string, number>(),
    idempotency: { keys: 0, sessions: 0, bytes: 0, waiting: 0 },
    streams: 0,
  };

  it('reports latency percentiles within 20% below the true value', () => {
    for (let i = 0; i < 98; i++) metrics.recordCall('p', 1_000, true); // 1 ms
    metrics.recordCall('p', 50_000, true); // 50 ms
    metrics.recordCall('p', 200_000, false); // 200 ms
    const { procedures, calls } = metrics.snapshot(live);
    const p = procedures.p as { p50Ms: number; p99Ms: number; errors: number };
    expect(p.p50Ms).toBeGreaterThan(0.8);
    expect(p.p50Ms).toBeLessThanOrEqual(1);
    expect(p.p99Ms).toBeGreaterThan(40);
    expect(p.p99Ms).toBeLessThanOrEqual(50);
    expect(p.errors).toBe(1);
    expect(calls.total).toBe(100);
  });

  it('keeps one counters object per channel, shared with its lanes', () => {
    const counters = metrics.channelCounters('c');
    counters.dropped += 3;
    expect(metrics.channelCounters('c')).toBe(counters);
    expect(metrics.snapshot({ ...live, subscribers: new Map([['c', 2]]) }).channels.c).toMatchObject({
      dropped: 3,
      subscribers: 2,
    });
  });
});
