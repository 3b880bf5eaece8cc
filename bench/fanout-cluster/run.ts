// Cluster fan-out benchmark: --nodes server processes (2 and 3 by default) on one Redis,
// --subscribers raw connections in all, spread evenly over the nodes (one subscriber process per
// node). The publisher runs inside node 0; every message must reach every subscriber on every
// node through Redis. Phases as in bench/fanout (saturation, then --rate publishes/s). Reports
// delivered messages/s (first publish → last delivery, all nodes) and publish→receive latency
// for Switchboard (@switchboard/redis) and socket.io 4 with @socket.io/redis-adapter (its
// default createAdapter; `socketio-sharded` = createShardedAdapter), ratios ÷ socket.io.
//
// Reuses bench/fanout's subscriber processes (bench/fanout/subscribers.ts, raw sockets) and the
// control endpoint (bench/rpc/servers/control.ts), and bench/lib for processes and output.
// Starts its own redis-server (packages/tests/support/redis-server.ts).

import { RedisServer, redisServerAvailable } from '../../packages/tests/support/redis-server.js';
import { flags, int, parseOrHelp } from '../lib/args.js';
import { loud, machine, say, summary } from '../lib/out.js';
import { runClient, ServerProcess } from '../lib/proc.js';
import { waitForQuiet } from '../lib/quiet.js';
import * as fmt from '../lib/report.js';
import { saveRaw } from '../lib/save.js';
import { switchboardFrom } from '../rpc/common.js';
import type { PhaseResult } from '../rpc/servers/control.js';

interface ClusterContender {
  id: string;
  label: string;
  /** Which raw subscriber flavor speaks to it (bench/fanout/raw.ts). */
  client: 'switchboard' | 'socketio';
  /** Relative to bench/ (where bench/lib/proc.ts resolves scripts). */
  script: string;
  env: Record<string, string | undefined>;
}

const CONTENDERS: readonly ClusterContender[] = [
  {
    id: 'switchboard',
    label: 'switchboard + @switchboard/redis',
    client: 'switchboard',
    script: 'fanout-cluster/servers/switchboard.ts',
    env: {},
  },
  {
    id: 'socketio',
    label: 'socket.io 4 + redis-adapter',
    client: 'socketio',
    script: 'fanout-cluster/servers/socketio.ts',
    env: { SOCKETIO_ADAPTER: 'classic' },
  },
  {
    id: 'socketio-sharded',
    label: 'socket.io 4 + sharded adapter',
    client: 'socketio',
    script: 'fanout-cluster/servers/socketio.ts',
    env: { SOCKETIO_ADAPTER: 'sharded' },
  },
];
const BASELINE_ID = 'socketio';

const USAGE = `usage: tsx bench/fanout-cluster/run.ts [options]
  --only a,b          contenders (default all): ${CONTENDERS.map((c) => c.id).join(', ')}
  --nodes 2,3         server processes per cluster (default 2,3)
  --runs N            runs per contender and cluster size, medians reported (default 3)
  --duration-ms N     publishing time per phase (default 3000)
  --subscribers N     subscriber connections in all, spread over the nodes (default 3000)
  --rate N            publishes/s in the fixed-rate phase (default 20, i.e. 60k deliveries/s at 3000)
  --from dist|src     where @switchboard/* are loaded from (default dist: build first)`;
