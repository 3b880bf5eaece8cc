// Echo load generator: N raw node:net connections, each keeping `window` messages in flight.
// Client frames are pre-encoded (masked with a fixed key) and refilled by writing a subarray of
// one pre-built buffer; echoes are counted by FrameCounter without touching payloads; reads go
// into one shared buffer (net `onread`), so the hot path allocates almost nothing.
// Prints one JSON result line on stdout. Bounded by --duration-ms, --max-messages and a hard timeout.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { int, oneOf, parse } from '../lib/args.js';
import {
  decodeMessage,
  encodeClientFrame,
  FrameCounter,
  makePayload,
  OPCODE_BINARY,
  OPCODE_TEXT,
  repeat,
} from '../lib/frames.js';
import type { ServerStats } from '../lib/ipc.js';
import { exitWithParent, printResult, requestServerStats } from '../lib/ipc.js';
import type { CpuTimes } from '../lib/quiet.js';
import { coresBusy, readCpuTimes } from '../lib/quiet.js';
import { HOST, mapLimit, newKey, UpgradeResponse, upgradeRequest } from '../lib/upgrade.js';

const USAGE = `usage: tsx bench/echo/load.ts --port N [--protocol ws|tcp] [--size 64] [--connections 50]
       [--window 32] [--warmup-ms 1000] [--duration-ms 5000] [--max-messages 1e9] [--opcode binary|text]`;

const o = parse(
  {
    port: { type: 'string' },
    protocol: { type: 'string', default: 'ws' },
    size: { type: 'string', default: '64' },
    connections: { type: 'string', default: '50' },
    window: { type: 'string', default: '32' },
    'warmup-ms': { type: 'string', default: '1000' },
    'duration-ms': { type: 'string', default: '5000' },
    'max-messages': { type: 'string', default: '1000000000' },
    opcode: { type: 'string', default: 'binary' },
  },
  USAGE,
);
exitWithParent();
const port = int('port', o.port, 1, 65535);
const protocol = oneOf('protocol', o.protocol, ['ws', 'tcp'] as const);
const size = int('size', o.size, 1, 16 * 1024 * 1024);
const connections = int('connections', o.connections, 1, 10_000);
const window = int('window', o.window, 1, 4096);
const warmupMs = int('warmup-ms', o['warmup-ms'], 0, 60_000);
const durationMs = int('duration-ms', o['duration-ms'], 100, 600_000);
const maxMessages = int('max-messages', o['max-messages'], 1, 1e12);
const opcode = oneOf('opcode', o.opcode, ['binary', 'text'] as const) === 'text' ? OPCODE_TEXT : OPCODE_BINARY;

const SETUP_TIMEOUT_MS = 15_000;
const hardTimeout = setTimeout(
  () => fatal(new Error('hard timeout: the run did not finish in time')),
  SETUP_TIMEOUT_MS + warmupMs + durationMs + 15_000,
);
hardTimeout.unref();

const payload = makePayload(size);
const frame = protocol === 'ws' ? encodeClientFrame(payload, opcode) : payload;
const frameLen = frame.length;
const batch = repeat(frame, window);
const READ_BUF = Buffer.allocUnsafe(256 * 1024);

/** Reads in the run phase (echoed messages / reads = how much the server batches its writes). */
let reads = 0;
/** Echoed messages over all connections (the hot counter). */
let total = 0;
let stopAt = Number.POSITIVE_INFINITY;
let running = false;

function fatal(err: Error): never {
  process.stderr.write(`load: ${err.message}\n`);
  process.exit(1);
}

class Conn {
  readonly socket: net.Socket;
  /** Echoed messages on this connection. */
  count = 0;
  private phase: 'upgrade' | 'probe' | 'ready' | 'run' = protocol === 'ws' ? 'upgrade' : 'probe';
  private readonly key = newKey();
  private readonly upgrade = new UpgradeResponse(this.key);
  private probe = Buffer.alloc(0);
  readonly counter = new FrameCounter(size);
  private tcpBytes = 0;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;

