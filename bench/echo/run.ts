// Echo benchmark orchestrator: for each contender, start its server process, run a client
// process against it (load.ts / handshakes.ts / idle-memory.ts), stop the server; repeat
// --runs times with the contenders interleaved (so drift hits all of them alike); print medians
// and ratios to ws+bufferutil, then one markdown summary block for docs. Raw results go to
// bench/results/echo-<time>.json (gitignored).

import { flags, int, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say } from '../lib/out.js';
import { enablePinning, runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import type { HandshakeResult, LoadResult, MemoryResult, Results } from '../lib/results.js';
import { append, DISTURBED_CORES, disturbed, otherCores } from '../lib/results.js';
import { saveRaw } from '../lib/save.js';
import { printTables, summaryBlock } from '../lib/summary.js';
import type { Contender } from './contenders.js';
import { BASELINE_ID, beforeContender, CONTENDERS, select } from './contenders.js';

const USAGE = `usage: tsx bench/echo/run.ts [options]
  --only a,b               contenders (default all): ${CONTENDERS.map((c) => c.id).join(', ')}
  --runs N                 runs per measurement, medians reported (default 3)
  --duration-ms N          measured time per run (default 5000)
  --warmup-ms N            unmeasured warm-up per run (default 1000)
  --sizes a,b              message sizes in bytes (default 64,16384)
  --connections N          echo connections (default 50)
  --window N               messages in flight per connection (default 32)
  --opcode binary|text     frame type (default binary)
  --memory-connections N   idle connections for the memory test (default 10000)
  --before <dir>           also run switchboard-before: the transport built in <dir>, another checkout
  --pin                    pin servers to CPU 0 and load generators to CPU 1 (taskset)
  --skip-throughput, --skip-handshakes, --skip-memory`;

const o = parseOrHelp(
  {
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'duration-ms': { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '1000' },
    sizes: { type: 'string', default: '64,16384' },
    connections: { type: 'string', default: '50' },
    window: { type: 'string', default: '32' },
    opcode: { type: 'string', default: 'binary' },
    'memory-connections': { type: 'string', default: '10000' },
    pin: { type: 'boolean', default: false },
    before: { type: 'string' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-handshakes': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
const contenders = selectOrExit(select, o.only);
if (o.before !== undefined) contenders.splice(1, 0, beforeContender(o.before));
const runs = int('runs', o.runs, 1, 50);
const durationMs = int('duration-ms', o['duration-ms'], 100, 600_000);
const warmupMs = int('warmup-ms', o['warmup-ms'], 0, 60_000);
const sizes = (o.sizes ?? '').split(',').map((s) => int('sizes', s.trim(), 1, 16 * 1024 * 1024));
const connections = int('connections', o.connections, 1, 10_000);
const window = int('window', o.window, 1, 4096);
const opcode = o.opcode === 'text' ? 'text' : 'binary';
const memoryConnections = int('memory-connections', o['memory-connections'], 1, 50_000);
if (o.pin) enablePinning();

const timing = { 'warmup-ms': warmupMs, 'duration-ms': durationMs };
const clientTimeout = warmupMs + durationMs + 60_000;

const harness = new Harness<Contender>({
  mark: '!!!',
  sayWhenGivingUp: true,
  onStart: (c, server) => {
    if (c.id === 'ws' && server.info.mask !== 'bufferutil') {
      harness.loud([
        `ws server reports mask=${String(server.info.mask)}: bufferutil is not active, "ws+bufferutil" is mislabelled`,
      ]);
    }
  },
});
const disturbedRuns: string[] = [];
let timedRuns = 0;

/** Progress-line suffix for a timed run; records it when other processes disturbed it. */
function cpuNote(c: Contender, what: string, r: LoadResult | HandshakeResult): string {
  timedRuns++;
  const others = otherCores(r);
  const base = `server cpu ${fmt.pct(r.server?.cpu)}, load cpu ${fmt.pct(r.clientCpu)}, others ${fmt.fixed(others, 2)} cores`;
  if (!disturbed(r)) return base;
  disturbedRuns.push(`${c.label} ${what}: others used ${fmt.fixed(others, 2)} cores`);
  return `${base}  <-- DISTURBED, left out of the medians if possible`;
}

// ---------------------------------------------------------------------------------------------
const started = new Date();
const results: Results = { echo: new Map(), handshakes: new Map(), memory: new Map() };
say(`Echo benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${runs} run(s) of ${warmupMs} ms warm-up + ${durationMs} ms` +
    `${o.pin ? '; servers pinned to CPU 0, load generators to CPU 1' : ''}`,
);

if (!o['skip-throughput']) {
  say(`\n== Echo throughput: ${connections} connections × ${window} in flight, ${opcode} frames ==`);
  for (const size of sizes) {
    for (let run = 1; run <= runs; run++) {
      for (const c of contenders) {
        const what = `echo ${fmt.sizeLabel(size)}`;
        const r = await harness.withServer(c, what, true, (server) => {
          const args = flags({ port: server.port, protocol: c.protocol, size, connections, window, opcode, ...timing });
          return runClient<LoadResult>('echo/load.ts', args, server, clientTimeout);
        });
        if (!r) continue;
        append(results.echo, `${c.id}@${size}`, r);
        const head = `  ${fmt.sizeLabel(size).padStart(6)}  run ${run}/${runs}  ${c.label.padEnd(20)}`;
        say(`${head} ${fmt.int(r.msgsPerSec).padStart(10)} msg/s   ${cpuNote(c, what, r)}`);
      }
    }
  }
}

if (!o['skip-handshakes']) {
  say('\n== Handshakes: connect + upgrade + close, 50 at a time ==');
  for (let run = 1; run <= runs; run++) {
    for (const c of contenders) {
      const r = await harness.withServer(c, 'handshakes', true, (server) => {
        const args = flags({ port: server.port, protocol: c.protocol, ...timing });
        return runClient<HandshakeResult>('echo/handshakes.ts', args, server, clientTimeout);
      });
      if (!r) continue;
      append(results.handshakes, c.id, r);
      const problems = `${r.errors ? `, ${r.errors} errors` : ''}${r.lingered ? `, ${r.lingered} times the server kept TCP open > 1 s after Close` : ''}`;
      say(
        `  run ${run}/${runs}  ${c.label.padEnd(20)} ${fmt.int(r.perSec).padStart(8)} /s   ${cpuNote(c, 'handshakes', r)}${problems}`,
      );
    }
  }
}

if (!o['skip-memory']) {
  say(`\n== Idle memory: ${fmt.int(memoryConnections)} open connections ==`);
  for (const c of contenders) {
    const r = await harness.withServer(c, 'idle memory', false, (server) => {
      const args = flags({ port: server.port, protocol: c.protocol, connections: memoryConnections });
      return runClient<MemoryResult>('echo/idle-memory.ts', args, server, 200_000);
    });
    if (!r) continue;
    results.memory.set(c.id, r);
    say(
      `  ${c.label.padEnd(20)} ${fmt.fixed(r.rssKiBPerConn, 2).padStart(7)} KiB RSS/conn   (JS heap ${fmt.fixed(r.heapKiBPerConn, 2)} KiB/conn` +
        `, opened in ${fmt.int(r.openMs)} ms${r.gcForced ? '' : ', NO forced GC'})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
const baseline = CONTENDERS.find((c) => c.id === BASELINE_ID) ?? contenders[0];
if (baseline) {
  const ctx = {
    contenders,
    notRun: new Set(harness.failedToStart.keys()),
    baseline,
    sizes,
    runs,
    durationMs,
    warmupMs,
    connections,
    window,
    opcode,
    memoryConnections,
    machine: machine(),
    date: started.toISOString().slice(0, 10),
  };
  printTables(results, ctx, say);
  const warnings = disturbedRuns.length
    ? [
        `${disturbedRuns.length} of ${timedRuns} timed runs were disturbed by other processes (> ${DISTURBED_CORES} cores).`,
      ]
    : [];
  say(summaryBlock(results, ctx, warnings));
}

if (disturbedRuns.length > 0) {
  harness.loud([
    `${disturbedRuns.length} of ${timedRuns} timed runs shared the machine with other busy processes:`,
    ...disturbedRuns.slice(0, 10),
    'Medians leave those runs out when a measurement has undisturbed ones. Rerun on an idle machine.',
  ]);
}
harness.reportFailures();
saveRaw('echo', started, {
  machine: machine(),
  started,
  options: o,
  failedToStart: Object.fromEntries(harness.failedToStart),
  runFailures: harness.runFailures,
  raw: harness.raw,
});
process.exit(harness.failed ? 1 : 0);
