// Fan-out benchmark: 1 publisher inside the server process → --subscribers connections on one
// channel, in --procs subscriber processes (raw sockets). Phase "saturation": the server publishes
// one message per event-loop turn for --duration-ms; phase "fixed rate": --rate publishes/s.
// Reports delivered messages/s (first publish → last delivery), publish→receive latency, server
// CPU per delivery, for Switchboard (server.publish), the thin ws layer (loop over sockets),
// socket.io (io.to(room).emit) and tRPC (EventEmitter-backed subscription). Ratios ÷ thin ws.
// With --before <dir>, Switchboard from another checkout runs too (switchboard-before, see
// bench/rpc/before.ts), with after ÷ before ratios.

import { flags, int, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say, summary } from '../lib/out.js';
import { enablePinning, runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import { DISTURBED_CORES, disturbed, medianOf, usable } from '../lib/results.js';
import { saveRaw } from '../lib/save.js';
import { beforeOrExit } from '../rpc/before.js';
import type { RpcContender } from '../rpc/common.js';
import {
  afterBeforeBlock,
  BASELINE_ID,
  BEFORE_ID,
  CONTENDERS,
  expectSwitchboardFrom,
  select,
  switchboardFrom,
} from '../rpc/common.js';
import type { PhaseResult } from '../rpc/servers/control.js';

const USAGE = `usage: tsx bench/fanout/run.ts [options]
  --only a,b          contenders (default all): ${CONTENDERS.map((c) => c.id).join(', ')}
  --runs N            runs per contender, medians reported (default 3)
  --duration-ms N     publishing time per phase (default 3000)
  --subscribers N     subscriber connections in all (default 2000)
  --procs 1|2         subscriber processes (default 2)
  --rate N            publishes/s in the fixed-rate phase (default 20, i.e. 40k deliveries/s at 2000)
  --from dist|src     where @switchboard/* are loaded from (default dist)
  --before <dir>      also run ${BEFORE_ID}: switchboard with @switchboard/* from <dir>, another
                      checkout with its packages built; adds it to --only's list, prints after ÷ before
  --pin               servers on CPU 0, subscriber processes on CPU 1`;
const o = parseOrHelp(
  {
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'duration-ms': { type: 'string', default: '3000' },
    subscribers: { type: 'string', default: '2000' },
    procs: { type: 'string', default: '2' },
    rate: { type: 'string', default: '20' },
    from: { type: 'string', default: 'dist' },
    before: { type: 'string' },
    pin: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
const from = switchboardFrom(o.from);
const before = beforeOrExit(o.before, from);
const contenders = selectOrExit((list) => select(list, before), o.only);
const runs = int('runs', o.runs, 1, 50);
const durationMs = int('duration-ms', o['duration-ms'], 100, 120_000);
const subscribers = int('subscribers', o.subscribers, 1, 19_000);
const procs = int('procs', o.procs, 1, 2);
const rate = int('rate', o.rate, 1, 100_000);
if (o.pin) enablePinning();

interface ProcPhase {
  phase: string;
  published: number;
  expected: number;
  delivered: number;
  lost: number;
  t0: number;
  lastAt: number;
  p50Ms: number;
  p99Ms: number;
  clientCpu: number;
  machineCores: number;
}
interface ProcOut {
  phases: ProcPhase[];
  server: PhaseResult[];
  unexpected: number;
  closedEarly: number;
}
interface PhaseRun {
  perSec: number;
  published: number;
  delivered: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  clientCpu: number;
  machineCores: number;
  server: { cpu: number; usPerDelivery: number } | null;
}

function combine(parts: ProcOut[], index: number): PhaseRun {
  const ph = parts.map((p) => p.phases[index] as ProcPhase);
  const delivered = ph.reduce((s, p) => s + p.delivered, 0);
  const t0 = ph[0]?.t0 ?? 0;
  const end = Math.max(...ph.map((p) => p.lastAt));
  const srv = parts.find((p) => p.server.length === 2)?.server[index];
  return {
    perSec: delivered / ((end - t0) / 1000),
    published: ph[0]?.published ?? 0,
    delivered,
    lost: ph.reduce((s, p) => s + p.lost, 0),
    p50Ms: Math.max(...ph.map((p) => p.p50Ms)),
    p99Ms: Math.max(...ph.map((p) => p.p99Ms)),
    clientCpu: ph.reduce((s, p) => s + p.clientCpu, 0),
    machineCores: ph[0]?.machineCores ?? Number.NaN,
    server: srv
      ? {
          cpu: srv.cpuUsToDrained / (srv.msToDrained * 1000),
          usPerDelivery: srv.cpuUsToDrained / Math.max(1, delivered),
        }
      : null,
  };
}

const harness = new Harness<RpcContender>({ onStart: expectSwitchboardFrom(from, before) });
const results = new Map<string, { sat: PhaseRun; rate: PhaseRun }[]>();
const disturbedRuns: string[] = [];
const started = new Date();
say(`Fan-out benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${fmt.int(subscribers)} subscribers in ${procs} process(es); ` +
    `${runs} run(s) of ${durationMs} ms saturation + ${durationMs} ms at ${rate} publishes/s; switchboard from ${from}`,
);
if (before) say(`${BEFORE_ID}: @switchboard/* from ${before.dir} (${before.commit}), through ${before.tsconfigPath}`);
const labelWidth = Math.max(18, ...contenders.map((c) => c.label.length));
const line = (r: PhaseRun): string =>
  `${fmt.int(r.perSec).padStart(9)} deliveries/s  p50 ${fmt.fixed(r.p50Ms, 1)} ms  p99 ${fmt.fixed(r.p99Ms, 1)} ms  ` +
  `srv ${fmt.fixed(r.server?.usPerDelivery, 2)} µs/delivery, srv cpu ${fmt.pct(r.server?.cpu)}, subs cpu ${fmt.pct(r.clientCpu)}` +
  `${r.lost ? `, LOST ${fmt.int(r.lost)}` : ''}${disturbed(r) ? '  <-- DISTURBED' : ''}`;
for (let run = 1; run <= runs; run++) {
  for (const c of contenders) {
    const r = await harness.withServer(c, 'fanout', true, async (server) => {
      const controlPort = Number(server.info.control);
      if (!Number.isInteger(controlPort)) throw new Error('server did not announce its control port');
      const per = Math.ceil(subscribers / procs);
      const parts = await Promise.all(
        Array.from({ length: procs }, (_, i) =>
          runClient<ProcOut>(
            'fanout/subscribers.ts',
            flags({
              contender: c.client,
              port: server.port,
              control: controlPort,
              subscribers: Math.min(per, subscribers - i * per),
              procs,
              'duration-ms': durationMs,
              rate,
            }),
            server,
            120_000 + 2 * durationMs,
            c.env,
          ),
        ),
      );
      for (const p of parts) {
        if (p.closedEarly > 0) throw new Error(`${p.closedEarly} subscriber connections were closed by the server`);
      }
      return { sat: combine(parts, 0), rate: combine(parts, 1) };
    });
    if (!r) continue;
    results.set(c.id, [...(results.get(c.id) ?? []), r]);
    if (disturbed(r.sat)) disturbedRuns.push(`${c.label} run ${run}`);
    const prefix = `  run ${run}/${runs}  ${c.label.padEnd(labelWidth)}`;
    say(`${prefix} saturation ${line(r.sat)}`);
    say(`${''.padEnd(prefix.length)} fixed rate ${line(r.rate)}`);
  }
}

const med = (id: string, which: 'sat' | 'rate', pick: (r: PhaseRun) => number | undefined): number =>
  medianOf(
    (results.get(id) ?? []).map((x) => x[which]),
    pick,
  );
const base = CONTENDERS.find((c) => c.id === BASELINE_ID);
const baseSat = med(BASELINE_ID, 'sat', (r) => r.perSec);
const socketioSat = med('socketio', 'sat', (r) => r.perSec);
const ran = contenders.filter((c) => results.has(c.id));
const rows = ran.map((c) => {
  const all = (results.get(c.id) ?? []).map((x) => x.sat);
  const clean = all.filter((r) => !disturbed(r)).length;
  return [
    c.label,
    fmt.int(med(c.id, 'sat', (r) => r.perSec)),
    fmt.spread(usable(all).map((r) => r.perSec)),
    clean === all.length ? `${all.length}` : `${clean}/${all.length}`,
    fmt.fixed(
      med(c.id, 'sat', (r) => r.p50Ms),
      1,
    ),
    fmt.fixed(
      med(c.id, 'sat', (r) => r.p99Ms),
      1,
    ),
    fmt.fixed(
      med(c.id, 'sat', (r) => r.server?.usPerDelivery),
      2,
    ),
    fmt.pct(med(c.id, 'sat', (r) => r.server?.cpu)),
    fmt.pct(med(c.id, 'sat', (r) => r.clientCpu)),
    fmt.int(med(c.id, 'rate', (r) => r.perSec)),
    fmt.fixed(
      med(c.id, 'rate', (r) => r.p50Ms),
      2,
    ),
    fmt.fixed(
      med(c.id, 'rate', (r) => r.p99Ms),
      2,
    ),
    fmt.ratio(
      med(c.id, 'sat', (r) => r.perSec),
      baseSat,
    ),
    fmt.ratio(
      med(c.id, 'sat', (r) => r.perSec),
      socketioSat,
    ),
  ];
});
say(`\n== Fan-out: medians of undisturbed runs (others > ${DISTURBED_CORES} cores = disturbed) ==`);
say(
  fmt.textTable(
    [
      'server',
      'sat deliv/s',
      'spread',
      'runs',
      'sat p50 ms',
      'sat p99 ms',
      'srv µs/deliv',
      'srv CPU',
      'subs CPU',
      `${rate}/s deliv/s`,
      'p50 ms',
      'p99 ms',
      `÷ ${base?.label}`,
      '÷ socket.io',
    ],
    rows,
  ),
);
say(`  (subs CPU = all subscriber processes together; ${procs} process(es) = up to ${procs * 100}%)`);
// Switchboard after (this checkout) ÷ before (--before's checkout), medians.
const vs = (
  measure: string,
  which: 'sat' | 'rate',
  pick: (r: PhaseRun) => number | undefined,
  digits: number,
  better: 'higher' | 'lower',
) => ({ measure, after: med('switchboard', which, pick), before: med(BEFORE_ID, which, pick), digits, better });
const afterBefore = [
  vs('sat deliveries/s', 'sat', (r) => r.perSec, 0, 'higher'),
  vs('srv µs/delivery', 'sat', (r) => r.server?.usPerDelivery, 2, 'lower'),
  vs('sat p99 ms', 'sat', (r) => r.p99Ms, 1, 'lower'),
  vs(`${rate}/s p99 ms`, 'rate', (r) => r.p99Ms, 2, 'lower'),
];
if (before) say(afterBeforeBlock(before, afterBefore, 'text').join('\n'));
const md = contenders.map((c) => {
  if (!results.has(c.id)) return [c.label, 'not run', '', '', '', '', ''];
  const sat = med(c.id, 'sat', (r) => r.perSec);
  return [
    c.label,
    `${fmt.int(sat)} (${fmt.ratio(sat, baseSat)})`,
    `${fmt.fixed(
      med(c.id, 'sat', (r) => r.p50Ms),
      1,
    )} / ${fmt.fixed(
      med(c.id, 'sat', (r) => r.p99Ms),
      1,
    )}`,
    fmt.fixed(
      med(c.id, 'sat', (r) => r.server?.usPerDelivery),
      2,
    ),
    `${fmt.fixed(
      med(c.id, 'rate', (r) => r.p50Ms),
      2,
    )} / ${fmt.fixed(
      med(c.id, 'rate', (r) => r.p99Ms),
      2,
    )}`,
    `${fmt.pct(med(c.id, 'sat', (r) => r.server?.cpu))} / ${fmt.pct(med(c.id, 'sat', (r) => r.clientCpu))}`,
  ];
});
say(
  summary([
    `Fan-out benchmark (\`tsx bench/fanout/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `1 publisher inside the server process → ${fmt.int(subscribers)} subscriber connections on one channel, subscribers`,
    `in ${procs} process(es) on 127.0.0.1 (raw sockets). Saturation: 10 publishes per event-loop turn for ${durationMs / 1000} s,`,
    `deliveries/s from first publish to last delivery; fixed rate: ${rate} publishes/s (${fmt.int(rate * subscribers)} deliveries/s).`,
    `Median of ${runs} run(s); Switchboard from ${from}. Ratio relative to ${base?.label}.`,
    ...(disturbedRuns.length ? [`Warning: ${disturbedRuns.length} run(s) disturbed by other processes.`] : []),
    '',
    fmt.markdownTable(
      [
        'server',
        'deliveries/s (saturation)',
        'latency p50 / p99 ms (saturation)',
        'server µs/delivery',
        `latency p50 / p99 ms at ${rate}/s`,
        'CPU server / subscribers',
      ],
      md,
    ),
    ...afterBeforeBlock(before, afterBefore, 'markdown'),
  ]),
);
harness.reportFailures();
saveRaw('fanout', started, { machine: machine(), started, options: o, from, before, raw: harness.raw });
process.exit(harness.failed ? 1 : 0);