  constructor() {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.socket = net.connect({
      port,
      host: HOST,
      noDelay: true,
      onread: { buffer: READ_BUF, callback: (n) => this.onRead(n) },
    });
    this.socket.on('connect', () => {
      if (protocol === 'ws') this.socket.write(upgradeRequest(port, this.key));
      else this.socket.write(frame);
    });
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  private fail(err: Error): void {
    if (this.phase === 'run') {
      if (running) fatal(err);
    } else this.rejectReady(err);
  }

  /** Starts the pipeline: `window` messages in flight from now on. */
  start(): void {
    this.phase = 'run';
    this.socket.write(batch);
  }

  private onRead(n: number): boolean {
    if (this.phase === 'run') {
      let done: number;
      if (protocol === 'ws') done = this.counter.push(READ_BUF, 0, n);
      else {
        this.tcpBytes += n;
        done = Math.floor(this.tcpBytes / size) - this.count;
      }
      reads++;
      if (done > 0) {
        this.count += done;
        total += done;
        if (running) {
          // Refill right away: keeps exactly `window` messages in flight per connection.
          this.socket.write(done === window ? batch : batch.subarray(0, done * frameLen));
          if (total >= stopAt) void finish();
        }
      }
      return true;
    }
    try {
      this.setup(Buffer.from(READ_BUF.subarray(0, n)));
    } catch (err) {
      this.rejectReady(err as Error);
    }
    return true;
  }

  /** Upgrade, then one probe message whose echo is checked byte for byte. */
  private setup(chunk: Buffer): void {
    if (this.phase === 'ready') throw new Error('unexpected data before the run started');
    let data: Buffer | null = chunk;
    if (this.phase === 'upgrade') {
      data = this.upgrade.feed(chunk);
      if (data === null) return;
      this.phase = 'probe';
      this.socket.write(frame);
    }
    this.probe = Buffer.concat([this.probe, data]);
    if (protocol === 'tcp') {
      if (this.probe.length < size) return;
      if (this.probe.length > size || !this.probe.equals(payload)) throw new Error('tcp probe: echo differs');
    } else {
      const msg = decodeMessage(this.probe);
      if (msg === null) return;
      if (msg.consumed !== this.probe.length) throw new Error('probe: unexpected bytes after the echo');
      if (msg.opcode !== opcode) throw new Error(`probe: echo has opcode ${msg.opcode}, sent ${opcode}`);
      if (!msg.payload.equals(payload)) throw new Error('probe: echoed payload differs');
    }
    this.phase = 'ready'; // nothing in flight until start()
    this.probe = Buffer.alloc(0);
    this.resolveReady();
  }
}

interface Sample {
  machine: CpuTimes | null;
  total: number;
  reads: number;
  atMs: number;
  cpu: NodeJS.CpuUsage;
  counts: number[];
  server: Promise<ServerStats | null>;
}

function sample(conns: readonly Conn[]): Sample {
  return {
    machine: readCpuTimes(),
    total,
    reads,
    atMs: performance.now(),
    cpu: process.cpuUsage(),
    counts: conns.map((c) => c.count),
    server: requestServerStats(false),
  };
}

let conns: Conn[] = [];
let first: Sample | null = null;
let finished = false;

async function finish(): Promise<void> {
  if (finished || first === null) return;
  finished = true;
  const last = sample(conns);
  running = false;
  const [s0, s1] = await Promise.all([first.server, last.server]);
  const elapsedMs = last.atMs - first.atMs;
  const messages = last.total - first.total;
  const msgsPerSec = messages / (elapsedMs / 1000);
  const cpuUs = last.cpu.user + last.cpu.system - first.cpu.user - first.cpu.system;
  const perConn = last.counts.map((c, i) => c - (first?.counts[i] ?? 0));
  let server: { cpu: number; sysShare: number; usPerMsg: number } | null = null;
  if (s0 && s1 && s1.nowMs > s0.nowMs) {
    const user = s1.cpuUserUs - s0.cpuUserUs;
    const sys = s1.cpuSystemUs - s0.cpuSystemUs;
    const cpu = (user + sys) / ((s1.nowMs - s0.nowMs) * 1000);
    server = { cpu, sysShare: sys / Math.max(1, user + sys), usPerMsg: (cpu * 1e6) / msgsPerSec };
  }
  const anomalies = conns.reduce(
    (a, c) => ({
      wrongLength: a.wrongLength + c.counter.wrongLength,
      maskedFrames: a.maskedFrames + c.counter.maskedFrames,
      closeFrames: a.closeFrames + (c.counter.closed ? 1 : 0),
      controlFrames: a.controlFrames + c.counter.controlFrames, // pings are allowed (and not answered)
    }),
    { wrongLength: 0, maskedFrames: 0, closeFrames: 0, controlFrames: 0 },
  );
  printResult({
    protocol,
    size,
    connections,
    window,
    opcode: opcode === OPCODE_TEXT ? 'text' : 'binary',
    messages,
    elapsedMs: Math.round(elapsedMs),
    msgsPerSec,
    payloadMBps: (msgsPerSec * size) / 1e6,
    clientCpu: cpuUs / (elapsedMs * 1000),
    msgsPerRead: messages / Math.max(1, last.reads - first.reads),
    machineCores: coresBusy(first.machine, last.machine),
    server,
    perConnMin: Math.min(...perConn),
    perConnMax: Math.max(...perConn),
    anomalies,
  });
  const bad = anomalies.wrongLength + anomalies.maskedFrames + anomalies.closeFrames;
  if (bad > 0) fatal(new Error(`protocol anomalies in server frames: ${JSON.stringify(anomalies)}`));
  process.exit(0);
}

try {
  conns = await mapLimit(connections, 100, async () => {
    const c = new Conn();
    const setupTimer = setTimeout(() => c.socket.destroy(new Error('setup timed out')), SETUP_TIMEOUT_MS);
    try {
      await c.ready;
    } finally {
      clearTimeout(setupTimer);
    }
    return c;
  });
} catch (err) {
  fatal(new Error(`setup failed: ${(err as Error).message}`));
}

running = true;
for (const c of conns) c.start();
await new Promise((resolve) => setTimeout(resolve, warmupMs));
first = sample(conns);
stopAt = total + maxMessages;
setTimeout(() => void finish(), durationMs);
