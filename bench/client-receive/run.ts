// Client-receive benchmark: CPU per delivered channel message in a process that holds
// --clients subscribed clients of one library (Node, `ws` as the WebSocket): Switchboard's
// client, a thin ws JSON client (the floor: JSON.parse and a callback) and socket.io-client,
// each against its own server (bench/rpc/servers). Phases as in bench/fanout: saturation, then
// --rate publishes/s (every client keeps up; the fixed-rate phase is the one to compare).
// Ratios ÷ the thin client. With --before <dir>, Switchboard from another checkout runs too.
// Raw: bench/results/client-receive-<time>.json.

import { flags, int, parseOrHelp, selectOrExit } from '../lib/args.js';
import { Harness } from '../lib/harness.js';
import { machine, say, summary } from '../lib/out.js';
import { enablePinning, runClient } from '../lib/proc.js';
import * as fmt from '../lib/report.js';
import { saveRaw } from '../lib/save.js';
import { beforeOrExit } from '../rpc/before.js';
import type { RpcContender } from '../rpc/common.js';
import {
  afterBeforeBlock,
  BASELINE_ID,
  BEFORE_ID,
  expectSwitchboardFrom,
  select,
  switchboardFrom,
} from '../rpc/common.js';
import { RECEIVER_IDS } from './receivers.js';

const USAGE = `usage: tsx bench/client-receive/run.ts [options]
  --only a,b          contenders (default all): ${RECEIVER_IDS.join(', ')}
  --runs N            runs per contender, medians reported (default 3)
  --clients N         subscribed clients in the one client process (default 2000)
  --duration-ms N     publishing time per phase (default 3000)
  --rate N            publishes/s in the fixed-rate phase (default 20: 40,000 deliveries/s at 2,000)
  --from dist|src     where @switchboard/* are loaded from (default dist)
  --before <dir>      also run ${BEFORE_ID} (see bench/rpc/before.ts), with after ÷ before ratios
  --pin               servers on CPU 0, the client process on CPU 1`;
const o = parseOrHelp(
  {
    only: { type: 'string', default: RECEIVER_IDS.join(',') },
    runs: { type: 'string', default: '3' },
    clients: { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '3000' },
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
const contenders = selectOrExit((list) => select(list, before), o.only).filter((c) => c.client !== 'trpc');
const runs = int('runs', o.runs, 1, 50);
const clients = int('clients', o.clients, 1, 19_000);
const durationMs = int('duration-ms', o['duration-ms'], 100, 120_000);
const rate = int('rate', o.rate, 1, 100_000);
if (o.pin) enablePinning();

interface Phase {
  phase: string;
  published: number;
  expected: number;
  delivered: number;
  lost: number;
  elapsedMs: number;
  cpuUs: number;
  clientCpu: number;
  usPerMessage: number;
  machineCores: number;
}
interface Out {
  clients: number;
  phases: Phase[];
  unexpected: number;
}

const harness = new Harness<RpcContender>({ onStart: expectSwitchboardFrom(from, before) });
const results = new Map<string, Out[]>();
const started = new Date();
say(`Client-receive benchmark — ${machine()}`);
say(
  `contenders: ${contenders.map((c) => c.id).join(', ')}; ${fmt.int(clients)} clients in one process; ${runs} run(s) of ` +
    `${durationMs} ms saturation + ${durationMs} ms at ${rate} publishes/s; switchboard from ${from}`,
);
const labelWidth = Math.max(18, ...contenders.map((c) => c.label.length));
const line = (p: Phase): string =>
  `${fmt.int(p.delivered)} delivered, client ${fmt.fixed(p.usPerMessage, 2)} µs CPU/message (${fmt.pct(p.clientCpu)})` +
  `${p.lost ? `, LOST ${fmt.int(p.lost)}` : ''}`;
for (let run = 1; run <= runs; run++) {
  for (const c of contenders) {
    const r = await harness.withServer(c, 'client-receive', true, async (server) => {
      const controlPort = Number(server.info.control);
      if (!Number.isInteger(controlPort)) throw new Error('server did not announce its control port');
      const out = await runClient<Out>(
        'client-receive/clients.ts',
        flags({
          contender: c.client,
          port: server.port,
          control: controlPort,
          clients,
          'duration-ms': durationMs,
          rate,
        }),
        server,
        240_000 + 2 * durationMs,
        c.env,
      );
      if (out.unexpected > 0) throw new Error(`${out.unexpected} messages were not feed messages`);
      return out;
    });
    if (!r) continue;
    results.set(c.id, [...(results.get(c.id) ?? []), r]);
    const prefix = `  run ${run}/${runs}  ${c.label.padEnd(labelWidth)}`;
    say(`${prefix} saturation ${line(r.phases[0] as Phase)}`);
    say(`${''.padEnd(prefix.length)} fixed rate ${line(r.phases[1] as Phase)}`);
  }
}

const med = (id: string, index: number, pick: (p: Phase) => number): number =>
  fmt.median((results.get(id) ?? []).map((r) => pick(r.phases[index] as Phase)));
const baseRate = med(BASELINE_ID, 1, (p) => p.usPerMessage);
const baseSat = med(BASELINE_ID, 0, (p) => p.usPerMessage);
const rows = contenders
  .filter((c) => results.has(c.id))
  .map((c) => [
    c.id === BASELINE_ID ? 'thin ws JSON client' : c.label,
    fmt.fixed(
      med(c.id, 1, (p) => p.usPerMessage),
      2,
    ),
    fmt.ratio(
      med(c.id, 1, (p) => p.usPerMessage),
      baseRate,
    ),
    fmt.pct(med(c.id, 1, (p) => p.clientCpu)),
    fmt.fixed(
      med(c.id, 0, (p) => p.usPerMessage),
      2,
    ),
    fmt.ratio(
      med(c.id, 0, (p) => p.usPerMessage),
      baseSat,
    ),
    fmt.int(med(c.id, 0, (p) => p.lost + 0)),
  ]);
const header = [
  'client',
  'rate µs CPU/msg',
  'rate ÷ thin',
  'rate client CPU',
  'sat µs CPU/msg',
  'sat ÷ thin',
  'sat lost',
];
say(`\n== Client receive: medians of ${runs} run(s); ratios ÷ the thin ws JSON client (lower is better) ==`);
say(fmt.textTable(header, rows));
const vs = (measure: string, index: number) => ({
  measure,
  after: med('switchboard', index, (p) => p.usPerMessage),
  before: med(BEFORE_ID, index, (p) => p.usPerMessage),
  digits: 2,
  better: 'lower' as const,
});
const afterBefore = [vs('rate µs CPU/msg', 1), vs('sat µs CPU/msg', 0)];
if (before) say(afterBeforeBlock(before, afterBefore, 'text').join('\n'));
say(
  summary([
    `Client-receive benchmark (\`tsx bench/client-receive/run.ts\`), ${started.toISOString().slice(0, 10)}: ${machine()}.`,
    `${fmt.int(clients)} subscribed clients in one Node process (\`ws\` as the WebSocket), one channel; client process CPU`,
    `per delivered message at ${rate} publishes/s (${fmt.int(rate * clients)} deliveries/s) and at saturation; median of ${runs} run(s);`,
    `Switchboard from ${from}.`,
    '',
    fmt.markdownTable(header, rows),
    ...afterBeforeBlock(before, afterBefore, 'markdown'),
  ]),
);
harness.reportFailures();
saveRaw('client-receive', started, { machine: machine(), started, options: o, from, before, raw: harness.raw });
process.exit(harness.failed ? 1 : 0);
