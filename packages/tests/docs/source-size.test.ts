import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Small files, each with one job: no source file of a package passes 400 lines (issue 12's
// rule, kept by a test so that a doc comment or a fix does not quietly break it).

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAX_LINES = 400;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('package sources', () => {
  it(`have at most ${MAX_LINES} lines each`, () => {
    const packages = readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'tests')
      .map((entry) => join(ROOT, 'packages', entry.name, 'src'));
    const files = packages.flatMap((src) => sources(src));
    expect(files.length).toBeGreaterThan(50);
    const over = files
      .map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(over).toEqual([]);
  });
});
