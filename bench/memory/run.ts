// Memory benchmark: server RSS and JS heap per idle connection and per connection holding one
// subscription, at --connections open, for Switchboard, ws (the thin layer's server: plain `ws`
// plus a message handler), tRPC 11 and socket.io 4. Raw-socket clients (bench/fanout/raw.ts) keep
// the client process small. Medians over --runs; ratios ÷ ws. Raw: bench/results/memory-<time>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { int, parse } from '../echo/lib/args.js';
import { ROOT, runClient } from '../echo/lib/proc.js';
import * as fmt from '../echo/lib/report.js';
import type { RpcContender } from '../rpc/common.js';
import { CONTENDERS, flags, Harness, machine, say, select, useSwitchboardFrom } from '../rpc/common.js';

const USAGE = `usage: tsx bench/memory/run.ts [options]
  --only a,b          contenders (default all): ${CONTENDERS.map((c) => c.id).join(', ')}
  --runs N            runs per contender, medians reported (default 1)
  --connections N     connections (default 10000)
  --duration-ms N     settle time before each reading (default 1000)
  --from dist|src     where @switchboard/* are loaded from (default dist)`;
const o = parse(
  {
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10000' },
    'duration-ms': { type: 'string', default: '1000' },
    from: { type: 'string', default: 'dist' },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
if (o.help) {
  say(USAGE);
  process.exit(0);
}
let contenders: RpcContender[];
try {
  contenders = select(o.only);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const runs = int('runs', o.runs, 1, 20);
const connections = int('connections', o.connections, 1, 19_000);
const settleMs = int('duration-ms', o['duration-ms'], 0, 60_000);
const from = useSwitchboardFrom(o.from);

interface MemOut {
  idleRssKiB: number;
  idleHeapKiB: number;
  subRssKiB: number;
  subHeapKiB: number;
  openMs: number;
  subscribeMs: number;
  gcForced: boolean;
  closedEarly: number;
}
const harness = new Harness();
const results = new Map<string, MemOut[]>();
const started = new Date();
say(`Memory benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${fmt.int(connections)} connections; ${runs} run(s); switchboard from ${from}`,
);
for (let run = 1; run <= runs; run++) {
  for (const c of contenders) {
    const r = await harness.withServer(c, 'memory', false, async (server) => {
      const out = await runClient<MemOut>(
        '../memory/conns.ts',
        flags({ contender: c.client, port: server.port, connections, 'settle-ms': settleMs }),
        server,
        300_000,
      );
      if (out.closedEarly > 0) throw new Error(`${out.closedEarly} connections were closed by the server`);
      return out;
    });
    if (!r) continue;
    results.set(c.id, [...(results.get(c.id) ?? []), r]);
    say(
      `  run ${run}/${runs}  ${c.label.padEnd(18)} idle ${fmt.fixed(r.idleRssKiB, 2)} KiB RSS/conn (heap ${fmt.fixed(r.idleHeapKiB, 2)})  ` +
        `+subscription ${fmt.fixed(r.subRssKiB, 2)} KiB RSS/conn (heap ${fmt.fixed(r.subHeapKiB, 2)})  ` +
        `opened in ${fmt.int(r.openMs)} ms, subscribed in ${fmt.int(r.subscribeMs)} ms${r.gcForced ? '' : ', NO forced GC'}`,
    );
  }
}
const med = (id: string, pick: (r: MemOut) => number): number => fmt.median((results.get(id) ?? []).map(pick));
const BASE = 'thin';
const rows = contenders
  .filter((c) => results.has(c.id))
  .map((c) => [
    c.id === BASE ? 'ws (thin layer)' : c.label,
    fmt.fixed(
      med(c.id, (r) => r.idleRssKiB),
      2,
    ),
    fmt.fixed(
      med(c.id, (r) => r.idleHeapKiB),
      2,
    ),
    fmt.fixed(
      med(c.id, (r) => r.subRssKiB),
      2,
    ),
    fmt.fixed(
      med(c.id, (r) => r.subHeapKiB),
      2,
    ),
    fmt.fixed(
      med(c.id, (r) => r.idleRssKiB + r.subRssKiB),
      2,
    ),
    fmt.ratio(
      med(c.id, (r) => r.idleRssKiB),
      med(BASE, (r) => r.idleRssKiB),
    ),
  ]);
const header = [
  'server',
  'idle RSS KiB/conn',
  'idle heap',
  '+sub RSS KiB/conn',
  '+sub heap',
  'subscribed total',
  'idle ÷ ws',
];
say(`\n== Memory per connection, ${fmt.int(connections)} open (after forced GC); medians of ${runs} run(s) ==`);
say(fmt.textTable(header, rows));
say(
  '  (+sub = growth when every connection subscribes once; RSS moves in steps of ±1–2 KiB/conn, heap is the stable part)',
);
say(
  [
    '',
    '==================== summary (paste into docs) ====================',
    `Memory benchmark (\`tsx bench/memory/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `Server RSS / JS heap growth per connection with ${fmt.int(connections)} raw-socket connections open (idle), then per`,
    `connection when each subscribes to one channel; after forced GC; median of ${runs} run(s); Switchboard from ${from}.`,
    '',
    fmt.markdownTable(header, rows),
    '===================================================================',
  ].join('\n'),
);
harness.reportFailures();
const file = `${ROOT}bench/results/memory-${started.toISOString().replace(/[:.]/g, '-')}.json`;
try {
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ machine: machine(), started, options: o, from, raw: harness.raw }, null, 2)}\n`,
  );
  say(`raw results: ${file}`);
} catch (err) {
  process.stderr.write(`could not write ${file}: ${(err as Error).message}\n`);
}
process.exit(harness.failed ? 1 : 0);
