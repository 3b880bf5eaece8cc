import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { type Client, createClient } from '@switchboard/client';
import { channel, defineContract } from '@switchboard/contract';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { untilEvent, within } from '../support/wait.js';
import { FaultProxy } from './fault-proxy.js';

// 500 real clients (createClient over `ws`) on one server, which is restarted: a fresh
// server (new process memory: new broker epoch) takes the address — the proxy is
// retargeted, as a load balancer would be — and the old one closes (1001). Every client
// must come back, with its subscription, and their first attempts must be spread by the
// random first delay (RFC 6455 §7.2.3), not arrive as one thundering herd.

const CLIENTS = 500;
/** reconnect.initialDelayMs: the first attempt is uniformly random in [0, WINDOW_MS). */
const WINDOW_MS = 3_000;
const SLICES = 10;
const BUCKET_MS = 100;

const contract = defineContract({
  channels: { ticks: channel({ params: z.object({ feed: z.string() }), message: z.number() }) },
});
type Contract = typeof contract;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that notes when each client's upgrade arrives (the context runs once per handshake). */
async function startServer(
  arrivals: Map<number, number[]>,
): Promise<{ server: SwitchboardServer<Contract>; port: number }> {
  const router = defineRouter(contract, {
    context: ({ request }) => {
      const id = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('client'));
      const seen = arrivals.get(id) ?? [];
      seen.push(performance.now());
      arrivals.set(id, seen);
      return {};
    },
    procedures: {},
  });
  const server = createServer({ router, heartbeat: false });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port };
}

function countBy(values: readonly number[], size: number, buckets: number): number[] {
  const counts = new Array<number>(buckets).fill(0);
  for (const value of values) {
    const bucket = Math.min(buckets - 1, Math.max(0, Math.floor(value / size)));
    counts[bucket] = (counts[bucket] as number) + 1;
  }
  return counts;
}

/** Spearman's rank correlation of two equally long samples (ties broken by position). */
function rankCorrelation(xs: readonly number[], ys: readonly number[]): number {
  const ranks = (values: readonly number[]) => {
    const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
    const rank = new Array<number>(values.length);
    order.forEach(({ index }, position) => {
      rank[index] = position;
    });
    return rank;
  };
  const rx = ranks(xs);
  const ry = ranks(ys);
  const n = xs.length;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((rx[i] as number) - (ry[i] as number)) ** 2;
  return 1 - (6 * squares) / (n * (n * n - 1));
}

interface Tracked {
  client: Client<Contract>;
  /** The first 'reconnecting' after the restart: when, the drawn delay, the close code. */
  lost: { atMs: number; delayMs: number; closeCode: number | undefined } | undefined;
  opens: number;
  /** The subscription was registered (its `ready` resolved). */
  ready: boolean;
  gaps: number;
  ticks: number[];
}

