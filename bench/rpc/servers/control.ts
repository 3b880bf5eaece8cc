// Control endpoint of the RPC/pub-sub benchmark servers: a small node:http server on its own port
// (announced as "control" in the ready line) that the fan-out clients use to start the publisher
// inside the server process. Idle unless asked. Every loop is bounded in count and time.
//
//   POST /ready?procs=N        a subscriber process is ready; publishing starts once N said so
//   GET  /phase?name=sat|rate  long-poll: resolves when that phase has published everything
//   POST /drained?phase=I      a subscriber process has received (or given up on) phase I
//
// Phases: 0 = saturation (publish as fast as the server can: SATURATION_BURST publishes back to
// back, then one event-loop turn for I/O), 1 = fixed rate (`rate` publishes/s, timer driven, each
// publish on its own turn).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOST } from '../../echo/servers/common.js';
import { nowMs } from '../contract.js';

// BENCH_CPU_PROF=<dir>: profile this server process (like node --cpu-prof, which Node 20 refuses in
// NODE_OPTIONS) and write <dir>/<pid>.cpuprofile on exit. The in-process inspector session
// answers synchronously, so this works inside an 'exit' handler.
const profDir = process.env.BENCH_CPU_PROF;

/** Publishes per event-loop turn at saturation: a feed that publishes what it has, then yields. */
const SATURATION_BURST = 10;
if (profDir) {
  const { Session } = await import('node:inspector');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(profDir, { recursive: true });
      writeFileSync(`${profDir}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}

export type Publish = (seq: number, t: number, phase: number) => void | Promise<void>;

export interface PhaseResult {
  phase: number;
  published: number;
  /** Epoch ms (nowMs) of the first and last publish. */
  t0: number;
  t1: number;
  /** Server CPU (user + system µs) between first and last publish. */
  cpuUs: number;
  /** Server CPU µs from the first publish until every subscriber process was drained. */
  cpuUsToDrained: number;
  msToDrained: number;
}

interface PhaseSpec {
  durationMs: number;
  /** Publishes per second; 0 = as fast as possible. */
  rate: number;
  maxMessages: number;
}

const PHASE_NAMES: Record<string, number> = { sat: 0, rate: 1 };

export async function startControl(publish: Publish): Promise<number> {
  let expectedProcs = Number.POSITIVE_INFINITY;
  let readyProcs = 0;
  let specs: PhaseSpec[] = [];
  const results: (PhaseResult | undefined)[] = [];
  const resultWaiters: ((r: PhaseResult) => void)[][] = [[], []];
  const drained: number[] = [0, 0];
  const drainWaiters: (() => void)[] = [];
  let cpuAtStart: NodeJS.CpuUsage | null = null;
  let tAtStart = 0;

  async function runPhase(phase: number, spec: PhaseSpec): Promise<void> {
    cpuAtStart = process.cpuUsage();
    const start = performance.now();
    const t0 = nowMs();
    let seq = 0;
    let t1 = t0;
    tAtStart = start;
    const deadline = start + spec.durationMs;
    while (seq < spec.maxMessages && performance.now() < deadline) {
      if (spec.rate > 0) {
        const due = start + (seq * 1000) / spec.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (performance.now() >= deadline) break;
      } else if (seq % SATURATION_BURST === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      t1 = nowMs();
      await publish(seq++, t1, phase);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    const result: PhaseResult = {
      phase,
      published: seq,
      t0,
      t1,
      cpuUs: cpu.user + cpu.system,
      cpuUsToDrained: Number.NaN,
      msToDrained: Number.NaN,
    };
    // Wait (bounded) for every subscriber process to drain, then report the CPU to that point too.
    results[phase] = result;
    for (const w of resultWaiters[phase] ?? []) w(result);
    const drainDeadline = Date.now() + 30_000;
    while ((drained[phase] ?? 0) < expectedProcs && Date.now() < drainDeadline) {
      await new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    const all = process.cpuUsage(cpuAtStart);
    result.cpuUsToDrained = all.user + all.system;
    result.msToDrained = performance.now() - tAtStart;
  }

  async function runAll(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the last subscribe replies flush
    for (const [phase, spec] of specs.entries()) await runPhase(phase, spec);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = (name: string, fallback: number): number => {
      const v = Number(url.searchParams.get(name));
      return url.searchParams.has(name) && Number.isFinite(v) ? v : fallback;
    };
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/ready') {
      expectedProcs = q('procs', 1);
      const durationMs = q('durationMs', 3000);
      specs = [
        { durationMs, rate: 0, maxMessages: q('maxMessages', 100_000) },
        { durationMs, rate: q('rate', 20), maxMessages: q('maxMessages', 100_000) },
      ];
      readyProcs++;
      if (readyProcs === expectedProcs) void runAll();
      reply(200, { readyProcs });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/phase') {
      const phase = PHASE_NAMES[url.searchParams.get('name') ?? ''] ?? -1;
      if (phase < 0) return reply(400, { error: 'unknown phase' });
      const done = results[phase];
      if (done) return reply(200, done);
      resultWaiters[phase]?.push((r) => reply(200, r));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/drained') {
      const phase = q('phase', -1);
      if (phase !== 0 && phase !== 1) return reply(400, { error: 'unknown phase' });
      drained[phase] = (drained[phase] ?? 0) + 1;
      for (const w of drainWaiters.splice(0)) w();
      return reply(200, {});
    }
    if (req.method === 'GET' && url.pathname === '/result') {
      const phase = q('phase', -1);
      const r = results[phase];
      // Complete once the drain wait is over (cpuUsToDrained set).
      if (r && Number.isFinite(r.cpuUsToDrained)) return reply(200, r);
      return reply(202, {});
    }
    reply(404, {});
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  server.unref();
  return (server.address() as AddressInfo).port;
}
