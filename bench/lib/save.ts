// Writes a run.ts script's raw results to bench/results/<name>-<time>.json (gitignored).

import { mkdirSync, writeFileSync } from 'node:fs';
import { say } from './out.js';
import { ROOT } from './proc.js';

export function saveRaw(name: string, started: Date, report: unknown): void {
  const file = `${ROOT}bench/results/${name}-${started.toISOString().replace(/[:.]/g, '-')}.json`;
  try {
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    say(`raw results: ${file}`);
  } catch (err) {
    process.stderr.write(`could not write ${file}: ${(err as Error).message}\n`);
  }
}
