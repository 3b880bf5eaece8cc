// RPC benchmark: calls/s, p50/p99 latency and server CPU µs per call of a validated `add`
// (10 connections × 100 in flight by default) for Switchboard, tRPC 11, socket.io 4 and a thin
// hand-written JSON-RPC layer on ws (the baseline). Each run: fresh server process, 1–2 load
// processes, stop; contenders interleaved run by run; medians of the undisturbed runs, as ratios
// to the thin layer. With --before <dir>, Switchboard from another checkout runs too
// (switchboard-before, see before.ts), with after ÷ before ratios. Raw results:
// bench/results/rpc-<time>.json (gitignored).

import { flags, int, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say, summary } from '../lib/out.js';
import { enablePinning, runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import { DISTURBED_CORES, disturbed, medianOf, otherCores, usable } from '../lib/results.js';
import { saveRaw } from '../lib/save.js';
import { beforeOrExit } from './before.js';
import type { RpcContender } from './common.js';
import {
  afterBeforeBlock,
  BASELINE_ID,
  BEFORE_ID,
  CONTENDERS,
  expectSwitchboardFrom,
  MIDDLEWARE_CONTENDER,
  select,
  switchboardFrom,
} from './common.js';

const USAGE = `usage: tsx bench/rpc/run.ts [options]
  --only a,b          contenders (default all): ${[...CONTENDERS, MIDDLEWARE_CONTENDER].map((c) => c.id).join(', ')}
  --runs N            runs per contender, medians reported (default 3)
  --duration-ms N     measured time per run (default 5000)
  --warmup-ms N       unmeasured warm-up per run (default 1000)
  --connections N     client connections (default 10)
  --inflight N        calls in flight per connection (default 100)
  --load-procs 1|2    load generator processes, connections split between them (default 1)
  --from dist|src     where @switchboard/* are loaded from (default dist: build first)
  --before <dir>      also run ${BEFORE_ID}: switchboard with @switchboard/* from <dir>, another
                      checkout with its packages built; adds it to --only's list, prints after ÷ before
  --pin               servers on CPU 0, load generators on CPU 1 (taskset)`;

const o = parseOrHelp(
  {
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'duration-ms': { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '1000' },
    connections: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '100' },
    'load-procs': { type: 'string', default: '1' },
    from: { type: 'string', default: 'dist' },
    before: { type: 'string' },
    pin: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
const from = switchboardFrom(o.from);
const before = beforeOrExit(o.before, from);
const contenders = selectOrExit((list) => select(list, before, [MIDDLEWARE_CONTENDER]), o.only);
const runs = int('runs', o.runs, 1, 50);
const durationMs = int('duration-ms', o['duration-ms'], 100, 600_000);
const warmupMs = int('warmup-ms', o['warmup-ms'], 0, 60_000);
const connections = int('connections', o.connections, 1, 1000);
const inflight = int('inflight', o.inflight, 1, 10_000);
const loadProcs = int('load-procs', o['load-procs'], 1, 2);
if (o.pin) enablePinning();

interface LoadOut {
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  clientCpu: number;
  machineCores: number;
  server: { cpu: number; sysShare: number; usPerCall: number } | null;
}
/** One run, the load processes combined. */
interface RunResult extends LoadOut {
  procs: LoadOut[];
}

function combine(parts: LoadOut[]): RunResult {
  const callsPerSec = parts.reduce((s, p) => s + p.callsPerSec, 0);
  const srv = parts[0]?.server ?? null;
  return {
    callsPerSec,
    // Latency of the slowest process (processes see the same server; usually within a few %).
    p50Us: Math.max(...parts.map((p) => p.p50Us)),
    p99Us: Math.max(...parts.map((p) => p.p99Us)),
    clientCpu: parts.reduce((s, p) => s + p.clientCpu, 0),
    machineCores: parts[0]?.machineCores ?? Number.NaN,
    server: srv && { ...srv, usPerCall: (srv.cpu * 1e6) / callsPerSec },
    procs: parts,
  };
}

const harness = new Harness<RpcContender>({ onStart: expectSwitchboardFrom(from, before) });
const results = new Map<string, RunResult[]>();
const disturbedRuns: string[] = [];
const started = new Date();
say(`RPC benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${connections} connections × ${inflight} in flight, ` +
    `${loadProcs} load process(es); ${runs} run(s) of ${warmupMs} ms warm-up + ${durationMs} ms; switchboard from ${from}`,
);
if (before) say(`${BEFORE_ID}: @switchboard/* from ${before.dir} (${before.commit}), through ${before.tsconfigPath}`);
const labelWidth = Math.max(18, ...contenders.map((c) => c.label.length));
for (let run = 1; run <= runs; run++) {
  for (const c of contenders) {
    const r = await harness.withServer(c, 'rpc', true, async (server) => {
      const per = Math.ceil(connections / loadProcs);
      const parts = await Promise.all(
        Array.from({ length: loadProcs }, (_, i) => {
          const conns = Math.min(per, connections - i * per);
          const args = flags({
            contender: c.client,
            port: server.port,
            connections: conns,
            inflight,
            'warmup-ms': warmupMs,
            'duration-ms': durationMs,
          });
          return runClient<LoadOut>('rpc/load.ts', args, server, warmupMs + durationMs + 60_000, c.env);
        }),
      );
      return combine(parts);
    });
    if (!r) continue;
    results.set(c.id, [...(results.get(c.id) ?? []), r]);
    const others = otherCores(r);
    const dist = disturbed(r);
    if (dist) disturbedRuns.push(`${c.label} run ${run}: others used ${fmt.fixed(others, 2)} cores`);
    say(
      `  run ${run}/${runs}  ${c.label.padEnd(labelWidth)} ${fmt.int(r.callsPerSec).padStart(9)} calls/s  p50 ${fmt.int(r.p50Us)} µs  ` +
        `p99 ${fmt.int(r.p99Us)} µs  srv ${fmt.fixed(r.server?.usPerCall, 2)} µs/call, srv cpu ${fmt.pct(r.server?.cpu)}, ` +
        `load cpu ${fmt.pct(r.clientCpu)}, others ${fmt.fixed(others, 2)} cores${dist ? '  <-- DISTURBED' : ''}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
const med = (id: string, pick: (r: RunResult) => number | undefined): number => medianOf(results.get(id), pick);
const base = CONTENDERS.find((c) => c.id === BASELINE_ID);
const baseCalls = med(BASELINE_ID, (r) => r.callsPerSec);
const baseUs = med(BASELINE_ID, (r) => r.server?.usPerCall);
const ran = contenders.filter((c) => results.has(c.id));
const loadMark = (cpu: number): string => `${fmt.pct(cpu)}${cpu > 0.9 * loadProcs ? ' (!)' : ''}`;
const rows = ran.map((c) => {
  const all = results.get(c.id) ?? [];
  const clean = all.filter((r) => !disturbed(r)).length;
  return [
    c.label,
    fmt.int(med(c.id, (r) => r.callsPerSec)),
    fmt.spread(usable(all).map((r) => r.callsPerSec)),
    clean === all.length ? `${all.length}` : `${clean}/${all.length}`,
    fmt.int(med(c.id, (r) => r.p50Us)),
    fmt.int(med(c.id, (r) => r.p99Us)),
    fmt.fixed(
      med(c.id, (r) => r.server?.usPerCall),
      2,
    ),
    fmt.pct(med(c.id, (r) => r.server?.cpu)),
    loadMark(med(c.id, (r) => r.clientCpu)),
    fmt.ratio(
      med(c.id, (r) => r.callsPerSec),
      baseCalls,
    ),
    fmt.ratio(
      med(c.id, (r) => r.server?.usPerCall),
      baseUs,
    ),
  ];
});
say(
  `\n== RPC: medians of undisturbed runs (others > ${DISTURBED_CORES} cores = disturbed); ratios ÷ ${base?.label} ==`,
);
const header = ['server', 'calls/s', 'spread', 'runs', 'p50 µs', 'p99 µs', 'srv µs/call', 'srv CPU', 'load CPU'];
say(fmt.textTable([...header, 'calls/s ratio', 'µs/call ratio'], rows));
if (rows.some((r) => r[8]?.endsWith('(!)'))) {
  say('  (!) load generator(s) above 90% of a core each: that row measures the client, not the server');
}
// Switchboard after (this checkout) ÷ before (--before's checkout), medians.
const vs = (
  measure: string,
  pick: (r: RunResult) => number | undefined,
  digits: number,
  better: 'higher' | 'lower',
) => ({
  measure,
  after: med('switchboard', pick),
  before: med(BEFORE_ID, pick),
  digits,
  better,
});
const afterBefore = [
  vs('calls/s', (r) => r.callsPerSec, 0, 'higher'),
  vs('srv µs/call', (r) => r.server?.usPerCall, 2, 'lower'),
  vs('p50 µs', (r) => r.p50Us, 0, 'lower'),
  vs('p99 µs', (r) => r.p99Us, 0, 'lower'),
];
if (before) say(afterBeforeBlock(before, afterBefore, 'text').join('\n'));

const mdRows = contenders.map((c) => {
  if (!results.has(c.id)) return [c.label, 'not run', '', '', '', ''];
  const calls = med(c.id, (r) => r.callsPerSec);
  const us = med(c.id, (r) => r.server?.usPerCall);
  return [
    c.label,
    `${fmt.int(calls)} (${fmt.ratio(calls, baseCalls)})`,
    fmt.int(med(c.id, (r) => r.p50Us)),
    fmt.int(med(c.id, (r) => r.p99Us)),
    `${fmt.fixed(us, 2)} (${fmt.ratio(us, baseUs)})`,
    `${fmt.pct(med(c.id, (r) => r.server?.cpu))} / ${fmt.pct(med(c.id, (r) => r.clientCpu))}`,
  ];
});
say(
  summary([
    `RPC benchmark (\`tsx bench/rpc/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `Validated \`add\` ({a, b} → number, zod), ${connections} connections × ${inflight} calls in flight, server and`,
    `${loadProcs} load process(es) on 127.0.0.1; median of ${runs} × ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up;`,
    `Switchboard from ${from}. Ratios relative to ${base?.label}. srv µs/call = server process CPU ÷ calls.`,
    ...(disturbedRuns.length ? [`Warning: ${disturbedRuns.length} run(s) disturbed by other processes.`] : []),
    '',
    fmt.markdownTable(['server', 'calls/s', 'p50 µs', 'p99 µs', 'server µs/call', 'CPU server / load'], mdRows),
    ...afterBeforeBlock(before, afterBefore, 'markdown'),
  ]),
);
harness.reportFailures();
saveRaw('rpc', started, { machine: machine(), started, options: o, from, before, raw: harness.raw });
process.exit(harness.failed ? 1 : 0);
