// Client-receive load: --clients subscribers of one client library in this one process, all on
// the feed. Tells the server's control endpoint it is ready; the server publishes phase 0
// (saturation) then phase 1 (--rate publishes/s). Counts deliveries per phase and this
// process's CPU from the phase's start until it drained: CPU per delivered message is what a
// process full of clients (or a browser tab) pays to receive. Prints one JSON result line.

import { performance } from 'node:perf_hooks';
import { int, oneOf, parse } from '../lib/args.js';
import { controlRequest } from '../lib/control.js';
import { exitWithParent, printResult } from '../lib/ipc.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import type { PhaseResult } from '../rpc/servers/control.js';
import { type FeedMessage, RECEIVER_IDS, subscribe } from './receivers.js';

const o = parse(
  {
    contender: { type: 'string' },
    port: { type: 'string' },
    control: { type: 'string' },
    clients: { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '3000' },
    rate: { type: 'string', default: '20' },
  },
  'usage: tsx bench/client-receive/clients.ts --contender C --port N --control N [--clients 2000] [--duration-ms 3000] [--rate 20]',
);
exitWithParent();
const contender = oneOf('contender', o.contender, RECEIVER_IDS);
const port = int('port', o.port, 1, 65535);
const control = int('control', o.control, 1, 65535);
const clients = int('clients', o.clients, 1, 20_000);
const durationMs = int('duration-ms', o['duration-ms'], 100, 120_000);
const rate = int('rate', o.rate, 1, 100_000);
setTimeout(() => fatal('hard timeout'), 120_000 + 2 * (durationMs + 35_000)).unref();

function fatal(message: string): never {
  process.stderr.write(`client-receive (${contender}): ${message}\n`);
  process.exit(1);
}

function request(method: string, path: string): Promise<{ status: number; body: unknown }> {
  return controlRequest(control, method, path);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const phases = [0, 1].map(() => ({ delivered: 0, badSeq: 0 }));
let unexpected = 0;
const onMessage = (message: FeedMessage): void => {
  const phase = phases[message.p];
  if (phase === undefined || typeof message.seq !== 'number') unexpected++;
  else phase.delivered++;
};

const closers: Array<() => void> = [];
try {
  // Bounded concurrency: a few hundred handshakes at a time.
  for (let i = 0; i < clients; i += 200) {
    const batch = Array.from({ length: Math.min(200, clients - i) }, () => subscribe(contender, port, onMessage));
    closers.push(...(await Promise.all(batch)));
  }
} catch (error) {
  fatal(`setup failed: ${(error as Error).message}`);
}

const ready = await request('POST', `/ready?procs=1&durationMs=${durationMs}&rate=${rate}&maxMessages=100000`);
if (ready.status !== 200) fatal(`control /ready: ${ready.status}`);

const out = [];
for (const [index, name] of ['sat', 'rate'].entries()) {
  const cpu0 = process.cpuUsage();
  const machine0 = readCpuTimes();
  const t0 = performance.now();
  const res = await request('GET', `/phase?name=${name}`);
  const published = (res.body as PhaseResult).published;
  const phase = phases[index] ?? fatal('phase');
  const expected = published * clients;
  // Drain: until everything arrived, or 3 s without progress, or 30 s.
  const deadline = Date.now() + 30_000;
  let last = -1;
  let stalledSince = Date.now();
  while (phase.delivered < expected && Date.now() < deadline && Date.now() - stalledSince < 3000) {
    await sleep(20);
    if (phase.delivered !== last) {
      last = phase.delivered;
      stalledSince = Date.now();
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const elapsedMs = performance.now() - t0;
  const machineCores = coresBusy(machine0, readCpuTimes());
  await request('POST', `/drained?phase=${index}`);
  out.push({
    phase: name,
    published,
    expected,
    delivered: phase.delivered,
    lost: expected - phase.delivered,
    elapsedMs,
    cpuUs: cpu.user + cpu.system,
    clientCpu: (cpu.user + cpu.system) / (elapsedMs * 1000),
    usPerMessage: (cpu.user + cpu.system) / Math.max(1, phase.delivered),
    machineCores,
  });
}
printResult({ contender, clients, phases: out, unexpected });
for (const close of closers) close();
process.exit(0);
