// Strict option parsing shared by the bench scripts (node:util parseArgs + number checks).

import { parseArgs } from 'node:util';

export type OptionTypes = Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>;

export function parse<T extends OptionTypes>(
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ options: T }>>['values'] {
  try {
    return parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
}

/** Integer option in [min, max]; exits with a usage error otherwise. */
export function int(name: string, value: string | boolean | undefined, min: number, max: number): number {
  const n = typeof value === 'string' ? Number(value.replace(/_/g, '')) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be an integer in [${min}, ${max}], got ${String(value)}\n`);
    process.exit(2);
  }
  return n;
}

export function oneOf<T extends string>(name: string, value: string | boolean | undefined, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    process.stderr.write(`--${name} must be one of ${allowed.join(', ')}, got ${String(value)}\n`);
    process.exit(2);
  }
  return found;
}

/** `parse`, then on --help prints the usage and exits 0. */
export function parseOrHelp<T extends OptionTypes>(options: T, usage: string): ReturnType<typeof parse<T>> {
  const values = parse(options, usage);
  if ((values as { help?: unknown }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** The contenders named by --only (`select` throws on an unknown name); exits 2 with its message. */
export function selectOrExit<C>(select: (list: string | undefined) => C[], list: string | undefined): C[] {
  try {
    return select(list);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** `{ port: 1 }` -> `['--port', '1']` for the client scripts. */
export function flags(options: Record<string, string | number>): string[] {
  return Object.entries(options).flatMap(([k, v]) => [`--${k}`, `${v}`]);
}
