// Type-check benchmark: generates the projects (see generate.ts), runs
// `tsc --noEmit --extendedDiagnostics -p <project>` on each --runs times (interleaved, so drift hits all alike),
// and prints medians of check time, total time, memory, types and instantiations, with ratios to the
// hand-typed baseline. The target: switchboard ≤ 1.5× baseline in total time.
// Raw results go to bench/results/types-<time>.json (gitignored).
//
// usage: tsx bench/types/run.ts [--runs 3] [--procedures 500] [--channels 100] [--out DIR] [--dist]
//                               [--only baseline,zod-floor,switchboard,trpc]

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate, PROJECTS, type ProjectId, parseGenerateArgs, ROOT } from './generate.js';

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'lib', 'tsc.js');
const TARGET_RATIO = 1.5;

interface Sample {
  checkS: number;
  totalS: number;
  memoryMB: number;
  types: number;
  instantiations: number;
}

function diagnostic(output: string, label: string): number {
  const match = new RegExp(`^${label}:\\s+([\\d.]+)`, 'm').exec(output);
  if (!match) throw new Error(`no "${label}" in tsc output:\n${output}`);
  return Number(match[1]);
}

function typecheck(dir: string): Sample {
  let output: string;
  try {
    output = execFileSync(process.execPath, [TSC, '--noEmit', '--extendedDiagnostics', '-p', dir], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout } = error as { stdout?: string };
    throw new Error(`tsc failed on ${dir}:\n${stdout?.split('\n').slice(0, 30).join('\n')}`);
  }
  return {
    checkS: diagnostic(output, 'Check time'),
    totalS: diagnostic(output, 'Total time'),
    memoryMB: diagnostic(output, 'Memory used') / 1024,
    types: diagnostic(output, 'Types'),
    instantiations: diagnostic(output, 'Instantiations'),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function main(): void {
  const options = parseGenerateArgs(process.argv.slice(2));
  let runs = 3;
  let only: ProjectId[] = [...PROJECTS];
  for (let i = 0; i < options.rest.length; i++) {
    const arg = options.rest[i]!;
    if (arg === '--runs') runs = Number.parseInt(options.rest[++i] ?? '', 10);
    else if (arg === '--only') only = (options.rest[++i] ?? '').split(',') as ProjectId[];
    else if (arg === '--help' || arg === '-h') {
      console.log(
        'usage: tsx bench/types/run.ts [--runs 3] [--procedures 500] [--channels 100] [--out DIR] [--dist] [--only baseline,zod-floor,switchboard,trpc]',
      );
      return;
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!(runs > 0)) throw new Error('--runs must be ≥ 1');
  for (const id of only) if (!PROJECTS.includes(id)) throw new Error(`unknown project ${id}`);
  if (!only.includes('baseline')) only.unshift('baseline');

  const dirs = generate(options);
  console.log(
    `${options.procedures} procedures, ${options.channels} channels (trpc: procedures only); ` +
      `@switchboard/* from ${options.dist ? 'dist .d.ts' : 'sources'}; ${runs} runs; TypeScript ${tscVersion()}\n` +
      `projects in ${options.out}\n`,
  );
  const samples = Object.fromEntries(only.map((id) => [id, [] as Sample[]])) as Record<ProjectId, Sample[]>;
  typecheck(dirs.baseline); // warm the file cache, unmeasured
  for (let run = 1; run <= runs; run++) {
    for (const id of only) {
      const sample = typecheck(dirs[id]);
      samples[id].push(sample);
      console.log(
        `run ${run} ${id.padEnd(12)} check ${sample.checkS.toFixed(2)} s  total ${sample.totalS.toFixed(2)} s`,
      );
    }
  }

  const medians = Object.fromEntries(
    only.map((id) => [
      id,
      {
        checkS: median(samples[id].map((s) => s.checkS)),
        totalS: median(samples[id].map((s) => s.totalS)),
        memoryMB: median(samples[id].map((s) => s.memoryMB)),
        types: median(samples[id].map((s) => s.types)),
        instantiations: median(samples[id].map((s) => s.instantiations)),
      },
    ]),
  ) as Record<ProjectId, Sample>;
  const base = medians.baseline;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(
    '\n| project | check time | × | total time | × | memory | × | types | instantiations |\n| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
  );
  for (const id of only) {
    const m = medians[id];
    console.log(
      `| ${id} | ${m.checkS.toFixed(2)} s | ${ratio(m.checkS, base.checkS)} | ${m.totalS.toFixed(2)} s | ${ratio(m.totalS, base.totalS)} | ` +
        `${m.memoryMB.toFixed(0)} MB | ${ratio(m.memoryMB, base.memoryMB)} | ${m.types} | ${m.instantiations} |`,
    );
  }
  if (medians.switchboard) {
    const total = medians.switchboard.totalS / base.totalS;
    console.log(
      `\nswitchboard / baseline total time: ${total.toFixed(2)}× (target ≤ ${TARGET_RATIO}×): ${total <= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    );
  }
  const resultsDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `types-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ options, runs, samples, medians }, null, 2)}\n`);
  console.log(`raw results: ${path.relative(ROOT, file)}`);
}

function tscVersion(): string {
  return execFileSync(process.execPath, [TSC, '--version'], { encoding: 'utf8' }).trim().replace('Version ', '');
}

main();
