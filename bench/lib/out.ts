// Console output shared by the run.ts scripts: progress lines, loud warnings, the machine line.

import os from 'node:os';

export const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** A framed block on stderr, each line prefixed with `mark`. */
export function loud(lines: readonly string[], mark = '!!'): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `${mark} ${l}`).join('\n')}\n${bar}\n\n`);
}

export function machine(): string {
  const cpus = os.cpus();
  return `Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}`;
}

/** The "paste into docs" block: `lines` between the two rulers, after an empty line. */
export function summary(lines: readonly string[]): string {
  return [
    '',
    '==================== summary (paste into docs) ====================',
    ...lines,
    '===================================================================',
  ].join('\n');
}