describe('500 clients through a server restart', () => {
  it('all come back with their subscriptions, their first attempts spread over the jitter window', {
    timeout: 30_000,
  }, async () => {
    const started = performance.now();
    const changes = new EventEmitter();
    changes.setMaxListeners(0);
    const oldArrivals = new Map<number, number[]>();
    const old = await startServer(oldArrivals);
    const proxy = await FaultProxy.start(old.port);
    cleanups.push(() => proxy.close());
    cleanups.push(() => old.server.close());

    const tracked: Tracked[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const client = createClient<Contract>({
        url: `ws://127.0.0.1:${proxy.port}/?client=${i}`,
        WebSocket: WebSocket as never,
        reconnect: { initialDelayMs: WINDOW_MS, maxDelayMs: 4 * WINDOW_MS, factor: 2 },
        heartbeat: false,
      });
      const entry: Tracked = { client, lost: undefined, opens: 0, ready: false, gaps: 0, ticks: [] };
      client.on('state', (state, info) => {
        if (state === 'open') entry.opens++;
        if (state === 'reconnecting' && entry.lost === undefined) {
          entry.lost = { atMs: performance.now(), delayMs: info.nextDelayMs ?? -1, closeCode: info.closeCode };
        }
        changes.emit('change');
      });
      const subscription = client.subscribe(
        'ticks',
        { feed: 'all' },
        {
          onMessage: (tick) => {
            entry.ticks.push(tick);
            changes.emit('change');
          },
          onGap: () => {
            entry.gaps++;
            changes.emit('change');
          },
        },
      );
      subscription.ready.then(
        () => {
          entry.ready = true;
          changes.emit('change');
        },
        () => {},
      );
      tracked.push(entry);
      cleanups.push(() => client.close());
      // Give the proxy and the server a turn every 50 connections: 500 at once overflow no
      // backlog, but spreading them keeps the set-up time steady.
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    await untilEvent(
      changes,
      'change',
      () => old.server.connections === CLIENTS && tracked.every((t) => t.opens === 1 && t.ready),
      'all 500 to connect and subscribe',
      15_000,
    );
    await old.server.publish('ticks', { feed: 'all' }, 1);
    await untilEvent(
      changes,
      'change',
      () => tracked.every((t) => t.ticks.length === 1),
      'every client to receive from the old server',
      5_000,
    );
    const connectedMs = performance.now() - started;

    // The restart: the new server is up and the address points at it before the old one goes.
    const arrivals = new Map<number, number[]>();
    const fresh = await startServer(arrivals);
    cleanups.push(() => fresh.server.close());
    proxy.retarget(fresh.port);
    const restartAt = performance.now();
    await within(old.server.close(), 10_000, 'the old server to close');

    await untilEvent(
      changes,
      'change',
      () => tracked.every((t) => t.opens === 2 && t.gaps === 1) && fresh.server.connections === CLIENTS,
      'all 500 to reconnect and have their subscription restored',
      WINDOW_MS + 10_000,
    );
    const reconnectedMs = performance.now() - restartAt;
    await fresh.server.publish('ticks', { feed: 'all' }, 2);
    await untilEvent(
      changes,
      'change',
      () => tracked.every((t) => t.ticks.length === 2),
      'every client to receive from the new server',
      5_000,
    );

    // ── every client came back, with its subscription ──
    expect(tracked.every((t) => t.lost?.closeCode === 1001)).toBe(true);
    expect(tracked.every((t) => t.ticks.join() === '1,2')).toBe(true);
    // Each client's first attempt was its only one: the new server was already there.
    expect(arrivals.size).toBe(CLIENTS);
    expect([...arrivals.values()].every((times) => times.length === 1)).toBe(true);

    // ── the delays the clients drew: exactly the jitter, no latency in them ──
    // Uniform on [0, 3000): each 100 ms bucket expects 16.7 of 500 (3.3%). P(a given bucket
    // ≥ 50) = 1.1e-11 (binomial tail), so over 30 buckets the bound fails with p < 4e-10.
    const delays = tracked.map((t) => t.lost?.delayMs ?? -1);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(WINDOW_MS);
    const delayBuckets = countBy(delays, BUCKET_MS, WINDOW_MS / BUCKET_MS);
    expect(Math.max(...delayBuckets)).toBeLessThan(50);

    // ── when the first attempts reached the new server ──
    // Measured from the moment the first client saw its connection close (here, with all 500
    // clients, the proxy and both servers on one event loop, the 500 close handshakes take a
    // few hundred ms after close() is called, and end within a few ms of each other).
    // Arrival = the client's close + its delay + latency.
    const lossTimes = tracked.map((t) => t.lost?.atMs as number);
    const firstLossAt = Math.min(...lossTimes);
    const firstArrivals = [...arrivals.values()].map((times) => (times[0] as number) - firstLossAt);
    const slices = countBy(firstArrivals, WINDOW_MS / SLICES, SLICES);
    const spanMs = Math.max(...firstArrivals) - Math.min(...firstArrivals);
    // How late each attempt arrived after its timer was due (close seen + delay drawn).
    const lateness = tracked
      .map((t, i) => (arrivals.get(i)?.[0] as number) - ((t.lost?.atMs as number) + (t.lost?.delayMs as number)))
      .sort((a, b) => a - b);
    // The attempts came in the order of the delays drawn (Spearman's rank correlation): each
    // client waited its own delay. Timers fire in the order they fall due, even after a
    // stall, so this holds on a loaded machine; a client that ignored its delay would score
    // about 0 (± 0.05 for 500 clients). With the spread of the delays above, it rules out a herd.
    const rho = rankCorrelation(
      delays,
      tracked.map((_t, i) => arrivals.get(i)?.[0] as number),
    );
    expect(rho).toBeGreaterThan(0.9);
    // The spread as the server saw it. Latency is this machine's, not the client's: a stall of
    // this process (another job on the same cores) piles arrivals up behind it, so the bounds
    // excuse attempts that arrived late:
    // - no 300 ms slice holds 30% of the arrivals plus the late ones (expected 10%; for pure
    //   jitter P(a slice ≥ 150) = 2e-35);
    // - the arrivals span at least half the window, less the worst lateness (the drawn
    //   delays alone span < 90% with P = 7e-22).
    const lateCount = lateness.filter((ms) => ms > WINDOW_MS / SLICES).length;
    const worstLateMs = lateness.at(-1) as number;
    expect(Math.max(...slices)).toBeLessThan(0.3 * CLIENTS + lateCount);
    expect(spanMs).toBeGreaterThan(0.5 * WINDOW_MS - worstLateMs);

    const at = (q: number) => (lateness[Math.floor(q * (lateness.length - 1))] as number).toFixed(1);
    console.log(
      `500 clients: connected in ${connectedMs.toFixed(0)} ms; close() to the clients seeing 1001: ` +
        `${(firstLossAt - restartAt).toFixed(0)}–${(Math.max(...lossTimes) - restartAt).toFixed(0)} ms; ` +
        `after the restart all ${CLIENTS} back, ` +
        `subscriptions restored (500 gap reports, 500/500 received the next publish) in ${reconnectedMs.toFixed(0)} ms; ` +
        `first attempts span ${spanMs.toFixed(0)} ms of the ${WINDOW_MS} ms window, per 300 ms slice [${slices.join(', ')}], ` +
        `rank correlation of arrival order with drawn delays ${rho.toFixed(4)}; ` +
        `largest 100 ms bucket of drawn delays ${Math.max(...delayBuckets)} (${((100 * Math.max(...delayBuckets)) / CLIENTS).toFixed(1)}%); ` +
        `arrival after the timer was due: min ${at(0)} ms, median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms ` +
        `(${lateCount} over 300 ms)`,
    );
  });
});
