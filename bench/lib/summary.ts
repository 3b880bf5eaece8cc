// The tables run.ts prints at the end, and the markdown block meant for docs.

import type { Contender } from '../echo/contenders.js';
import { summary } from './out.js';
import * as fmt from './report.js';
import type { Results } from './results.js';
import { DISTURBED_CORES, disturbed, medianOf, usable } from './results.js';

export interface ReportContext {
  /** Contenders in the order to print; those in `notRun` get a "not run" row in the summary. */
  contenders: readonly Contender[];
  notRun: ReadonlySet<string>;
  baseline: Contender;
  sizes: readonly number[];
  runs: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  window: number;
  opcode: string;
  memoryConnections: number;
  machine: string;
  date: string;
}

const CLIENT_BOUND = '  (!) load generator above 90% of a core: that row may measure the client, not the server';

/** Load-generator CPU, marked when it is close enough to a full core to be the limit. */
function clientCpu(cpu: number): string {
  return `${fmt.pct(cpu)}${cpu > 0.9 ? ' (!)' : ''}`;
}

function kept(all: readonly { machineCores: number; clientCpu: number; server: { cpu: number } | null }[]): string {
  const clean = all.filter((r) => !disturbed(r)).length;
  return clean === all.length ? `${all.length}` : `${clean}/${all.length}`;
}

/** Per-metric medians and ratios to the baseline. */
export class Medians {
  constructor(
    private readonly r: Results,
    private readonly baseId: string,
  ) {}

  echo(id: string, size: number): number {
    return medianOf(this.r.echo.get(`${id}@${size}`), (x) => x.msgsPerSec);
  }
  handshakes(id: string): number {
    return medianOf(this.r.handshakes.get(id), (x) => x.perSec);
  }
  memory(id: string): number {
    return this.r.memory.get(id)?.rssKiBPerConn ?? Number.NaN;
  }
  echoRatio(id: string, size: number): string {
    return fmt.ratio(this.echo(id, size), this.echo(this.baseId, size));
  }
  handshakesRatio(id: string): string {
    return fmt.ratio(this.handshakes(id), this.handshakes(this.baseId));
  }
  memoryRatio(id: string): string {
    return fmt.ratio(this.memory(id), this.memory(this.baseId));
  }
}

