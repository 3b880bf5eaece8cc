// Connection churn: `concurrency` workers each loop connect -> upgrade -> close for a fixed time.
// A cycle is: TCP connect, raw HTTP upgrade (101 + Sec-WebSocket-Accept checked), masked Close
// frame (1000), then wait for the server's Close frame and its FIN (RFC 6455 §7.1.1: the server
// closes the TCP connection first; if it has not within --linger-ms the client closes and the
// cycle is counted in `lingered`). With --protocol tcp the cycle is just connect + FIN.
// Prints one JSON result line on stdout. Bounded by --duration-ms and a hard timeout.

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { int, oneOf, parse } from '../lib/args.js';
import { encodeCloseFrame, OPCODE_CLOSE } from '../lib/frames.js';
import { exitWithParent, printResult, requestServerStats } from '../lib/ipc.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import { connectAndUpgrade } from '../lib/upgrade.js';

const USAGE = `usage: tsx bench/echo/handshakes.ts --port N [--protocol ws|tcp] [--concurrency 50]
       [--warmup-ms 1000] [--duration-ms 5000] [--linger-ms 1000]`;

const o = parse(
  {
    port: { type: 'string' },
    protocol: { type: 'string', default: 'ws' },
    concurrency: { type: 'string', default: '50' },
    'warmup-ms': { type: 'string', default: '1000' },
    'duration-ms': { type: 'string', default: '5000' },
    'linger-ms': { type: 'string', default: '1000' },
  },
  USAGE,
);
exitWithParent();
const port = int('port', o.port, 1, 65535);
const protocol = oneOf('protocol', o.protocol, ['ws', 'tcp'] as const);
const concurrency = int('concurrency', o.concurrency, 1, 1000);
const warmupMs = int('warmup-ms', o['warmup-ms'], 0, 60_000);
const durationMs = int('duration-ms', o['duration-ms'], 100, 600_000);
const lingerMs = int('linger-ms', o['linger-ms'], 10, 10_000);

const CYCLE_TIMEOUT_MS = 10_000;
const MAX_ERRORS = 100;
setTimeout(
  () => {
    process.stderr.write('handshakes: hard timeout\n');
    process.exit(1);
  },
  warmupMs + durationMs + CYCLE_TIMEOUT_MS + 15_000,
).unref();

const CLOSE_FRAME = encodeCloseFrame(1000);

let completed = 0;
let lingered = 0;
let errors = 0;
let stopped = false;

/** After the upgrade: send Close, wait for the server's Close frame and FIN, then for 'close'. */
function closeCycle(socket: net.Socket, rest: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let firstByte = rest.length > 0 ? rest[0] : undefined;
    const linger = setTimeout(() => {
      lingered++;
      socket.destroy();
    }, lingerMs);
    const hard = setTimeout(() => socket.destroy(new Error('close timed out')), CYCLE_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      firstByte ??= chunk[0];
    });
    socket.once('error', reject);
    socket.once('close', () => {
      clearTimeout(linger);
      clearTimeout(hard);
      // The first frame the server sends after our Close must be its Close (FIN + opcode 8).
      if (firstByte !== (0x80 | OPCODE_CLOSE))
        reject(new Error(`no Close frame from server (first byte ${String(firstByte)})`));
      else resolve();
    });
    if (protocol === 'tcp') {
      firstByte = 0x80 | OPCODE_CLOSE; // nothing to check
      socket.end();
    } else socket.write(CLOSE_FRAME);
  });
}

async function worker(): Promise<void> {
  while (!stopped) {
    try {
      const { socket, rest } = await connectAndUpgrade(port, protocol, CYCLE_TIMEOUT_MS);
      await closeCycle(socket, rest);
      completed++;
    } catch (err) {
      errors++;
      if (errors <= 3) process.stderr.write(`handshakes: ${(err as Error).message}\n`);
      if (errors >= MAX_ERRORS) {
        process.stderr.write(`handshakes: giving up after ${errors} errors\n`);
        process.exit(1);
      }
    }
  }
}

const workers = Array.from({ length: concurrency }, worker);
await new Promise((resolve) => setTimeout(resolve, warmupMs));
const c0 = completed;
const m0 = readCpuTimes();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const s0 = requestServerStats(false);
await new Promise((resolve) => setTimeout(resolve, durationMs));
const c1 = completed;
const m1 = readCpuTimes();
const t1 = performance.now();
const cpu1 = process.cpuUsage(cpu0);
const s1 = requestServerStats(false);
stopped = true;
const [a, b] = await Promise.all([s0, s1]);
const perSec = (c1 - c0) / ((t1 - t0) / 1000);
let server: { cpu: number; usPerHandshake: number } | null = null;
if (a && b && b.nowMs > a.nowMs) {
  const cpu = (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / ((b.nowMs - a.nowMs) * 1000);
  server = { cpu, usPerHandshake: (cpu * 1e6) / perSec };
}
await Promise.race([Promise.all(workers), new Promise((resolve) => setTimeout(resolve, CYCLE_TIMEOUT_MS))]);
printResult({
  protocol,
  concurrency,
  handshakes: c1 - c0,
  elapsedMs: Math.round(t1 - t0),
  perSec,
  clientCpu: (cpu1.user + cpu1.system) / ((t1 - t0) * 1000),
  machineCores: coresBusy(m0, m1),
  server,
  lingered,
  errors,
});
process.exit(0);
