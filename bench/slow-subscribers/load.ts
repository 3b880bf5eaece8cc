// Load process of the slow-subscriber benchmark: opens --healthy + --stalled raw subscribers of
// the `ticks` channel (stalled ones spread evenly among the healthy ones), has the server publish
// --rate messages/s for --duration-ms, waits (bounded) for the healthy peers to receive
// everything, takes a reading of the server after a forced GC while the stalled peers still do
// not read, then lets the stalled peers read what the server kept for them (bounded) and
// reports. Prints one JSON result line.

import { int, parse } from '../lib/args.js';
import { exitWithParent, printResult } from '../lib/ipc.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import { mapLimit } from '../lib/upgrade.js';
import { nowMs } from '../rpc/contract.js';
import { control, type PublishReport, type SampleReply } from './common.js';
import { LatencyHistogram, Peer } from './peers.js';

const o = parse(
  {
    port: { type: 'string' },
    control: { type: 'string' },
    healthy: { type: 'string', default: '900' },
    stalled: { type: 'string', default: '100' },
    rate: { type: 'string', default: '300' },
    'duration-ms': { type: 'string', default: '150000' },
    'tick-ms': { type: 'string', default: '10' },
    'sample-ms': { type: 'string', default: '250' },
  },
  'usage: tsx bench/slow-subscribers/load.ts --port N --control N [--healthy 900] [--stalled 100] [--rate 300] [--duration-ms 150000] [--tick-ms 10]',
);
exitWithParent();
const port = int('port', o.port, 1, 65535);
const controlPort = int('control', o.control, 1, 65535);
const healthyCount = int('healthy', o.healthy, 1, 10_000);
const stalledCount = int('stalled', o.stalled, 0, 10_000);
const rate = int('rate', o.rate, 1, 100_000);
const durationMs = int('duration-ms', o['duration-ms'], 100, 600_000);
const tickMs = int('tick-ms', o['tick-ms'], 1, 1000);
const sampleMs = int('sample-ms', o['sample-ms'], 10, 60_000);

/** Bounds of the phases after publishing. */
const DRAIN_MAX_MS = 30_000;
const DRAIN_IDLE_MS = 3_000;
const STALLED_READ_MAX_MS = 30_000;
const STALLED_READ_IDLE_MS = 2_000;
setTimeout(() => fail('hard timeout'), durationMs + 180_000).unref();

