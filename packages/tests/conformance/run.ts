// CLI: tsx packages/tests/conformance/run.ts --host 127.0.0.1 --port 9001 [--cases '6.4.*'] [--quick] [--verbose]
// Prints a table per category and the totals; exits 1 if any case FAILED.
import { parseArgs } from 'node:util';
import { formatReport } from './report-format.js';
import { runConformance } from './runner.js';

const USAGE = `usage: run.ts --port <port> [--host 127.0.0.1] [--cases '6.4.*,7.*'] [--timeout <ms>] [--quick] [--verbose] [--json]

  --cases    Autobahn-style patterns, comma separated ('*' is a wildcard)
  --timeout  hard limit for cases without their own (default 15000 ms)
  --quick    reduced sizes/counts for categories 9, 12, 13 (same case ids)
  --verbose  show the outcome note for every case
  --json     print the report as JSON instead of tables`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      cases: { type: 'string' },
      timeout: { type: 'string' },
      quick: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (values.help || !Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
  const report = await runConformance({
    host: values.host,
    port,
    profile: values.quick ? 'quick' : 'full',
    ...(values.cases === undefined ? {} : { filter: values.cases }),
    ...(timeoutMs === undefined || !Number.isFinite(timeoutMs) ? {} : { timeoutMs }),
    onResult: (r, i, total) => {
      if (!values.json && process.stderr.isTTY)
        process.stderr.write(`\r[${i + 1}/${total}] ${r.id} ${r.verdict}        `);
    },
  });
  if (!values.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatReport(report, { verbose: values.verbose }));
  if (report.results.length === 0) {
    console.error(`no case matches "${values.cases ?? ''}"`);
    return 2;
  }
  return report.counts.FAILED > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  },
);
