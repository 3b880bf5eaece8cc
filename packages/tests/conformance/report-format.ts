// Plain-text rendering of a conformance report: one table per category, then totals.
import type { CaseResult } from './case-types.js';
import { VERDICTS } from './case-types.js';
import { CATEGORY_NAMES } from './cases/index.js';
import type { Report } from './runner.js';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const padLeft = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function row(r: CaseResult, verbose: boolean): string {
  const code = r.remoteCloseCode === undefined ? '-' : String(r.remoteCloseCode);
  const cells = `  ${pad(r.id, 9)} ${pad(r.verdict, 14)} ${pad(r.closeBehavior, 17)} ${padLeft(code, 5)} ${padLeft(`${Math.round(r.durationMs)} ms`, 9)}`;
  const showNote = verbose || (r.verdict !== 'OK' && r.verdict !== 'INFORMATIONAL') || r.closeBehavior !== 'OK';
  const note =
    r.verdict === 'INFORMATIONAL'
      ? r.result
      : r.closeBehavior !== 'OK' && r.behavior !== 'FAILED'
        ? r.resultClose
        : r.result;
  return showNote ? `${cells}  ${note}` : cells;
}

export function formatReport(report: Report, opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const byCategory = new Map<string, CaseResult[]>();
  for (const r of report.results) {
    const cat = r.id.split('.')[0] ?? '?';
    const list = byCategory.get(cat) ?? [];
    list.push(r);
    byCategory.set(cat, list);
  }
  for (const [cat, results] of byCategory) {
    const counts = VERDICTS.map((v) => [v, results.filter((r) => r.verdict === v).length] as const)
      .filter(([, n]) => n > 0)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ');
    lines.push('', `${cat} ${CATEGORY_NAMES[cat] ?? 'Misc'} — ${results.length} cases (${counts})`);
    lines.push(
      `  ${pad('case', 9)} ${pad('verdict', 14)} ${pad('close', 17)} ${padLeft('code', 5)} ${padLeft('time', 9)}`,
    );
    for (const r of results) lines.push(row(r, opts.verbose ?? false));
  }
  lines.push(
    '',
    `Totals against ${report.target.host}:${report.target.port} (${report.profile} profile), ${report.results.length} cases in ${(report.durationMs / 1000).toFixed(1)} s:`,
  );
  lines.push(`  ${VERDICTS.map((v) => `${v} ${report.counts[v]}`).join('  ')}`);
  return lines.join('\n');
}