function fail(message: string): never {
  process.stderr.write(`slow-subscribers load: ${message}\n`);
  process.exit(1);
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()`, or `idleMs` without `progress()` changing, or `maxMs`; returns the ms waited. */
async function waitFor(done: () => boolean, progress: () => number, idleMs: number, maxMs: number): Promise<number> {
  const started = Date.now();
  let last = progress();
  let lastChange = started;
  while (!done() && Date.now() - started < maxMs && Date.now() - lastChange < idleMs) {
    await sleep(50);
    const now = progress();
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
  }
  return Date.now() - started;
}

// Stalled peers spread evenly: the server's fan-out meets one every total/stalled subscribers.
const total = healthyCount + stalledCount;
const isStalled = (i: number): boolean =>
  stalledCount > 0 && Math.floor(((i + 1) * stalledCount) / total) > Math.floor((i * stalledCount) / total);
const latency = new LatencyHistogram();
let peers: Peer[];
try {
  peers = await mapLimit(total, 50, async (i) => {
    const peer = isStalled(i) ? new Peer('stalled', port, undefined) : new Peer('healthy', port, latency);
    const timer = setTimeout(() => peer.socket.destroy(new Error('subscribe timed out')), 20_000);
    try {
      await peer.subscribed();
    } finally {
      clearTimeout(timer);
    }
    return peer;
  });
} catch (err) {
  fail(`opening subscribers failed: ${(err as Error).message}`);
}
const healthy = peers.filter((p) => p.kind === 'healthy');
const stalled = peers.filter((p) => p.kind === 'stalled');
if (stalled.length !== stalledCount) fail(`expected ${stalledCount} stalled peers, made ${stalled.length}`);

const delivered = (): number => healthy.reduce((sum, p) => sum + p.messages, 0);
const cpu0 = process.cpuUsage();
const machine0 = readCpuTimes();
const localStart = performance.now();
const started = await control(
  controlPort,
  'POST',
  `/start?rate=${rate}&durationMs=${durationMs}&tickMs=${tickMs}&sampleMs=${sampleMs}`,
  10_000,
);
if (started.status !== 200) fail(`control /start: ${started.status} ${JSON.stringify(started.body)}`);
const done = await control(controlPort, 'GET', '/done', durationMs + 60_000);
if (done.status !== 200) fail(`control /done: ${done.status} ${JSON.stringify(done.body)}`);
const server = done.body as PublishReport;
const publishedMs = performance.now() - localStart;
const cpu = process.cpuUsage(cpu0);
const machineCores = coresBusy(machine0, readCpuTimes());

// Healthy peers: until each has the last message, or no progress for a while.
const drainMs = await waitFor(
  () => healthy.every((p) => p.lastSeq >= server.published || p.closed),
  delivered,
  DRAIN_IDLE_MS,
  DRAIN_MAX_MS,
);
const healthyDelivered = delivered();
const lastDeliveryAt = Math.max(...healthy.map((p) => p.lastAt));

// The server's memory with the stalled peers still holding their queues, after a forced GC.
const afterGc = await control(controlPort, 'GET', '/sample?gc=1', 30_000);
if (afterGc.status !== 200) fail(`control /sample: ${afterGc.status}`);
const connectionsAtEnd = (afterGc.body as SampleReply).connections;

// Stalled peers read what reached them: the kernel's buffers, then what the server kept.
const stalledClosedBeforeRead = stalled.filter((p) => p.closed).length;
for (const p of stalled) p.resume();
const stalledBytes = (): number => stalled.reduce((sum, p) => sum + p.socket.bytesRead, 0);
const stalledReadMs =
  stalled.length === 0
    ? 0
    : await waitFor(
        () => stalled.every((p) => p.closed || p.lastSeq >= server.published),
        stalledBytes,
        STALLED_READ_IDLE_MS,
        STALLED_READ_MAX_MS,
      );

const sum = (list: Peer[], pick: (p: Peer) => number): number => list.reduce((s, p) => s + pick(p), 0);
const closeCodes: Record<string, number> = {};
for (const p of stalled) {
  const key = p.closed ? String(p.closeCode ?? 'no close frame') : 'open';
  closeCodes[key] = (closeCodes[key] ?? 0) + 1;
}
printResult({
  healthy: {
    peers: healthy.length,
    expected: server.published * healthy.length,
    delivered: healthyDelivered,
    perSec: healthyDelivered / ((lastDeliveryAt - server.t0) / 1000),
    missing: sum(healthy, (p) => p.missing),
    outOfOrder: sum(healthy, (p) => p.outOfOrder),
    gaps: sum(healthy, (p) => p.gaps),
    unexpected: sum(healthy, (p) => p.unexpected),
    firstUnexpected: healthy.find((p) => p.firstUnexpected !== undefined)?.firstUnexpected,
    closed: healthy.filter((p) => p.closed).length,
    p50Ms: latency.percentileMs(0.5),
    p99Ms: latency.percentileMs(0.99),
    p999Ms: latency.percentileMs(0.999),
    maxMs: latency.maxMs,
    drainMs,
  },
  stalled: {
    peers: stalled.length,
    closedBeforeRead: stalledClosedBeforeRead,
    closeCodes,
    messages: sum(stalled, (p) => p.messages),
    missing: sum(stalled, (p) => p.missing),
    outOfOrder: sum(stalled, (p) => p.outOfOrder),
    toldDropped: sum(stalled, (p) => p.toldDropped),
    unexpected: sum(stalled, (p) => p.unexpected),
    firstUnexpected: stalled.find((p) => p.firstUnexpected !== undefined)?.firstUnexpected,
    bytesRead: stalledBytes(),
    readMs: stalledReadMs,
  },
  server,
  afterGc: afterGc.body as SampleReply,
  connectionsAtEnd,
  clientCpu: (cpu.user + cpu.system) / (publishedMs * 1000),
  machineCores,
  endedAt: nowMs(),
});
for (const p of peers) p.socket.destroy();
process.exit(0);
