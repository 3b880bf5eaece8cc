// Fan-out subscribers: --subscribers raw connections of one contender, all subscribed to the feed.
// Tells the server's control endpoint it is ready; the server (once all --procs processes are)
// publishes phase 0 (saturation) then phase 1 (--rate publishes/s). Counts deliveries per phase,
// takes publish→receive latency from the timestamp in every message, waits (bounded) for the
// phase to drain, reports. Prints one JSON result line.

import { performance } from 'node:perf_hooks';
import { int, oneOf, parse } from '../lib/args.js';
import { controlRequest } from '../lib/control.js';
import { exitWithParent, printResult } from '../lib/ipc.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import { nowMs } from '../rpc/contract.js';
import type { PhaseResult } from '../rpc/servers/control.js';
import { mapLimit, RawSubscriber } from './raw.js';

const o = parse(
  {
    contender: { type: 'string' },
    port: { type: 'string' },
    control: { type: 'string' },
    subscribers: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '2' },
    'duration-ms': { type: 'string', default: '3000' },
    rate: { type: 'string', default: '20' },
    'max-messages': { type: 'string', default: '100000' },
  },
  'usage: tsx bench/fanout/subscribers.ts --contender C --port N --control N [--subscribers 1000] [--procs 2] [--duration-ms 3000] [--rate 20]',
);
exitWithParent();
const contender = oneOf('contender', o.contender, ['switchboard', 'thin', 'socketio', 'trpc'] as const);
const port = int('port', o.port, 1, 65535);
const control = int('control', o.control, 1, 65535);
const subscribers = int('subscribers', o.subscribers, 1, 20_000);
const procs = int('procs', o.procs, 1, 8);
const durationMs = int('duration-ms', o['duration-ms'], 100, 120_000);
const rate = int('rate', o.rate, 1, 100_000);
const maxMessages = int('max-messages', o['max-messages'], 1, 10_000_000);
setTimeout(() => fatal('hard timeout'), 60_000 + 2 * (durationMs + 35_000)).unref();

function fatal(message: string): never {
  process.stderr.write(`fanout subscribers (${contender}): ${message}\n`);
  process.exit(1);
}

function request(method: string, path: string): Promise<{ status: number; body: unknown }> {
  return controlRequest(control, method, path);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const MAX_LAT = 4_000_000;
const phases = [0, 1].map(() => ({
  delivered: 0,
  lastAt: 0,
  lat: new Float64Array(MAX_LAT),
  n: 0,
  badSeq: 0,
}));
const RE = /"seq":(\d+),"t":([\d.]+),"p":(\d)/;

let subs: RawSubscriber[];
try {
  subs = await mapLimit(subscribers, 100, async () => {
    const s = new RawSubscriber(contender, port);
    const timer = setTimeout(() => s.socket.destroy(new Error('setup timed out')), 20_000);
    try {
      await s.ready();
      await s.subscribe();
    } finally {
      clearTimeout(timer);
    }
    return s;
  });
} catch (err) {
  fatal(`setup failed: ${(err as Error).message}`);
}
let unexpected = 0;
for (const s of subs) {
  s.onText = (m) => {
    const match = RE.exec(m);
    if (match === null) {
      unexpected++;
      return;
    }
    const now = nowMs();
    const ph = phases[Number(match[3])];
    if (!ph) return;
    ph.delivered++;
    ph.lastAt = now;
    if (ph.n < MAX_LAT) ph.lat[ph.n++] = now - Number(match[2]);
  };
}

const ready = await request(
  'POST',
  `/ready?procs=${procs}&durationMs=${durationMs}&rate=${rate}&maxMessages=${maxMessages}`,
);
if (ready.status !== 200) fatal(`control /ready: ${ready.status}`);

const out = [];
for (const [phase, name] of ['sat', 'rate'].entries()) {
  const cpu0 = process.cpuUsage();
  const machine0 = readCpuTimes();
  const t0Local = performance.now();
  const res = await request('GET', `/phase?name=${name}`);
  const pr = res.body as PhaseResult;
  const ph = phases[phase] ?? fatal('phase');
  const expected = pr.published * subscribers;
  // Drain: until everything arrived, or 3 s without progress, or 30 s.
  const deadline = Date.now() + 30_000;
  let last = -1;
  let stalledSince = Date.now();
  while (ph.delivered < expected && Date.now() < deadline && Date.now() - stalledSince < 3000) {
    await sleep(50);
    if (ph.delivered !== last) {
      last = ph.delivered;
      stalledSince = Date.now();
    }
  }
  const elapsedLocalMs = performance.now() - t0Local;
  const cpu = process.cpuUsage(cpu0);
  const machineCores = coresBusy(machine0, readCpuTimes());
  await request('POST', `/drained?phase=${phase}`);
  // Percentiles are computed after the last phase: sorting a million latencies takes this
  // process away for a few hundred ms, which would land on the next phase's first messages.
  out.push({
    phase: name,
    published: pr.published,
    expected,
    delivered: ph.delivered,
    lost: expected - ph.delivered,
    t0: pr.t0,
    t1: pr.t1,
    lastAt: ph.lastAt,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    maxMs: Number.NaN,
    clientCpu: (cpu.user + cpu.system) / (elapsedLocalMs * 1000),
    machineCores,
  });
}
for (const [index, result] of out.entries()) {
  const ph = phases[index] ?? fatal('phase');
  const lat = ph.lat.subarray(0, ph.n).sort();
  const pct = (p: number): number => (ph.n ? (lat[Math.min(ph.n - 1, Math.floor(ph.n * p))] ?? 0) : Number.NaN);
  result.p50Ms = pct(0.5);
  result.p99Ms = pct(0.99);
  result.maxMs = ph.n ? (lat[ph.n - 1] ?? 0) : Number.NaN;
}
let server: PhaseResult[] = [];
for (let i = 0; i < 100; i++) {
  const a = await request('GET', '/result?phase=0');
  const b = await request('GET', '/result?phase=1');
  if (a.status === 200 && b.status === 200) {
    server = [a.body as PhaseResult, b.body as PhaseResult];
    break;
  }
  await sleep(200);
}
const closedEarly = subs.filter((s) => s.closed).length;
printResult({ contender, subscribers, phases: out, server, unexpected, closedEarly });
process.exit(0);
