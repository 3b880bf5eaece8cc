// Slow-subscriber benchmark: a Switchboard server (in-memory broker, one channel of ~200-byte
// messages, the delivery policy under test, default maxQueued and limits) publishes --rate
// messages/s for --duration-ms to --healthy subscribers that read everything and --stalled ones
// that subscribe and then stop reading (raw TCP, socket.pause()), from one load process. For a
// baseline without stalled subscribers and for each policy (queue, drop-oldest, latest): the
// server's RSS / heap / Buffer memory at the start, peak and end, the kernel's TCP memory, the
// healthy subscribers' deliveries/s and publish→receive latency, and the channel's dropped /
// coalesced / slowDisconnects counters. Raw: bench/results/slow-subscribers-<time>.json.

import { flags, int, oneOf, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say, summary } from '../lib/out.js';
import { enablePinning, runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import { DISTURBED_CORES, disturbed } from '../lib/results.js';
import { saveRaw } from '../lib/save.js';
import { switchboardFrom } from '../rpc/common.js';
import {
  MESSAGE_BYTES,
  type PublishReport,
  type Sample,
  type SampleReply,
  type Scenario,
  scenarios,
} from './common.js';

const ALL = scenarios(true).map((s) => s.id);
const USAGE = `usage: tsx bench/slow-subscribers/run.ts [options]
  --only a,b          scenarios (default all): ${ALL.join(', ')}
  --runs N            runs per scenario, medians reported (default 1)
  --healthy N         subscribers that read everything (default 900)
  --stalled N         subscribers that stop reading once subscribed (default 100; 0 in the baseline)
  --rate N            messages published per second (default 300)
  --duration-ms N     publishing time per run (default 150000)
  --tick-ms N         the publisher publishes what is due every N ms (default 10)
  --sample-ms N       server memory and counters are read every N ms (default 250)
  --heartbeat on|off  the server's heartbeat (default off: see docs/benchmarks.md)
  --from dist|src     where @switchboard/* are loaded from (default dist)
  --pin               server on CPU 0, load process on CPU 1`;
const o = parseOrHelp(
  {
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    healthy: { type: 'string', default: '900' },
    stalled: { type: 'string', default: '100' },
    rate: { type: 'string', default: '300' },
    'duration-ms': { type: 'string', default: '150000' },
    'tick-ms': { type: 'string', default: '10' },
    'sample-ms': { type: 'string', default: '250' },
    heartbeat: { type: 'string', default: 'off' },
    from: { type: 'string', default: 'dist' },
    pin: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
const heartbeat = oneOf('heartbeat', o.heartbeat, ['on', 'off'] as const) === 'on';
const selected = selectOrExit((list) => {
  const all = scenarios(heartbeat);
  if (list === undefined || list.trim() === '') return all;
  const wanted = list.split(',').map((s) => s.trim());
  for (const id of wanted)
    if (!ALL.includes(id)) throw new Error(`unknown scenario ${JSON.stringify(id)} (known: ${ALL})`);
  return all.filter((s) => wanted.includes(s.id));
}, o.only);
const runs = int('runs', o.runs, 1, 20);
const healthyCount = int('healthy', o.healthy, 1, 10_000);
const stalledCount = int('stalled', o.stalled, 0, 10_000);
const rate = int('rate', o.rate, 1, 100_000);
const durationMs = int('duration-ms', o['duration-ms'], 1000, 600_000);
const tickMs = int('tick-ms', o['tick-ms'], 1, 1000);
const sampleMs = int('sample-ms', o['sample-ms'], 10, 60_000);
const from = switchboardFrom(o.from);
if (o.pin) enablePinning();

/** What load.ts prints (the fields used here). */
interface LoadOut {
  healthy: {
    peers: number;
    expected: number;
    delivered: number;
    perSec: number;
    missing: number;
    outOfOrder: number;
    gaps: number;
    unexpected: number;
    firstUnexpected?: string;
    closed: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
  };
  stalled: {
    peers: number;
    closeCodes: Record<string, number>;
    messages: number;
    missing: number;
    outOfOrder: number;
    toldDropped: number;
    unexpected: number;
    firstUnexpected?: string;
    bytesRead: number;
  };
  server: PublishReport;
  afterGc: SampleReply;
  connectionsAtEnd: number;
  clientCpu: number;
  machineCores: number;
}

/** One run, reduced to what the tables show. */
interface RunResult {
  start: Sample;
  peak: { rssBytes: number; heapUsedBytes: number; arrayBuffersBytes: number; tcpKernelBytes: number };
  end: Sample;
  afterGc: SampleReply;
  /** Seconds after the first publish when the first message was dropped / coalesced / a subscriber cut. */
  engagedAtS: number;
  /** Stalled connections the server closed: by the policy (slowDisconnects), otherwise (heartbeat). */
  closedByPolicy: number;
  closedOtherwise: number;
  load: LoadOut;
  /** For `disturbed()`. */
  machineCores: number;
  clientCpu: number;
  server: { cpu: number };
  maxLoopP99Ms: number;
}

function reduce(out: LoadOut, stalledPeers: number): RunResult {
  const { server } = out;
  const all = [server.start, ...server.samples];
  const end = server.samples.at(-1) ?? server.start;
  const max = (pick: (s: Sample) => number): number => Math.max(...all.map(pick).filter(Number.isFinite));
  const engaged = server.samples.find((s) => s.dropped + s.coalesced + s.slowDisconnects > 0);
  const closed = healthyCount + stalledPeers - out.connectionsAtEnd - out.healthy.closed;
  return {
    start: server.start,
    peak: {
      rssBytes: max((s) => s.rssBytes),
      heapUsedBytes: max((s) => s.heapUsedBytes),
      arrayBuffersBytes: max((s) => s.arrayBuffersBytes),
      tcpKernelBytes: max((s) => s.tcpKernelBytes),
    },
    end,
    afterGc: out.afterGc,
    engagedAtS: engaged === undefined ? Number.NaN : engaged.atMs / 1000,
    closedByPolicy: end.slowDisconnects,
    closedOtherwise: closed - end.slowDisconnects,
    load: out,
    machineCores: out.machineCores,
    clientCpu: out.clientCpu,
    server: { cpu: server.cpuUs / ((server.t1 - server.t0) * 1000) },
    maxLoopP99Ms: max((s) => s.loopP99Ms),
  };
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => fmt.fixed(bytes / MB, 1);
const ms = (n: number): string => fmt.fixed(n, n < 10 ? 2 : 1);

const harness = new Harness<Scenario>();
const results = new Map<string, RunResult[]>();
const warnings: string[] = [];
const started = new Date();
say(`Slow-subscriber benchmark — ${machine()}`);
say(
  `${fmt.int(healthyCount)} healthy + ${fmt.int(stalledCount)} stalled subscribers (baseline: none stalled); ` +
    `${fmt.int(rate)} messages/s of ${MESSAGE_BYTES} B for ${durationMs / 1000} s (publishing every ${tickMs} ms); ` +
    `heartbeat ${heartbeat ? 'on (the library default)' : 'off'}; ${runs} run(s); switchboard from ${from}`,
);
for (let run = 1; run <= runs; run++) {
  for (const s of selected) {
    const stalledPeers = s.stalled ? stalledCount : 0;
    const r = await harness.withServer(s, 'slow-subscribers', true, async (server) => {
      const controlPort = Number(server.info.control);
      if (!Number.isInteger(controlPort)) throw new Error('server did not announce its control port');
      const out = await runClient<LoadOut>(
        'slow-subscribers/load.ts',
        flags({
          port: server.port,
          control: controlPort,
          healthy: healthyCount,
          stalled: stalledPeers,
          rate,
          'duration-ms': durationMs,
          'tick-ms': tickMs,
          'sample-ms': sampleMs,
        }),
        server,
        durationMs + 240_000,
      );
      return reduce(out, stalledPeers);
    });
    if (!r) continue;
    results.set(s.id, [...(results.get(s.id) ?? []), r]);
    const h = r.load.healthy;
    const problems = [
      h.closed && `${h.closed} healthy subscribers closed`,
      h.expected - h.delivered && `${fmt.int(h.expected - h.delivered)} messages not delivered to healthy subscribers`,
      h.outOfOrder && `${h.outOfOrder} out of order`,
      h.unexpected && `${h.unexpected} unexpected envelopes (${h.firstUnexpected})`,
      r.load.stalled.outOfOrder && `${r.load.stalled.outOfOrder} out of order at stalled subscribers`,
      r.load.stalled.unexpected &&
        `stalled: ${r.load.stalled.unexpected} unexpected (${r.load.stalled.firstUnexpected})`,
      r.load.server.errors && `${r.load.server.errors} publishes failed`,
      disturbed(r) && 'DISTURBED by other processes',
    ].filter((p): p is string => typeof p === 'string');
    for (const p of problems) warnings.push(`${s.label} run ${run}: ${p}`);
    say(
      `  run ${run}/${runs}  ${s.label.padEnd(18)} RSS ${mb(r.start.rssBytes)} → peak ${mb(r.peak.rssBytes)} → ${mb(r.end.rssBytes)} MB, ` +
        `heap ${mb(r.start.heapUsedBytes)} → ${mb(r.peak.heapUsedBytes)} → ${mb(r.end.heapUsedBytes)} MB; ` +
        `${fmt.int(h.perSec)} deliveries/s, p50 ${ms(h.p50Ms)} / p99 ${ms(h.p99Ms)} ms; ` +
        `dropped ${fmt.int(r.end.dropped)}, coalesced ${fmt.int(r.end.coalesced)}, slowDisconnects ${r.end.slowDisconnects}` +
        `${problems.length ? `  <-- ${problems.join('; ')}` : ''}`,
    );
  }
}

/** Median over the runs of a scenario. */
const med = (id: string, pick: (r: RunResult) => number): number => fmt.median((results.get(id) ?? []).map(pick));
const ran = selected.filter((s) => results.has(s.id));
const engagedCell = (id: string): string => {
  const at = med(id, (r) => r.engagedAtS);
  return Number.isFinite(at) ? `${fmt.fixed(at, 1)} s` : 'never';
};
const memoryHeader = [
  'scenario',
  'RSS start',
  'RSS peak',
  'RSS end',
  'RSS after GC',
  'heap start',
  'heap peak',
  'heap after GC',
  'Buffers peak',
  'kernel TCP peak',
];
const memoryRows = ran.map((s) => [
  s.label,
  mb(med(s.id, (r) => r.start.rssBytes)),
  mb(med(s.id, (r) => r.peak.rssBytes)),
  mb(med(s.id, (r) => r.end.rssBytes)),
  mb(med(s.id, (r) => r.afterGc.rssBytes)),
  mb(med(s.id, (r) => r.start.heapUsedBytes)),
  mb(med(s.id, (r) => r.peak.heapUsedBytes)),
  mb(med(s.id, (r) => r.afterGc.heapUsedBytes)),
  mb(med(s.id, (r) => r.peak.arrayBuffersBytes)),
  mb(med(s.id, (r) => r.peak.tcpKernelBytes)),
]);
const deliveryHeader = [
  'scenario',
  'deliveries/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'max ms',
  'dropped',
  'coalesced',
  'slowDisconnects',
  'stalled cut: policy / other',
  'engaged at',
  'srv CPU',
  'load CPU',
];
const deliveryRows = ran.map((s) => [
  s.label,
  fmt.int(med(s.id, (r) => r.load.healthy.perSec)),
  ms(med(s.id, (r) => r.load.healthy.p50Ms)),
  ms(med(s.id, (r) => r.load.healthy.p99Ms)),
  ms(med(s.id, (r) => r.load.healthy.p999Ms)),
  ms(med(s.id, (r) => r.load.healthy.maxMs)),
  fmt.int(med(s.id, (r) => r.end.dropped)),
  fmt.int(med(s.id, (r) => r.end.coalesced)),
  fmt.int(med(s.id, (r) => r.end.slowDisconnects)),
  `${fmt.int(med(s.id, (r) => r.closedByPolicy))} / ${fmt.int(med(s.id, (r) => r.closedOtherwise))}`,
  engagedCell(s.id),
  fmt.pct(med(s.id, (r) => r.server.cpu)),
  fmt.pct(med(s.id, (r) => r.clientCpu)),
]);
const stalledHeader = ['scenario', 'msgs read per stalled', 'told dropped', 'missing', 'close codes'];
const stalledRows = ran
  .filter((s) => s.stalled && stalledCount > 0)
  .map((s) => [
    s.label,
    fmt.int(med(s.id, (r) => r.load.stalled.messages / stalledCount)),
    fmt.int(med(s.id, (r) => r.load.stalled.toldDropped / stalledCount)),
    fmt.int(med(s.id, (r) => r.load.stalled.missing / stalledCount)),
    Object.entries(results.get(s.id)?.at(-1)?.load.stalled.closeCodes ?? {})
      .map(([code, n]) => `${code}: ${n}`)
      .join(', '),
  ]);

say(`\n== Server memory, MB (medians of ${runs} run(s); Buffers = process.memoryUsage().arrayBuffers) ==`);
say(fmt.textTable(memoryHeader, memoryRows));
say('  (kernel TCP = /proc/net/sockstat, every TCP socket of the machine: not in RSS)');
say(`\n== Healthy subscribers and the channel's counters ==`);
say(fmt.textTable(deliveryHeader, deliveryRows));
say(
  `  (p50/p99 over every message to every healthy subscriber; "other" = closed without slowDisconnects, e.g. heartbeat;` +
    ` srv CPU 100% = one core; disturbed = others > ${DISTURBED_CORES} cores)`,
);
if (stalledRows.length > 0) {
  say('\n== What each stalled subscriber read once it resumed, at the end (averages) ==');
  say(fmt.textTable(stalledHeader, stalledRows));
}
say(`\n== Timeline of the last run of each scenario (server readings; MB and counts) ==`);
for (const s of ran) {
  const last = results.get(s.id)?.at(-1);
  if (last === undefined) continue;
  const stepMs = Math.max(1000, Math.round(durationMs / 10 / 1000) * 1000);
  // The start, then the first reading of every step, then the end.
  const picked = [last.start];
  for (const sample of last.load.server.samples) {
    if (sample.atMs >= picked.length * stepMs || sample === last.load.server.samples.at(-1)) picked.push(sample);
  }
  const rows = picked.map((sample) => [
    `${fmt.fixed(Math.max(0, sample.atMs) / 1000, 1)} s`,
    mb(sample.rssBytes),
    mb(sample.heapUsedBytes),
    mb(sample.arrayBuffersBytes),
    mb(sample.tcpKernelBytes),
    fmt.int(sample.connections),
    fmt.int(sample.dropped),
    fmt.int(sample.coalesced),
    fmt.int(sample.slowDisconnects),
  ]);
  say(`  ${s.label}:`);
  say(
    fmt.textTable(
      ['at', 'RSS', 'heap', 'Buffers', 'kernel TCP', 'connections', 'dropped', 'coalesced', 'slowDisconnects'],
      rows,
    ),
  );
}
for (const w of warnings) say(`  !! ${w}`);
say(
  summary([
    `Slow-subscriber benchmark (\`tsx bench/slow-subscribers/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `${fmt.int(healthyCount)} healthy + ${fmt.int(stalledCount)} stalled subscribers (raw sockets, one load process) on one channel;`,
    `${fmt.int(rate)} messages/s of ${MESSAGE_BYTES} B for ${durationMs / 1000} s; default maxQueued and limits; heartbeat ${heartbeat ? 'on' : 'off'};`,
    `median of ${runs} run(s); Switchboard from ${from}.`,
    ...(warnings.length ? [`Warnings: ${warnings.join('; ')}`] : []),
    '',
    fmt.markdownTable(
      [
        'scenario',
        'RSS MB start / peak / end',
        'heap MB start / peak / after GC',
        'kernel TCP MB peak',
        'deliveries/s',
        'p50 / p99 ms',
        'dropped',
        'coalesced',
        'slowDisconnects',
        'engaged at',
      ],
      ran.map((s) => [
        s.label,
        `${mb(med(s.id, (r) => r.start.rssBytes))} / ${mb(med(s.id, (r) => r.peak.rssBytes))} / ${mb(med(s.id, (r) => r.end.rssBytes))}`,
        `${mb(med(s.id, (r) => r.start.heapUsedBytes))} / ${mb(med(s.id, (r) => r.peak.heapUsedBytes))} / ${mb(med(s.id, (r) => r.afterGc.heapUsedBytes))}`,
        mb(med(s.id, (r) => r.peak.tcpKernelBytes)),
        fmt.int(med(s.id, (r) => r.load.healthy.perSec)),
        `${ms(med(s.id, (r) => r.load.healthy.p50Ms))} / ${ms(med(s.id, (r) => r.load.healthy.p99Ms))}`,
        fmt.int(med(s.id, (r) => r.end.dropped)),
        fmt.int(med(s.id, (r) => r.end.coalesced)),
        fmt.int(med(s.id, (r) => r.end.slowDisconnects)),
        engagedCell(s.id),
      ]),
    ),
  ]),
);
harness.reportFailures();
saveRaw('slow-subscribers', started, {
  machine: machine(),
  started,
  options: o,
  from,
  raw: Object.fromEntries(results),
});
process.exit(harness.failed ? 1 : 0);
