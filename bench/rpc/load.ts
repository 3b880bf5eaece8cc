// RPC load generator: --connections clients of one contender, each keeping --inflight `add` calls
// in flight (a new call as soon as one returns), for --warmup-ms then --duration-ms. Records
// every call's latency in the measured window, checks every result, asks the server (through
// run.ts) for its CPU at both ends. Prints one JSON result line. Bounded by a hard timeout.

import { performance } from 'node:perf_hooks';
import { int, oneOf, parse } from '../lib/args.js';
import type { ServerStats } from '../lib/ipc.js';
import { exitWithParent, printResult, requestServerStats } from '../lib/ipc.js';
import type { CpuTimes } from '../lib/quiet.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import type { Caller } from './clients.js';
import { CONTENDER_IDS, connect } from './clients.js';

const USAGE = `usage: tsx bench/rpc/load.ts --contender ${CONTENDER_IDS.join('|')} --port N
       [--connections 10] [--inflight 100] [--warmup-ms 1000] [--duration-ms 5000] [--max-samples 4000000]`;
const o = parse(
  {
    contender: { type: 'string' },
    port: { type: 'string' },
    connections: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '100' },
    'warmup-ms': { type: 'string', default: '1000' },
    'duration-ms': { type: 'string', default: '5000' },
    'max-samples': { type: 'string', default: '4000000' },
  },
  USAGE,
);
exitWithParent();
const contender = oneOf('contender', o.contender, CONTENDER_IDS);
const port = int('port', o.port, 1, 65535);
const connections = int('connections', o.connections, 1, 1000);
const inflight = int('inflight', o.inflight, 1, 10_000);
const warmupMs = int('warmup-ms', o['warmup-ms'], 0, 60_000);
const durationMs = int('duration-ms', o['duration-ms'], 100, 600_000);
const maxSamples = int('max-samples', o['max-samples'], 1000, 50_000_000);

setTimeout(() => fatal('hard timeout'), 30_000 + warmupMs + durationMs).unref();
function fatal(message: string): never {
  process.stderr.write(`rpc load (${contender}): ${message}\n`);
  process.exit(1);
}

let callers: Caller[];
try {
  callers = await Promise.all(Array.from({ length: connections }, () => connect(contender, port)));
  // One probe call per connection (also waits for connections that open lazily).
  for (const c of callers) if ((await c.add(2, 3)) !== 5) fatal('probe: 2 + 3 != 5');
} catch (err) {
  fatal(`setup failed: ${(err as Error).message}`);
}

const latencies = new Float64Array(maxSamples);
let samples = 0;
let measuring = false;
let running = true;
let calls = 0;
let wrong = 0;
let errors = 0;
let firstError = '';

async function loop(c: Caller, seed: number): Promise<void> {
  let a = seed;
  while (running) {
    a = (a + 1) & 0xffff;
    const t0 = performance.now();
    try {
      const r = await c.add(a, 7);
      if (r !== a + 7) wrong++;
    } catch (err) {
      errors++;
      firstError ||= (err as Error).message;
      if (errors > 1000) return;
      continue;
    }
    if (measuring) {
      calls++;
      if (samples < maxSamples) latencies[samples++] = performance.now() - t0;
    }
  }
}

interface Sample {
  machine: CpuTimes | null;
  atMs: number;
  calls: number;
  cpu: NodeJS.CpuUsage;
  server: Promise<ServerStats | null>;
}
const sample = (): Sample => ({
  machine: readCpuTimes(),
  atMs: performance.now(),
  calls,
  cpu: process.cpuUsage(),
  server: requestServerStats(false),
});

const loops = callers.flatMap((c, i) => Array.from({ length: inflight }, (_, j) => loop(c, i * 1000 + j)));
await new Promise((resolve) => setTimeout(resolve, warmupMs));
measuring = true;
const first = sample();
await new Promise((resolve) => setTimeout(resolve, durationMs));
const last = sample();
measuring = false;
running = false;
const [s0, s1] = await Promise.all([first.server, last.server]);
const elapsedMs = last.atMs - first.atMs;
const n = last.calls - first.calls;
const callsPerSec = n / (elapsedMs / 1000);
let server: { cpu: number; sysShare: number; usPerCall: number } | null = null;
if (s0 && s1 && s1.nowMs > s0.nowMs) {
  const user = s1.cpuUserUs - s0.cpuUserUs;
  const sys = s1.cpuSystemUs - s0.cpuSystemUs;
  const cpu = (user + sys) / ((s1.nowMs - s0.nowMs) * 1000);
  server = { cpu, sysShare: sys / Math.max(1, user + sys), usPerCall: (cpu * 1e6) / callsPerSec };
}
const sorted = latencies.subarray(0, samples).sort();
const pct = (p: number): number => (samples ? (sorted[Math.min(samples - 1, Math.floor(samples * p))] ?? 0) * 1000 : 0);
const cpuUs = last.cpu.user + last.cpu.system - first.cpu.user - first.cpu.system;
printResult({
  contender,
  connections,
  inflight,
  calls: n,
  elapsedMs: Math.round(elapsedMs),
  callsPerSec,
  p50Us: pct(0.5),
  p99Us: pct(0.99),
  clientCpu: cpuUs / (elapsedMs * 1000),
  machineCores: coresBusy(first.machine, last.machine),
  server,
  wrong,
  errors,
  firstError,
});
// Let in-flight calls settle briefly, then exit without a graceful close dance.
await Promise.race([Promise.allSettled(loops), new Promise((resolve) => setTimeout(resolve, 1000))]);
if (wrong > 0 || errors > 0) fatal(`${wrong} wrong results, ${errors} errors (${firstError})`);
process.exit(0);
