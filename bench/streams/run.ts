// Stream throughput: one streaming call of N chunks (200,000 `{ token: 'abc', i }`, 50,000 1 KiB
// strings, 4,096 16 KiB and 128 1 MiB Uint8Arrays), read to its end by one client, for Switchboard
// (client.stream(), credit-paced; bytes as binary messages), tRPC 11 (an async-generator
// subscription over its ws link; bytes as superjson number arrays) and socket.io 4 (one emit per
// chunk, bytes as binary attachments; no backpressure). Each run: a fresh server process, one
// load process per shape (a warm-up stream, then the measured one), stop; contenders interleaved
// run by run; medians of the undisturbed runs, as ratios to tRPC and socket.io, and the bytes the
// client read from its socket ÷ the payload. With --before <dir>, Switchboard from another checkout
// runs too (switchboard-before, see bench/rpc/before.ts), with after ÷ before ratios.
// Raw results: bench/results/streams-<time>.json (gitignored).

import { flags, int, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say, summary } from '../lib/out.js';
import { enablePinning, runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import { DISTURBED_CORES, disturbed, medianOf, otherCores, usable } from '../lib/results.js';
import { saveRaw } from '../lib/save.js';
import { type BeforeCheckout, beforeOrExit } from '../rpc/before.js';
import {
  afterBeforeBlock,
  BEFORE_ID,
  expectSwitchboardFrom,
  type RpcContender,
  switchboardFrom,
} from '../rpc/common.js';
import { MAX_CHUNKS, SHAPE_IDS, SHAPES, type ShapeId } from './shapes.js';

const contender = (client: RpcContender['client'], label: string): RpcContender => ({
  id: client,
  client,
  label,
  script: `streams/servers/${client}.ts`,
  env: {},
  protocol: 'ws',
});
/** In print order; the ratios are to tRPC and to socket.io (the issue's two targets). */
const CONTENDERS: readonly RpcContender[] = [
  contender('switchboard', 'switchboard'),
  contender('trpc', 'tRPC 11'),
  contender('socketio', 'socket.io 4 (no backpressure)'),
  contender('thin', 'thin ws (no protocol: the ceiling)'),
];
const ALIASES: Record<string, string> = { 'socket.io': 'socketio', tRPC: 'trpc', ws: 'thin' };
const TARGETS = { trpc: 2, socketio: 1.5 } as const;
/** Issue 15: a binary chunk's bytes on the wire at most this many times its payload (Switchboard). */
const WIRE_TARGET = 1.01;

const USAGE = `usage: tsx bench/streams/run.ts [options]
  --only a,b          contenders (default all): ${CONTENDERS.map((c) => c.id).join(', ')}
  --shapes a,b        chunk shapes (default all): ${SHAPE_IDS.map((s) => `${s} (${SHAPES[s].label})`).join(', ')}
  --runs N            runs per contender, medians reported (default 5)
  --count N           chunks per measured stream of small chunks (default ${SHAPES.small.defaultCount})
  --kib-count N       chunks per measured stream of 1 KiB chunks (default ${SHAPES.kib.defaultCount})
  --bin16k-count N    chunks per measured stream of 16 KiB Uint8Arrays (default ${SHAPES.bin16k.defaultCount})
  --bin1m-count N     chunks per measured stream of 1 MiB Uint8Arrays (default ${SHAPES.bin1m.defaultCount})
  --warmup-count N    chunks of the unmeasured warm-up stream before each measured one, every shape
                      (default per shape: ${SHAPE_IDS.map((s) => `${s} ${SHAPES[s].defaultWarmup}`).join(', ')})
  --credit N          switchboard's client.stream() credit (default: the client's default, 256)
  --max-ms N          longest a stream may take before the run fails (default 60000)
  --from dist|src     where @switchboard/* are loaded from (default dist: build first)
  --before <dir>      also run ${BEFORE_ID}: switchboard with @switchboard/* from <dir>, another
                      checkout with its packages built; prints after ÷ before
  --pin               servers on CPU 0, load generators on CPU 1 (taskset)`;

const o = parseOrHelp(
  {
    only: { type: 'string' },
    shapes: { type: 'string' },
    runs: { type: 'string', default: '5' },
    count: { type: 'string', default: String(SHAPES.small.defaultCount) },
    'kib-count': { type: 'string', default: String(SHAPES.kib.defaultCount) },
    'bin16k-count': { type: 'string', default: String(SHAPES.bin16k.defaultCount) },
    'bin1m-count': { type: 'string', default: String(SHAPES.bin1m.defaultCount) },
    'warmup-count': { type: 'string' },
    credit: { type: 'string' },
    'max-ms': { type: 'string', default: '60000' },
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
const shapes = selectOrExit(selectShapes, o.shapes);
const runs = int('runs', o.runs, 1, 50);
const counts: Record<ShapeId, number> = {
  small: int('count', o.count, 1, MAX_CHUNKS),
  kib: int('kib-count', o['kib-count'], 1, MAX_CHUNKS),
  bin16k: int('bin16k-count', o['bin16k-count'], 1, MAX_CHUNKS),
  bin1m: int('bin1m-count', o['bin1m-count'], 1, MAX_CHUNKS),
};
const warmupCounts = Object.fromEntries(
  SHAPE_IDS.map((s) => [
    s,
    o['warmup-count'] === undefined ? SHAPES[s].defaultWarmup : int('warmup-count', o['warmup-count'], 0, MAX_CHUNKS),
  ]),
) as Record<ShapeId, number>;
/** Switchboard's credit; undefined: the client's default (not passed on). */
const credit = o.credit === undefined ? undefined : int('credit', o.credit, 1, 100_000);
const creditLabel = credit === undefined ? "the client's default (256)" : String(credit);
const maxMs = int('max-ms', o['max-ms'], 100, 600_000);
if (o.pin) enablePinning();

function select(list: string | undefined, checkout: BeforeCheckout | null): RpcContender[] {
  const all = CONTENDERS.flatMap((c) =>
    c.id === 'switchboard' && checkout
      ? [
          c,
          {
            ...c,
            id: BEFORE_ID,
            label: `switchboard (before: ${checkout.commit})`,
            env: { TSX_TSCONFIG_PATH: checkout.tsconfigPath },
          },
        ]
      : [c],
  );
  if (list === undefined || list.trim() === '') return all;
  const wanted = new Set(
    list.split(',').map((raw) => {
      const id = ALIASES[raw.trim()] ?? raw.trim();
      if (id === BEFORE_ID && !checkout) throw new Error(`${BEFORE_ID} needs --before <dir> (a built checkout)`);
      if (!all.some((c) => c.id === id)) {
        throw new Error(`unknown contender ${JSON.stringify(raw)} (known: ${all.map((c) => c.id).join(', ')})`);
      }
      return id;
    }),
  );
  if (checkout) wanted.add(BEFORE_ID);
  return all.filter((c) => wanted.has(c.id));
}

function selectShapes(list: string | undefined): ShapeId[] {
  if (list === undefined || list.trim() === '') return [...SHAPE_IDS];
  return list.split(',').map((raw) => {
    const id = raw.trim();
    const shape = SHAPE_IDS.find((s) => s === id);
    if (shape === undefined) throw new Error(`unknown shape ${JSON.stringify(raw)} (known: ${SHAPE_IDS.join(', ')})`);
    return shape;
  });
}

/** load.ts's result line. */
interface LoadOut {
  chunksPerSec: number;
  payloadMiBps: number;
  elapsedMs: number;
  /** Bytes the client's socket read during the measured stream ÷ the payload's bytes. */
  wireReadRatio: number | null;
  /** Bytes it wrote meanwhile, per chunk. */
  wireWrittenPerChunk: number | null;
  clientCpu: number;
  clientUsPerChunk: number;
  machineCores: number;
  server: { cpu: number; sysShare: number; usPerChunk: number } | null;
}

const harness = new Harness<RpcContender>({ onStart: expectSwitchboardFrom(from, before) });
/** By `${contender id}@${shape}`, in run order. */
const results = new Map<string, LoadOut[]>();
/** The same by run number, for ratios within a run (contenders a few seconds apart). */
const byRun = new Map<string, Map<number, LoadOut>>();
const disturbedRuns: string[] = [];
const started = new Date();
say(`Stream benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; shapes: ${shapes.map((s) => `${s} × ${fmt.int(counts[s])} (after ${fmt.int(warmupCounts[s])} warm-up)`).join(', ')}; ` +
    `switchboard credit ${creditLabel}; ${runs} run(s); switchboard from ${from}`,
);
if (before) say(`${BEFORE_ID}: @switchboard/* from ${before.dir} (${before.commit}), through ${before.tsconfigPath}`);
const labelWidth = Math.max(18, ...contenders.map((c) => c.label.length));
for (let run = 1; run <= runs; run++) {
  for (const c of contenders) {
    await harness.withServer(c, 'streams', true, async (server) => {
      const out: Partial<Record<ShapeId, LoadOut>> = {};
      for (const shape of shapes) {
        const args = flags({
          contender: c.client,
          port: server.port,
          shape,
          count: counts[shape],
          'warmup-count': warmupCounts[shape],
          ...(credit === undefined ? {} : { credit }),
          'max-ms': maxMs,
        });
        const r = await runClient<LoadOut>('streams/load.ts', args, server, 2 * maxMs + 60_000, c.env);
        out[shape] = r;
        const key = `${c.id}@${shape}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        byRun.set(key, (byRun.get(key) ?? new Map()).set(run, r));
        const others = otherCores(r);
        const dist = disturbed(r);
        if (dist) disturbedRuns.push(`${c.label} ${shape} run ${run}: others used ${fmt.fixed(others, 2)} cores`);
        say(
          `  run ${run}/${runs}  ${shape.padEnd(6)} ${c.label.padEnd(labelWidth)} ${fmt.int(r.chunksPerSec).padStart(9)} chunks/s ` +
            `${fmt.fixed(r.payloadMiBps, 1).padStart(6)} MiB/s  wire ${wireX(r.wireReadRatio)}  srv ${fmt.fixed(r.server?.usPerChunk, 2)} µs/chunk, ` +
            `srv cpu ${fmt.pct(r.server?.cpu)}, client ${fmt.fixed(r.clientUsPerChunk, 2)} µs/chunk, ` +
            `client cpu ${fmt.pct(r.clientCpu)}, others ${fmt.fixed(others, 2)} cores${dist ? '  <-- DISTURBED' : ''}`,
        );
      }
      return out;
    });
  }
}

// ---------------------------------------------------------------------------------------------
const med = (id: string, shape: ShapeId, pick: (r: LoadOut) => number | undefined): number =>
  medianOf(results.get(`${id}@${shape}`), pick);
const chunks = (id: string, shape: ShapeId): number => med(id, shape, (r) => r.chunksPerSec);
const ran = contenders.filter((c) => shapes.some((s) => results.has(`${c.id}@${s}`)));
/** Wire bytes ÷ payload, e.g. "1.006×" (null when the load script saw no socket). */
function wireX(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? 'n/a' : `${ratio.toFixed(3)}×`;
}
const wire = (id: string, shape: ShapeId): number => med(id, shape, (r) => r.wireReadRatio ?? Number.NaN);
const loadMark = (cpu: number): string => `${fmt.pct(cpu)}${cpu > 0.9 ? ' (!)' : ''}`;
/** Runs used of all ("3/5" when 2 were disturbed; all of them when every one was). */
const kept = (all: readonly LoadOut[]): string => {
  const clean = all.filter((r) => !disturbed(r)).length;
  return clean === all.length ? `${all.length}` : `${clean}/${all.length}`;
};
let clientBound = false;
for (const shape of shapes) {
  const rows = ran.map((c) => {
    const all = results.get(`${c.id}@${shape}`) ?? [];
    return [
      c.label,
      fmt.int(chunks(c.id, shape)),
      fmt.spread(usable(all).map((r) => r.chunksPerSec)),
      kept(all),
      fmt.fixed(
        med(c.id, shape, (r) => r.payloadMiBps),
        1,
      ),
      wireX(wire(c.id, shape)),
      fmt.fixed(
        med(c.id, shape, (r) => r.server?.usPerChunk),
        2,
      ),
      fmt.pct(med(c.id, shape, (r) => r.server?.cpu)),
      fmt.fixed(
        med(c.id, shape, (r) => r.clientUsPerChunk),
        2,
      ),
      loadMark(med(c.id, shape, (r) => r.clientCpu)),
      fmt.ratio(chunks(c.id, shape), chunks('trpc', shape)),
      fmt.ratio(chunks(c.id, shape), chunks('socketio', shape)),
    ];
  });
  say(
    `\n== ${SHAPES[shape].label} × ${fmt.int(counts[shape])}: medians of undisturbed runs (others > ${DISTURBED_CORES} cores = disturbed) ==`,
  );
  const header = ['server', 'chunks/s', 'spread', 'runs', 'MiB/s', 'wire ÷ payload', 'srv µs/chunk', 'srv CPU'];
  say(fmt.textTable([...header, 'client µs/chunk', 'client CPU', '÷ tRPC', '÷ socket.io'], rows));
  clientBound ||= rows.some((r) => r[9]?.endsWith('(!)'));
}
/**
 * switchboard ÷ `peer` chunks/s within each run (every run, disturbed or not: both sides of a
 * pair ran seconds apart, under much the same load), as median and range.
 */
function paired(shape: ShapeId, peer: string): { median: number; min: number; max: number; n: number } {
  const ours = byRun.get(`switchboard@${shape}`);
  const theirs = byRun.get(`${peer}@${shape}`);
  const ratios: number[] = [];
  for (const [run, r] of ours ?? []) {
    const p = theirs?.get(run);
    if (p) ratios.push(r.chunksPerSec / p.chunksPerSec);
  }
  return { median: fmt.median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), n: ratios.length };
}
const targets = shapes.map((shape) => {
  const vs = (peer: keyof typeof TARGETS): string => {
    const r = chunks('switchboard', shape) / chunks(peer, shape);
    if (!Number.isFinite(r)) return `÷ ${peer} n/a`;
    const p = paired(shape, peer);
    const verdict = (x: number): string => (x >= TARGETS[peer] ? 'met' : 'MISSED');
    return (
      `${r.toFixed(2)}× ${peer} by medians, ${p.median.toFixed(2)}× paired by run (${p.min.toFixed(2)}–${p.max.toFixed(2)}, ` +
      `${p.n} runs); target ≥ ${TARGETS[peer]}×: ${verdict(r)} / ${verdict(p.median)}`
    );
  };
  const bytes = (): string => {
    const w = wire('switchboard', shape);
    if (!SHAPES[shape].binary || !Number.isFinite(w)) return '';
    return `; wire ${wireX(w)} the payload, target ≤ ${WIRE_TARGET}×: ${w <= WIRE_TARGET ? 'met' : 'MISSED'}`;
  };
  const ceiling = (): string => {
    const r = chunks('switchboard', shape) / chunks('thin', shape);
    if (!Number.isFinite(r)) return '';
    const s = chunks('socketio', shape) / chunks('thin', shape);
    return `; of the thin ws ceiling: switchboard ${fmt.pct(r)}${Number.isFinite(s) ? `, socket.io ${fmt.pct(s)}` : ''}`;
  };
  return `${shape}: switchboard ${vs('trpc')}; ${vs('socketio')}${bytes()}${ceiling()}`;
});
say(`\n${targets.map((t) => `  ${t}`).join('\n')}`);
if (clientBound) say('  (!) client CPU above 90% of a core: the client is the bottleneck of that row');

const afterBefore = shapes.flatMap((shape) => [
  {
    measure: `${shape} chunks/s`,
    after: chunks('switchboard', shape),
    before: chunks(BEFORE_ID, shape),
    digits: 0,
    better: 'higher' as const,
  },
  {
    measure: `${shape} srv µs/chunk`,
    after: med('switchboard', shape, (r) => r.server?.usPerChunk),
    before: med(BEFORE_ID, shape, (r) => r.server?.usPerChunk),
    digits: 2,
    better: 'lower' as const,
  },
  {
    measure: `${shape} client µs/chunk`,
    after: med('switchboard', shape, (r) => r.clientUsPerChunk),
    before: med(BEFORE_ID, shape, (r) => r.clientUsPerChunk),
    digits: 2,
    better: 'lower' as const,
  },
]);
if (before) say(afterBeforeBlock(before, afterBefore, 'text').join('\n'));

const mdRows = shapes.flatMap((shape) =>
  contenders.map((c) => {
    const n = chunks(c.id, shape);
    if (!Number.isFinite(n)) return [SHAPES[shape].label, c.label, 'not run', '', '', '', '', '', ''];
    const all = results.get(`${c.id}@${shape}`) ?? [];
    return [
      SHAPES[shape].label,
      c.label,
      fmt.int(n),
      fmt.fixed(
        med(c.id, shape, (r) => r.payloadMiBps),
        1,
      ),
      wireX(wire(c.id, shape)),
      fmt.fixed(
        med(c.id, shape, (r) => r.server?.usPerChunk),
        2,
      ),
      fmt.fixed(
        med(c.id, shape, (r) => r.clientUsPerChunk),
        2,
      ),
      kept(all),
      fmt.ratio(n, chunks('trpc', shape)),
      fmt.ratio(n, chunks('socketio', shape)),
    ];
  }),
);
say(
  summary([
    `Stream benchmark (\`tsx bench/streams/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `One stream at a time on one connection, server and client processes on 127.0.0.1; per shape a warm-up stream`,
    `(${shapes.map((s) => fmt.int(warmupCounts[s])).join(', ')} chunks), then the measured one (${shapes.map((s) => `${fmt.int(counts[s])} × ${SHAPES[s].label}`).join(', ')}),`,
    `read to its end; median of ${runs} runs; switchboard credit ${creditLabel}, from ${from}. MiB/s = chunks' JSON bytes`,
    "(a Uint8Array's bytes); wire ÷ payload = bytes the client's TCP socket read during the stream ÷ those bytes;",
    'µs/chunk = process CPU ÷ chunks. socket.io has no backpressure (the server emits regardless of the reader).',
    ...(disturbedRuns.length ? [`Warning: ${disturbedRuns.length} run(s) disturbed by other processes.`] : []),
    '',
    fmt.markdownTable(
      [
        'chunk',
        'server',
        'chunks/s',
        'MiB/s',
        'wire ÷ payload',
        'server µs/chunk',
        'client µs/chunk',
        'runs',
        '÷ tRPC',
        '÷ socket.io',
      ],
      mdRows,
    ),
    ...targets.map((t) => `- ${t}`),
    ...afterBeforeBlock(before, afterBefore, 'markdown'),
  ]),
);
harness.reportFailures();
saveRaw('streams', started, { machine: machine(), started, options: o, from, before, raw: harness.raw });
process.exit(harness.failed ? 1 : 0);
