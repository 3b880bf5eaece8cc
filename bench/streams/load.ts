// Stream load: one connection of one contender; a warm-up stream (not measured), then one
// measured stream of --count chunks of --shape, read to its end with every chunk checked. Asks
// the server (through run.ts) for its CPU before and after, reads /proc/stat for other load,
// counts the bytes its TCP sockets read and wrote during the measured stream (every client here
// speaks through one net.Socket, seen on the `net.client.socket` diagnostics channel). Prints one
// JSON result line. Every stream is bounded by --max-ms; the script by a hard timeout.

import diagnostics_channel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { int, oneOf, parse } from '../lib/args.js';
import { exitWithParent, printResult, requestServerStats } from '../lib/ipc.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import type { Received } from './receivers.js';
import { CONTENDER_IDS, connect } from './receivers.js';
import { MAX_CHUNKS, SHAPE_IDS, SHAPES, streamPayloadBytes } from './shapes.js';

const USAGE = `usage: tsx bench/streams/load.ts --contender ${CONTENDER_IDS.join('|')} --port N --shape ${SHAPE_IDS.join('|')}
       [--count N] [--warmup-count N] (default: the shape's, shapes.ts) [--credit N (default: the client's)] [--max-ms 60000]`;
const o = parse(
  {
    contender: { type: 'string' },
    port: { type: 'string' },
    shape: { type: 'string' },
    count: { type: 'string' },
    'warmup-count': { type: 'string' },
    credit: { type: 'string' },
    'max-ms': { type: 'string', default: '60000' },
  },
  USAGE,
);
exitWithParent();
const contender = oneOf('contender', o.contender, CONTENDER_IDS);
const port = int('port', o.port, 1, 65535);
const shape = oneOf('shape', o.shape, SHAPE_IDS);
const count = int('count', o.count ?? String(SHAPES[shape].defaultCount), 1, MAX_CHUNKS);
const warmupCount = int('warmup-count', o['warmup-count'] ?? String(SHAPES[shape].defaultWarmup), 0, MAX_CHUNKS);
const credit = o.credit === undefined ? undefined : int('credit', o.credit, 1, 100_000);
const maxMs = int('max-ms', o['max-ms'], 100, 600_000);

setTimeout(() => fatal('hard timeout'), 30_000 + 2 * maxMs).unref();
function fatal(message: string): never {
  process.stderr.write(`streams load (${contender}, ${shape}): ${message}\n`);
  process.exit(1);
}

/** One stream, read to its end within --max-ms; fails the script if anything is off. */
async function readStream(n: number, what: string): Promise<Received> {
  const deadline = AbortSignal.timeout(maxMs);
  let got: Received;
  try {
    got = await receiver.receive(shape, n, deadline);
  } catch (err) {
    fatal(`${what}: ${(err as Error).message}${deadline.aborted ? ` (not done within ${maxMs} ms)` : ''}`);
  }
  if (got.chunks !== n || got.wrong > 0 || (got.count !== null && got.count !== n)) {
    fatal(`${what}: ${got.chunks} of ${n} chunks, ${got.wrong} wrong, server says it made ${got.count}`);
  }
  return got;
}

/** Every TCP socket this process opens (the client's one connection). */
const sockets = new Set<Socket>();
diagnostics_channel.subscribe('net.client.socket', (message) => sockets.add((message as { socket: Socket }).socket));
const wire = (): { read: number; written: number } => {
  let read = 0;
  let written = 0;
  for (const socket of sockets) {
    read += socket.bytesRead;
    written += socket.bytesWritten;
  }
  return { read, written };
};

const receiver = await connect(contender, port, { credit }).catch((err: unknown) =>
  fatal(`connect failed: ${(err as Error).message}`),
);
if (warmupCount > 0) await readStream(warmupCount, 'warm-up');

const machine0 = readCpuTimes();
const server0 = await requestServerStats(false);
const wire0 = wire();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await readStream(count, 'measured stream');
const elapsedMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const wire1 = wire();
const server1 = await requestServerStats(false);
const machine1 = readCpuTimes();

const seconds = elapsedMs / 1000;
const chunksPerSec = count / seconds;
let server: { cpu: number; sysShare: number; usPerChunk: number } | null = null;
if (server0 && server1 && server1.nowMs > server0.nowMs) {
  const user = server1.cpuUserUs - server0.cpuUserUs;
  const sys = server1.cpuSystemUs - server0.cpuSystemUs;
  // Utilisation over the stream itself (the stats round trips around it are a few ms).
  server = {
    cpu: (user + sys) / (elapsedMs * 1000),
    sysShare: sys / Math.max(1, user + sys),
    usPerChunk: (user + sys) / count,
  };
}
const payloadBytes = streamPayloadBytes(shape, count);
printResult({
  contender,
  shape,
  count,
  credit: credit ?? 'default',
  elapsedMs: Math.round(elapsedMs),
  chunksPerSec,
  payloadMiBps: payloadBytes / seconds / (1024 * 1024),
  payloadBytes,
  // TCP payload bytes (WebSocket frames, headers included) the client read during the measured stream ÷ payload.
  wireReadRatio: sockets.size > 0 ? (wire1.read - wire0.read) / payloadBytes : null,
  // What it sent meanwhile (Switchboard's credit envelopes, pongs), per chunk.
  wireWrittenPerChunk: sockets.size > 0 ? (wire1.written - wire0.written) / count : null,
  clientCpu: (cpu.user + cpu.system) / (elapsedMs * 1000),
  clientUsPerChunk: (cpu.user + cpu.system) / count,
  machineCores: coresBusy(machine0, machine1),
  server,
});
receiver.close();
process.exit(0);