export function printTables(r: Results, ctx: ReportContext, say: (line: string) => void): void {
  const m = new Medians(r, ctx.baseline.id);
  const base = ctx.baseline.label;
  const ran = ctx.contenders.filter((c) => !ctx.notRun.has(c.id));
  const note = `medians of undisturbed runs ("runs" = used/total when others used > ${DISTURBED_CORES} cores)`;

  if (r.echo.size > 0) {
    say(`\n== Echo throughput: ${note}; ratio = msg/s ÷ ${base}, > 1 is faster ==`);
    const rows: string[][] = [];
    for (const size of ctx.sizes) {
      for (const c of ran) {
        const all = r.echo.get(`${c.id}@${size}`) ?? [];
        if (all.length === 0) continue;
        const med = (pick: (x: (typeof all)[number]) => number | undefined): number => medianOf(all, pick);
        rows.push([
          `${fmt.sizeLabel(size)}  ${c.label}`,
          fmt.int(m.echo(c.id, size)),
          fmt.spread(usable(all).map((x) => x.msgsPerSec)),
          kept(all),
          fmt.fixed(
            med((x) => x.payloadMBps),
            1,
          ),
          fmt.fixed(
            med((x) => x.server?.usPerMsg),
            2,
          ),
          fmt.pct(med((x) => x.server?.cpu)),
          fmt.pct(med((x) => x.server?.sysShare)),
          clientCpu(med((x) => x.clientCpu)),
          fmt.fixed(
            med((x) => x.msgsPerRead),
            1,
          ),
          m.echoRatio(c.id, size),
        ]);
      }
    }
    const header = ['size  server', 'msg/s', 'spread', 'runs', 'MB/s', 'srv µs/msg', 'srv CPU', 'srv sys', 'load CPU'];
    say(fmt.textTable([...header, 'msgs/read', `vs ${base}`], rows));
    if (rows.some((row) => row[8]?.endsWith('(!)'))) say(CLIENT_BOUND);
  }

  if (r.handshakes.size > 0) {
    say(`\n== Handshakes/s: ${note}; ratio ÷ ${base}; net = TCP connect + close only ==`);
    const rows = ran
      .filter((c) => r.handshakes.has(c.id))
      .map((c) => {
        const all = r.handshakes.get(c.id) ?? [];
        const med = (pick: (x: (typeof all)[number]) => number | undefined): number => medianOf(all, pick);
        return [
          c.label,
          fmt.int(m.handshakes(c.id)),
          fmt.spread(usable(all).map((x) => x.perSec)),
          kept(all),
          fmt.fixed(
            med((x) => x.server?.usPerHandshake),
            1,
          ),
          fmt.pct(med((x) => x.server?.cpu)),
          clientCpu(med((x) => x.clientCpu)),
          m.handshakesRatio(c.id),
        ];
      });
    say(
      fmt.textTable(
        ['server', 'handshakes/s', 'spread', 'runs', 'srv µs/hs', 'srv CPU', 'load CPU', `vs ${base}`],
        rows,
      ),
    );
    if (rows.some((row) => row[6]?.endsWith('(!)'))) say(CLIENT_BOUND);
  }

  if (r.memory.size > 0) {
    say(`\n== Memory per idle connection, ${fmt.int(ctx.memoryConnections)} open; ratio ÷ ${base}, < 1 is leaner ==`);
    const rows = ran
      .filter((c) => r.memory.has(c.id))
      .map((c) => {
        const x = r.memory.get(c.id);
        return [
          c.label,
          fmt.fixed(x?.rssKiBPerConn, 2),
          fmt.fixed(x?.rssKiBPerConnSecondHalf, 2),
          fmt.fixed(x?.heapKiBPerConn, 2),
          m.memoryRatio(c.id),
        ];
      });
    say(fmt.textTable(['server', 'RSS KiB/conn', '2nd half', 'heap KiB/conn', `vs ${base}`], rows));
    say('  (2nd half = RSS growth per connection from N/2 to N open; far from the first column = RSS noise)');
  }
}

/** The block to paste into docs: context in prose, then one markdown row per contender. */
export function summaryBlock(r: Results, ctx: ReportContext, warnings: readonly string[]): string {
  const m = new Medians(r, ctx.baseline.id);
  const cell = (value: string, ratio: string): string =>
    value === 'n/a' ? '—' : ratio === 'n/a' ? value : `${value} (${ratio})`;
  const header = [
    'server',
    ...ctx.sizes.map((s) => `echo ${fmt.sizeLabel(s)} msg/s`),
    'handshakes/s',
    'idle RSS KiB/conn',
  ];
  const rows = ctx.contenders.map((c) => {
    if (ctx.notRun.has(c.id)) return [c.label, ...header.slice(1).map(() => 'not run')];
    return [
      c.label,
      ...ctx.sizes.map((s) => cell(fmt.int(m.echo(c.id, s)), m.echoRatio(c.id, s))),
      cell(fmt.int(m.handshakes(c.id)), m.handshakesRatio(c.id)),
      cell(fmt.fixed(m.memory(c.id), 1), m.memoryRatio(c.id)),
    ];
  });
  return summary([
    `Echo benchmark (\`npm run bench:echo\`), ${ctx.date}: ${ctx.machine}.`,
    `Server and load generator in separate processes on 127.0.0.1; echo: ${ctx.connections} connections × ${ctx.window}`,
    `${ctx.opcode} messages in flight, median of ${ctx.runs} × ${ctx.durationMs / 1000} s after ${ctx.warmupMs / 1000} s warm-up;`,
    'handshakes: connect + upgrade + close, 50 concurrent; idle RSS: server RSS growth per connection with',
    `${fmt.int(ctx.memoryConnections)} open. Ratios in parentheses are relative to ${ctx.baseline.label}.`,
    ...warnings.map((w) => `Warning: ${w}`),
    '',
    fmt.markdownTable(header, rows),
  ]);
}