const o = parseOrHelp(
  {
    only: { type: 'string' },
    nodes: { type: 'string', default: '2,3' },
    runs: { type: 'string', default: '3' },
    'duration-ms': { type: 'string', default: '3000' },
    subscribers: { type: 'string', default: '3000' },
    rate: { type: 'string', default: '20' },
    from: { type: 'string', default: 'dist' },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
const wanted = o.only?.split(',').map((s) => s.trim()) ?? CONTENDERS.map((c) => c.id);
for (const id of wanted) {
  if (!CONTENDERS.some((c) => c.id === id)) {
    process.stderr.write(`unknown contender ${id} (known: ${CONTENDERS.map((c) => c.id).join(', ')})\n`);
    process.exit(2);
  }
}
const contenders = CONTENDERS.filter((c) => wanted.includes(c.id));
const nodeCounts = (o.nodes ?? '').split(',').map((n) => int('nodes', n.trim(), 1, 8));
const runs = int('runs', o.runs, 1, 50);
const durationMs = int('duration-ms', o['duration-ms'], 100, 120_000);
const subscribers = int('subscribers', o.subscribers, 1, 19_000);
const rate = int('rate', o.rate, 1, 100_000);
const from = switchboardFrom(o.from);

interface ProcPhase {
  published: number;
  delivered: number;
  lost: number;
  t0: number;
  lastAt: number;
  p50Ms: number;
  p99Ms: number;
}
interface ProcOut {
  phases: ProcPhase[];
  unexpected: number;
  closedEarly: number;
  server: PhaseResult[];
}
interface PhaseRun {
  perSec: number;
  published: number;
  delivered: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
}

/** One phase over all subscriber processes: deliveries from the first publish to the last delivery anywhere. */
function combine(parts: ProcOut[], index: number): PhaseRun {
  const phases = parts.map((p) => p.phases[index] as ProcPhase);
  const delivered = phases.reduce((sum, p) => sum + p.delivered, 0);
  const t0 = phases[0]?.t0 ?? 0;
  const end = Math.max(...phases.map((p) => p.lastAt));
  return {
    perSec: delivered / ((end - t0) / 1000),
    published: phases[0]?.published ?? 0,
    delivered,
    lost: phases.reduce((sum, p) => sum + p.lost, 0),
    p50Ms: Math.max(...phases.map((p) => p.p50Ms)),
    p99Ms: Math.max(...phases.map((p) => p.p99Ms)),
  };
}

async function runCluster(
  redisUrl: string,
  c: ClusterContender,
  nodes: number,
  prefix: string,
): Promise<{ sat: PhaseRun; rate: PhaseRun }> {
  const servers: ServerProcess[] = [];
  try {
    const started = await Promise.allSettled(
      Array.from({ length: nodes }, (_, i) =>
        ServerProcess.start({
          id: c.id,
          label: c.label,
          script: c.script,
          protocol: 'ws',
          env: { ...c.env, REDIS_URL: redisUrl, BENCH_PREFIX: prefix, BENCH_CONTROL: i === 0 ? '1' : undefined },
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const control = Number(servers[0]?.info.control);
    if (!Number.isInteger(control)) throw new Error('node 0 did not announce its control port');
    const parts = await Promise.all(
      servers.map((server, i) =>
        runClient<ProcOut>(
          'fanout/subscribers.ts',
          flags({
            contender: c.client,
            port: server.port,
            control,
            subscribers: Math.floor(subscribers / nodes) + (i < subscribers % nodes ? 1 : 0),
            procs: nodes,
            'duration-ms': durationMs,
            rate,
          }),
          server,
          180_000 + 2 * durationMs,
        ),
      ),
    );
    for (const part of parts) {
      if (part.closedEarly > 0) throw new Error(`${part.closedEarly} subscriber connections were closed by a node`);
    }
    return { sat: combine(parts, 0), rate: combine(parts, 1) };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

if (!redisServerAvailable()) process.exit(1);
const redis = await RedisServer.start();
const results = new Map<string, Array<{ sat: PhaseRun; rate: PhaseRun }>>();
const failures: string[] = [];
const started = new Date();
say(`Cluster fan-out benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${fmt.int(subscribers)} subscribers over ${nodeCounts.join(' and ')} ` +
    `nodes on one redis-server (${redis.url}); ${runs} run(s) of ${durationMs} ms saturation + ${durationMs} ms at ` +
    `${rate} publishes/s; switchboard from ${from}`,
);
const key = (id: string, nodes: number) => `${id}@${nodes}`;
const line = (r: PhaseRun): string =>
  `${fmt.int(r.perSec).padStart(10)} deliveries/s  p50 ${fmt.fixed(r.p50Ms, 1)} ms  p99 ${fmt.fixed(r.p99Ms, 1)} ms` +
  `${r.lost ? `  LOST ${fmt.int(r.lost)}` : ''}`;
try {
  for (let run = 1; run <= runs; run++) {
    for (const nodes of nodeCounts) {
      for (const c of contenders) {
        await waitForQuiet(0.15, 20_000, (busy) =>
          say(`  ... other processes keep the machine ${fmt.pct(busy)} busy; waiting up to 20 s`),
        );
        try {
          const r = await runCluster(redis.url, c, nodes, `b${run}n${nodes}${c.id}`);
          results.set(key(c.id, nodes), [...(results.get(key(c.id, nodes)) ?? []), r]);
          say(`  run ${run}/${runs}  ${nodes} nodes  ${c.label.padEnd(32)} saturation ${line(r.sat)}`);
          say(`  ${''.padEnd(50)} fixed rate ${line(r.rate)}`);
        } catch (err) {
          const message = `${c.label}, ${nodes} nodes, run ${run}: ${(err as Error).message}`;
          failures.push(message);
          loud([`RUN FAILED: ${message}`]);
        }
      }
    }
  }
} finally {
  await redis.stop();
}

const med = (id: string, nodes: number, which: 'sat' | 'rate', pick: (r: PhaseRun) => number): number =>
  fmt.median((results.get(key(id, nodes)) ?? []).map((x) => pick(x[which])));
const rows: string[][] = [];
const md: string[][] = [];
for (const nodes of nodeCounts) {
  const baseSat = med(BASELINE_ID, nodes, 'sat', (r) => r.perSec);
  const baseP99 = med(BASELINE_ID, nodes, 'sat', (r) => r.p99Ms);
  for (const c of contenders) {
    const all = results.get(key(c.id, nodes)) ?? [];
    if (all.length === 0) continue;
    const sat = med(c.id, nodes, 'sat', (r) => r.perSec);
    const p99 = med(c.id, nodes, 'sat', (r) => r.p99Ms);
    rows.push([
      `${c.label} (${nodes} nodes)`,
      fmt.int(sat),
      fmt.spread(all.map((x) => x.sat.perSec)),
      fmt.fixed(
        med(c.id, nodes, 'sat', (r) => r.p50Ms),
        1,
      ),
      fmt.fixed(p99, 1),
      fmt.int(med(c.id, nodes, 'rate', (r) => r.perSec)),
      fmt.fixed(
        med(c.id, nodes, 'rate', (r) => r.p50Ms),
        2,
      ),
      fmt.fixed(
        med(c.id, nodes, 'rate', (r) => r.p99Ms),
        2,
      ),
      fmt.int(all.reduce((sum, x) => sum + x.sat.lost + x.rate.lost, 0)),
      fmt.ratio(sat, baseSat),
      fmt.ratio(p99, baseP99),
    ]);
    md.push([
      c.label,
      String(nodes),
      `${fmt.int(sat)} (${fmt.ratio(sat, baseSat)})`,
      `${fmt.fixed(
        med(c.id, nodes, 'sat', (r) => r.p50Ms),
        1,
      )} / ${fmt.fixed(p99, 1)} (${fmt.ratio(p99, baseP99)})`,
      `${fmt.fixed(
        med(c.id, nodes, 'rate', (r) => r.p50Ms),
        2,
      )} / ${fmt.fixed(
        med(c.id, nodes, 'rate', (r) => r.p99Ms),
        2,
      )}`,
    ]);
  }
}
say('\n== Cluster fan-out: medians ==');
say(
  fmt.textTable(
    [
      'server',
      'sat deliv/s',
      'spread',
      'sat p50 ms',
      'sat p99 ms',
      `${rate}/s deliv/s`,
      'p50 ms',
      'p99 ms',
      'lost',
      '÷ socket.io deliv/s',
      '÷ socket.io p99',
    ],
    rows,
  ),
);
say(
  summary([
    `Cluster fan-out benchmark (\`npm run bench:fanout-cluster\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `${fmt.int(subscribers)} subscriber connections on one channel, spread evenly over N server processes on one`,
    `redis-server 7 (all on this machine); the publisher runs in node 0. Saturation: 10 publishes per event-loop turn`,
    `for ${durationMs / 1000} s, deliveries/s from first publish to last delivery on any node; fixed rate: ${rate} publishes/s.`,
    `Median of ${runs} run(s); Switchboard from ${from}. Ratios ÷ socket.io with @socket.io/redis-adapter (createAdapter).`,
    ...(failures.length ? [`Warning: ${failures.length} run(s) failed.`] : []),
    '',
    fmt.markdownTable(
      [
        'server',
        'nodes',
        'deliveries/s (saturation)',
        'latency p50 / p99 ms (saturation)',
        `latency p50 / p99 ms at ${rate}/s`,
      ],
      md,
    ),
  ]),
);
saveRaw('fanout-cluster', started, {
  machine: machine(),
  started,
  options: o,
  from,
  results: Object.fromEntries(results),
  failures,
});
process.exit(failures.length > 0 ? 1 : 0);
