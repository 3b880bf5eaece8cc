// Counts the type checker's core operations on the generated projects: exact and repeatable,
// unlike times on a shared machine. Copies TypeScript's lib/ to a temp dir, adds a counter at
// the top of each function named below in _tsc.js, and runs that tsc on each project.
//
// usage: tsx bench/types/count.ts [--out DIR] [--only baseline,zod-floor,switchboard]
//   (generate the projects first: tsx bench/types/generate.ts [--dist] [--out DIR])

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_OUT, PROJECTS, ROOT } from './generate.js';

const COUNTED = [
  'instantiateTypeWithAlias',
  'isRelatedTo',
  'structuredTypeRelatedTo',
  'getPropertyOfType',
  'getPropertiesOfType',
  'resolveStructuredTypeMembers',
  'getIndexedAccessType',
  'getUnionType',
  'inferFromTypes',
  'propertiesRelatedTo',
  'getApparentType',
  'checkExpression',
  'getTypeOfSymbol',
  'getReducedType',
  'createType',
  'getConditionalType',
  'getSimplifiedType',
  'getTypeOfPropertyOfContextualType',
  'isTypeAssignableTo',
  'getIntersectionType',
  'createObjectType',
  'instantiateSignature',
  'getSignaturesOfType',
  'resolveCall',
  'checkObjectLiteral',
  'getContextualType',
  'compareSignaturesRelated',
  'getBaseConstraintOfType',
  'inferTypes',
  'getWidenedType',
  'isTypeRelatedTo',
] as const;

function patchedTsc(): { tsc: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-tscount-'));
  cpSync(path.join(ROOT, 'node_modules/typescript'), dir, { recursive: true });
  const file = path.join(dir, 'lib/_tsc.js');
  let source = readFileSync(file, 'utf8');
  for (const name of COUNTED) {
    const pattern = new RegExp(`(\\bfunction ${name}\\([^)]*\\)[^{]*\\{)`, 'g');
    const found = source.match(pattern)?.length ?? 0;
    if (found === 0) throw new Error(`no function ${name} in ${file}: another TypeScript version?`);
    source = source.replace(pattern, `$1 __C.${name}++;`);
  }
  const counters = `var __C = globalThis.__C = {${COUNTED.map((name) => `${name}: 0`).join(', ')}};
process.on('exit', () => require('fs').writeFileSync(process.env.COUNT_OUT, JSON.stringify(__C)));
`;
  writeFileSync(file, source.replace('"use strict";', `"use strict";\n${counters}`));
  return { tsc: path.join(dir, 'lib/tsc.js'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function main(): void {
  const args = process.argv.slice(2);
  let out = DEFAULT_OUT;
  let only: string[] = ['baseline', 'zod-floor', 'switchboard'];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') out = args[++i] ?? out;
    else if (args[i] === '--only') only = (args[++i] ?? '').split(',');
    else {
      process.stderr.write(
        'usage: tsx bench/types/count.ts [--out DIR] [--only baseline,zod-floor,switchboard,trpc]\n',
      );
      process.exit(2);
    }
  }
  const { tsc, cleanup } = patchedTsc();
  try {
    const rows: Array<[string, Record<string, number>]> = [];
    for (const project of only) {
      if (!(PROJECTS as readonly string[]).includes(project) || !existsSync(path.join(out, project))) {
        throw new Error(`no project ${project} in ${out}: run bench/types/generate.ts first`);
      }
      const countFile = path.join(os.tmpdir(), `switchboard-count-${project}.json`);
      try {
        execFileSync(process.execPath, [tsc, '--noEmit', '-p', path.join(out, project)], {
          env: { ...process.env, COUNT_OUT: countFile },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
      } catch {
        // tsc exits non-zero on type errors; the counts are still written.
      }
      rows.push([project, JSON.parse(readFileSync(countFile, 'utf8')) as Record<string, number>]);
    }
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);
    const base = rows[0]?.[1];
    for (const [project, counts] of rows) {
      const ratio = base === undefined ? '' : ` (${(total(counts) / total(base)).toFixed(2)}× ${rows[0]?.[0]})`;
      process.stdout.write(`${project.padEnd(12)} ${(total(counts) / 1e6).toFixed(2)} M operations${ratio}\n`);
    }
  } finally {
    cleanup();
  }
}

main();
