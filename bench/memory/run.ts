// Memory benchmark: server RSS and JS heap per idle connection and per connection holding one
// subscription, at --connections open, for Switchboard, ws (the thin layer's server: plain `ws`
// plus a message handler), tRPC 11 and socket.io 4. Raw-socket clients (bench/fanout/raw.ts) keep
// the client process small. Medians over --runs; ratios ÷ ws. With --before <dir>, Switchboard
// from another checkout runs too (switchboard-before, see bench/rpc/before.ts), with after ÷ before
// ratios. Raw: bench/results/memory-<time>.json.

import { flags, int, oneOf, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say, summary } from '../lib/out.js';
import { runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import { saveRaw } from '../lib/save.js';
import { beforeOrExit } from '../rpc/before.js';
import type { RpcContender } from '../rpc/common.js';
import {
  afterBeforeBlock,
  BEFORE_ID,
  CONTENDERS,
  expectSwitchboardFrom,
  select,
  switchboardFrom,
} from '../rpc/common.js';

const USAGE = `usage: tsx bench/memory/run.ts [options]
  --only a,b          contenders (default all): ${CONTENDERS.map((c) => c.id).join(', ')}
  --runs N            runs per contender, medians reported (default 1)
  --connections N     connections (default 10000)
  --duration-ms N     settle time before each reading (default 1000)
  --topics one|each   one: every connection subscribes to the same stream (default); each: every
                      connection to its own (per-user or per-device channels: as many topics as connections)
  --from dist|src     where @switchboard/* are loaded from (default dist)
  --before <dir>      also run ${BEFORE_ID}: switchboard with @switchboard/* from <dir>, another
                      checkout with its packages built; adds it to --only's list, prints after ÷ before`;
const o = parseOrHelp(
  {
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10000' },
    'duration-ms': { type: 'string', default: '1000' },
    topics: { type: 'string', default: 'one' },
    from: { type: 'string', default: 'dist' },
    before: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  USAGE,
);
const from = switchboardFrom(o.from);
const before = beforeOrExit(o.before, from);
const contenders = selectOrExit((list) => select(list, before), o.only);
const runs = int('runs', o.runs, 1, 20);
const connections = int('connections', o.connections, 1, 19_000);
const settleMs = int('duration-ms', o['duration-ms'], 0, 60_000);
const topics = oneOf('topics', o.topics, ['one', 'each'] as const);
const topicsText = topics === 'one' ? 'one stream for all' : 'a stream of its own each';

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
const harness = new Harness<RpcContender>({ onStart: expectSwitchboardFrom(from, before) });
const results = new Map<string, MemOut[]>();
const started = new Date();
say(`Memory benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${fmt.int(connections)} connections, subscribed to ${topicsText}; ${runs} run(s); switchboard from ${from}`,
);
if (before) say(`${BEFORE_ID}: @switchboard/* from ${before.dir} (${before.commit}), through ${before.tsconfigPath}`);
const labelWidth = Math.max(18, ...contenders.map((c) => c.label.length));
for (let run = 1; run <= runs; run++) {
  for (const c of contenders) {
    const r = await harness.withServer(c, 'memory', false, async (server) => {
      const out = await runClient<MemOut>(
        'memory/conns.ts',
        flags({ contender: c.client, port: server.port, connections, 'settle-ms': settleMs, topics }),
        server,
        300_000,
        c.env,
      );
      if (out.closedEarly > 0) throw new Error(`${out.closedEarly} connections were closed by the server`);
      return out;
    });
    if (!r) continue;
    results.set(c.id, [...(results.get(c.id) ?? []), r]);
    say(
      `  run ${run}/${runs}  ${c.label.padEnd(labelWidth)} idle ${fmt.fixed(r.idleRssKiB, 2)} KiB RSS/conn (heap ${fmt.fixed(r.idleHeapKiB, 2)})  ` +
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
    fmt.ratio(
      med(c.id, (r) => r.subHeapKiB),
      med(BASE, (r) => r.subHeapKiB),
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
  '+sub heap ÷ ws',
];
say(
  `\n== Memory per connection, ${fmt.int(connections)} open, subscribed to ${topicsText} (after forced GC); medians of ${runs} run(s) ==`,
);
say(fmt.textTable(header, rows));
say(
  '  (+sub = growth when every connection subscribes once; RSS moves in steps of ±1–2 KiB/conn, heap is the stable part)',
);
// Switchboard after (this checkout) ÷ before (--before's checkout), medians; below 1 = less memory.
const vs = (measure: string, pick: (r: MemOut) => number) => ({
  measure,
  after: med('switchboard', pick),
  before: med(BEFORE_ID, pick),
  digits: 2,
  better: 'lower' as const,
});
const afterBefore = [
  vs('idle RSS KiB/conn', (r) => r.idleRssKiB),
  vs('idle heap KiB/conn', (r) => r.idleHeapKiB),
  vs('+sub RSS KiB/conn', (r) => r.subRssKiB),
  vs('+sub heap KiB/conn', (r) => r.subHeapKiB),
  vs('subscribed total RSS', (r) => r.idleRssKiB + r.subRssKiB),
];
if (before) say(afterBeforeBlock(before, afterBefore, 'text').join('\n'));
say(
  summary([
    `Memory benchmark (\`tsx bench/memory/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `Server RSS / JS heap growth per connection with ${fmt.int(connections)} raw-socket connections open (idle), then per`,
    `connection when each subscribes to one channel (${topicsText}: \`--topics ${topics}\`); after forced GC; median of ${runs} run(s);`,
    `Switchboard from ${from}.`,
    '',
    fmt.markdownTable(header, rows),
    ...afterBeforeBlock(before, afterBefore, 'markdown'),
  ]),
);
harness.reportFailures();
saveRaw('memory', started, { machine: machine(), started, options: o, from, before, raw: harness.raw });
process.exit(harness.failed ? 1 : 0);
