// The server under test: one `ticks` channel with the policy in SLOW_POLICY (default maxQueued,
// default limits, in-memory broker; SLOW_HEARTBEAT=off turns the heartbeat off), on 127.0.0.1
// port 0. A control endpoint on its own port (announced as "control" in the ready line) lets the
// load process start the publisher and read memory:
//
//   POST /start?rate=N&durationMs=N&tickMs=N&sampleMs=N   starts publishing; answers at once
//   GET  /done                                            long-poll: the PublishReport once done
//   GET  /sample?gc=1                                     a reading now (after a forced GC)
//
// The publisher wakes every tickMs and publishes the messages due by then (rate per second,
// each stamped with its own publish time), for durationMs; memory and the channel's counters are
// sampled every sampleMs. Every loop is bounded in count and time.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, defineRouter } from '@switchboard/server';
import { die, HOST, serve } from '../echo/servers/common.js';
import { nowMs } from '../rpc/contract.js';
import { contract, PAD, POLICIES, type Policy, type PublishReport, type Sample, type SampleReply } from './common.js';

const policy = POLICIES.find((p) => p === process.env.SLOW_POLICY);
if (policy === undefined) die('slow-subscribers server', new Error(`SLOW_POLICY must be one of ${POLICIES}`));
const heartbeat = process.env.SLOW_HEARTBEAT !== 'off';

/** Longest run the control endpoint accepts. */
const MAX_DURATION_MS = 600_000;
/** Readings kept at most (the sample interval is raised to fit). */
const MAX_SAMPLES = 2_000;

const router = defineRouter(contract, {
  procedures: {},
  channels: { ticks: { delivery: { policy: policy as Policy } } },
});
const server = createServer({ router, ...(heartbeat ? {} : { heartbeat: false as const }) });

/** Kernel memory of the machine's TCP sockets: the bytes a stalled peer has not read live here. */
function tcpKernelBytes(): number {
  try {
    const match = /^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'latin1'));
    return match ? Number(match[1]) * 4096 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function sample(startedAt: number): Sample {
  const memory = process.memoryUsage();
  const metrics = server.metrics();
  const ticks = metrics.channels.ticks;
  return {
    atMs: Math.round(performance.now() - startedAt),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    arrayBuffersBytes: memory.arrayBuffers,
    tcpKernelBytes: tcpKernelBytes(),
    connections: metrics.connections,
    dropped: ticks?.dropped ?? 0,
    coalesced: ticks?.coalesced ?? 0,
    slowDisconnects: ticks?.slowDisconnects ?? 0,
    loopP99Ms: metrics.eventLoop.p99Ms,
  };
}

async function collectGarbage(): Promise<boolean> {
  const gc = globalThis.gc;
  if (gc === undefined) return false;
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Spec {
  rate: number;
  durationMs: number;
  tickMs: number;
  sampleMs: number;
}

async function publishFor(spec: Spec): Promise<PublishReport> {
  await collectGarbage();
  const startedAt = performance.now();
  const start = sample(startedAt);
  const samples: Sample[] = [];
  const sampleMs = Math.max(spec.sampleMs, Math.ceil(spec.durationMs / MAX_SAMPLES));
  const sampler = setInterval(() => samples.push(sample(startedAt)), sampleMs);
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const deadline = startedAt + spec.durationMs;
  const maxMessages = Math.ceil((spec.rate * spec.durationMs) / 1000);
  let seq = 0;
  let t1 = t0;
  let errors = 0;
  let maxTickLateMs = 0;
  const countError = () => {
    errors++;
  };
  for (let wokeAt = startedAt, due = startedAt; wokeAt < deadline; ) {
    maxTickLateMs = Math.max(maxTickLateMs, wokeAt - due);
    const upTo = Math.min(maxMessages, Math.floor(((wokeAt - startedAt) * spec.rate) / 1000) + 1);
    while (seq < upTo) {
      t1 = nowMs();
      server.publish('ticks', {}, { seq: ++seq, t: t1, pad: PAD }).catch(countError);
    }
    due = wokeAt + spec.tickMs;
    await sleep(spec.tickMs);
    wokeAt = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  samples.push(sample(startedAt));
  return {
    published: seq,
    t0,
    t1,
    cpuUs: cpu.user + cpu.system,
    maxTickLateMs,
    errors,
    start,
    samples,
  };
}

let running: Promise<PublishReport> | undefined;

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://control');
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const int = (name: string, min: number, max: number): number => {
    const value = Number(url.searchParams.get(name));
    return Number.isInteger(value) && value >= min && value <= max ? value : Number.NaN;
  };
  const route = `${req.method} ${url.pathname}`;
  if (route === 'POST /start') {
    const spec: Spec = {
      rate: int('rate', 1, 1_000_000),
      durationMs: int('durationMs', 1, MAX_DURATION_MS),
      tickMs: int('tickMs', 1, 1_000),
      sampleMs: int('sampleMs', 10, 60_000),
    };
    if (Object.values(spec).some(Number.isNaN)) reply(400, { error: 'bad rate, durationMs, tickMs or sampleMs' });
    else if (running !== undefined) reply(409, { error: 'already started' });
    else {
      running = publishFor(spec);
      reply(200, {});
    }
  } else if (route === 'GET /done') {
    if (running === undefined) reply(409, { error: 'not started' });
    else {
      running.then(
        (report) => reply(200, report),
        (err: unknown) => reply(500, { error: String(err) }),
      );
    }
  } else if (route === 'GET /sample') {
    const gc = url.searchParams.get('gc') === '1' ? collectGarbage() : Promise.resolve(false);
    void gc.then((gcForced) => reply(200, { ...sample(performance.now()), gcForced } satisfies SampleReply));
  } else {
    reply(404, {});
  }
}

try {
  const { port } = await server.listen({ port: 0, host: HOST });
  const controlServer = http.createServer(handle);
  await new Promise<void>((resolve) => controlServer.listen(0, HOST, resolve));
  controlServer.unref();
  const from = import.meta.resolve('@switchboard/server').includes('/dist/') ? 'dist' : 'src';
  serve(port, () => server.connections, {
    control: String((controlServer.address() as AddressInfo).port),
    from,
    policy: policy as Policy,
    heartbeat: heartbeat ? 'on' : 'off',
  });
} catch (err) {
  die('slow-subscribers server', err);
}
