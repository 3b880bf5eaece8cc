// Generates the type-check benchmark projects: the same N zod procedures (and M channels) as
//   switchboard  — defineContract + defineRouter implementing all + createClient calling/subscribing to all
//   baseline     — the same zod schemas, their z.infer types written out by hand as a plain interface of
//                  functions, an implementation of that interface and calls against it
//   zod-floor    — the baseline with every hand-written type replaced by z.input / z.output of its schema:
//                  what any zod-typed framework pays before its own machinery (not a target, a floor)
//   trpc         — a tRPC v11 router of the same procedures (20 nested routers) + createTRPCClient calling each
//                  (procedures only: tRPC subscriptions are not part of the comparison)
// Each project gets its own tsconfig (strict, skipLibCheck, moduleResolution bundler). @switchboard/* resolve
// to the packages' sources, like the root tsconfig (or to their built .d.ts with `--dist`).
// The projects go to a temp dir, not under bench/: the root tsconfig includes bench/, and `npm run typecheck`
// must not check 500-procedure fixtures. A `node_modules` symlink there resolves zod, @trpc/* and @types/node.
//
// usage: tsx bench/types/generate.ts [--procedures 500] [--channels 100] [--out DIR] [--dist]

import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../packages/tests/support/seeded-random.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_OUT = path.join(os.tmpdir(), 'switchboard-bench-types');
export const PROJECTS = ['baseline', 'zod-floor', 'switchboard', 'trpc'] as const;
export type ProjectId = (typeof PROJECTS)[number];

export interface GenerateOptions {
  procedures: number;
  channels: number;
  out: string;
  /** Resolve @switchboard/* to packages/x/dist/index.d.ts instead of the sources. */
  dist: boolean;
}

/** One field kind: its zod schema, the type z.infer gives it written by hand, and a value of it. */
interface Kind {
  zod: string;
  ts: string;
  value: string;
  optional?: boolean;
}

const KINDS: Kind[] = [
  { zod: 'z.string()', ts: 'string', value: "'s'" },
  { zod: 'z.number()', ts: 'number', value: '1' },
  { zod: 'z.number().int().min(0)', ts: 'number', value: '2' },
  { zod: 'z.boolean()', ts: 'boolean', value: 'true' },
  { zod: 'z.date()', ts: 'Date', value: 'new Date(0)' },
  { zod: 'z.array(z.string())', ts: 'string[]', value: "['a']" },
  { zod: 'z.number().optional()', ts: 'number | undefined', value: '3', optional: true },
  { zod: "z.enum(['a', 'b', 'c'])", ts: "'a' | 'b' | 'c'", value: "'b' as const" },
  { zod: 'z.object({ id: z.string(), n: z.number() })', ts: '{ id: string; n: number }', value: "{ id: 'i', n: 1 }" },
  { zod: 'z.string().nullable()', ts: 'string | null', value: 'null' },
  { zod: 'z.record(z.string(), z.number())', ts: 'Record<string, number>', value: '{}' },
  { zod: 'z.email()', ts: 'string', value: "'a@b.co'" },
  {
    zod: 'z.array(z.object({ k: z.string(), v: z.boolean() }))',
    ts: 'Array<{ k: string; v: boolean }>',
    value: "[{ k: 'k', v: false }]",
  },
];

interface Field {
  name: string;
  kind: Kind;
}
interface Shape {
  fields: Field[];
}
interface ProcedureSpec {
  /** Contract / interface name, e.g. `ns3.p42`. */
  name: string;
  ns: string;
  local: string;
  input: Shape;
  output: Shape;
}
interface ChannelSpec {
  name: string;
  params: Shape;
  message: Shape;
}

const NAMESPACES = 20;

function shape(random: () => number, min: number, max: number, prefix: string): Shape {
  const count = min + Math.floor(random() * (max - min + 1));
  const fields: Field[] = [];
  for (let i = 0; i < count; i++) {
    // The first field is always required, so handlers and callers have something to read.
    let kind = KINDS[Math.floor(random() * KINDS.length)]!;
    if (i === 0 && kind.optional) kind = KINDS[0]!;
    fields.push({ name: `${prefix}${i}`, kind });
  }
  return { fields };
}

export function specs(procedures: number, channels: number): { procs: ProcedureSpec[]; chans: ChannelSpec[] } {
  const random = seededRandom(0x5b);
  const procs: ProcedureSpec[] = [];
  for (let i = 0; i < procedures; i++) {
    const ns = `ns${i % NAMESPACES}`;
    const local = `p${i}`;
    procs.push({
      name: `${ns}.${local}`,
      ns,
      local,
      input: shape(random, 1, 6, 'in'),
      output: shape(random, 2, 8, 'out'),
    });
  }
  const chans: ChannelSpec[] = [];
  for (let i = 0; i < channels; i++) {
    chans.push({ name: `ch${i % 10}.c${i}`, params: shape(random, 1, 2, 'key'), message: shape(random, 2, 5, 'm') });
  }
  return { procs, chans };
}

const zodObject = (s: Shape) => `z.object({ ${s.fields.map((f) => `${f.name}: ${f.kind.zod}`).join(', ')} })`;
const tsObject = (s: Shape) =>
  `{ ${s.fields.map((f) => `${f.name}${f.kind.optional ? '?' : ''}: ${f.kind.ts}`).join('; ')} }`;
const literalOf = (s: Shape) => `{ ${s.fields.map((f) => `${f.name}: ${f.kind.value}`).join(', ')} }`;
const id = (name: string) => name.replace('.', '_');

/** The schemas, as standalone exported consts: shared text of all three projects. */
function schemasFile(procs: ProcedureSpec[], chans: ChannelSpec[]): string {
  const lines = ["import { z } from 'zod';", ''];
  for (const p of procs) {
    lines.push(`export const ${id(p.name)}_in = ${zodObject(p.input)};`);
    lines.push(`export const ${id(p.name)}_out = ${zodObject(p.output)};`);
  }
  for (const c of chans) {
    lines.push(`export const ${id(c.name)}_params = ${zodObject(c.params)};`);
    lines.push(`export const ${id(c.name)}_message = ${zodObject(c.message)};`);
  }
  return `${lines.join('\n')}\n`;
}

const SINK = 'export function sink(_value: unknown): void {}\n';

function switchboardFiles(procs: ProcedureSpec[], chans: ChannelSpec[]): Record<string, string> {
  const contract = [
    "import { channel, defineContract, procedure } from '@switchboard/contract';",
    "import * as s from './schemas.js';",
    '',
    'export const contract = defineContract({',
    '  procedures: {',
    ...procs.map((p) => `    '${p.name}': procedure({ input: s.${id(p.name)}_in, output: s.${id(p.name)}_out }),`),
    '  },',
    '  channels: {',
    ...chans.map(
      (c) => `    '${c.name}': channel({ params: s.${id(c.name)}_params, message: s.${id(c.name)}_message }),`,
    ),
    '  },',
    '});',
    'export type AppContract = typeof contract;',
  ];
  const router = [
    "import { defineRouter } from '@switchboard/server';",
    "import { contract } from './contract.js';",
    "import { sink } from './sink.js';",
    '',
    'export const router = defineRouter(contract, {',
    '  context: async ({ request }) => ({ user: request.headers.authorization ?? null }),',
    '  procedures: {',
    ...procs.map(
      (p) =>
        `    '${p.name}': async ({ input, ctx }) => {\n      sink([input.${p.input.fields[0]!.name}, ctx.user]);\n      return ${literalOf(p.output)};\n    },`,
    ),
    '  },',
    '  channels: {',
    ...chans.map(
      (c) =>
        `    '${c.name}': {\n      authorize: ({ params, ctx }) => {\n        sink([params.${c.params.fields[0]!.name}, ctx.user]);\n        return true;\n      },\n    },`,
    ),
    '  },',
    '});',
  ];
  const client = [
    "import { createClient } from '@switchboard/client';",
    "import type { AppContract } from './contract.js';",
    "import { sink } from './sink.js';",
    '',
    "const client = createClient<AppContract>({ url: 'ws://localhost:8080' });",
    '',
    'export async function callAll(): Promise<void> {',
    ...procs.map((p) => `  sink((await client.call('${p.name}', ${literalOf(p.input)})).${p.output.fields[0]!.name});`),
    '}',
    '',
    'export function subscribeAll(): void {',
    ...chans.map(
      (c) =>
        `  client.subscribe('${c.name}', ${literalOf(c.params)}, { onMessage: (m) => sink(m.${c.message.fields[0]!.name}) });`,
    ),
    '}',
  ];
  return {
    'contract.ts': `${contract.join('\n')}\n`,
    'router.ts': `${router.join('\n')}\n`,
    'client.ts': `${client.join('\n')}\n`,
  };
}

/** `implType`: the interface the implementation is checked against (the zod floor's differs from the callers'). */
function baselineFiles(procs: ProcedureSpec[], chans: ChannelSpec[], implType = 'Api'): Record<string, string> {
  const api = [
    '/** The z.infer types of the schemas, written out by hand. */',
    'export interface Ctx {',
    '  user: string | null;',
    '}',
    '',
    'export interface Api {',
    ...procs.map((p) => `  '${p.name}'(input: ${tsObject(p.input)}): Promise<${tsObject(p.output)}>;`),
    '}',
    '',
    'export interface Channels {',
    ...chans.map(
      (c) =>
        `  '${c.name}'(params: ${tsObject(c.params)}, onMessage: (message: ${tsObject(c.message)}) => void): () => void;`,
    ),
    '}',
    '',
    'export interface Authorizers {',
    ...chans.map((c) => `  '${c.name}'(params: ${tsObject(c.params)}, ctx: Ctx): boolean;`),
    '}',
  ];
  const impl = [
    `import type { ${implType}, Authorizers, Ctx } from './api.js';`,
    "import * as s from './schemas.js';",
    "import { sink } from './sink.js';",
    '',
    'export const schemas = s;',
    'const ctx: Ctx = { user: null };',
    '',
    `export const api: ${implType} = {`,
    ...procs.map(
      (p) =>
        `  '${p.name}': async (input) => {\n    sink([input.${p.input.fields[0]!.name}, ctx.user]);\n    return ${literalOf(p.output)};\n  },`,
    ),
    '};',
    '',
    'export const authorizers: Authorizers = {',
    ...chans.map(
      (c) =>
        `  '${c.name}': (params, ctx) => {\n    sink([params.${c.params.fields[0]!.name}, ctx.user]);\n    return true;\n  },`,
    ),
    '};',
  ];
  const client = [
    "import type { Api, Channels } from './api.js';",
    "import { sink } from './sink.js';",
    '',
    'declare const api: Api;',
    'declare const channels: Channels;',
    '',
    'export async function callAll(): Promise<void> {',
    ...procs.map((p) => `  sink((await api['${p.name}'](${literalOf(p.input)})).${p.output.fields[0]!.name});`),
    '}',
    '',
    'export function subscribeAll(): void {',
    ...chans.map(
      (c) => `  channels['${c.name}'](${literalOf(c.params)}, (m) => sink(m.${c.message.fields[0]!.name}));`,
    ),
    '}',
  ];
  return {
    'api.ts': `${api.join('\n')}\n`,
    'impl.ts': `${impl.join('\n')}\n`,
    'client.ts': `${client.join('\n')}\n`,
  };
}

/**
 * The baseline's interfaces with zod's inferred types in place of the hand-written ones: callers see
 * z.input of the input schema and z.output of the output schema, implementations the other halves.
 */
function zodFloorFiles(procs: ProcedureSpec[], chans: ChannelSpec[]): Record<string, string> {
  const zin = (schema: string) => `z.input<typeof s.${schema}>`;
  const zout = (schema: string) => `z.output<typeof s.${schema}>`;
  const api = [
    "import type { z } from 'zod';",
    "import type * as s from './schemas.js';",
    '',
    'export interface Ctx {',
    '  user: string | null;',
    '}',
    '',
    '/** What callers see. */',
    'export interface Api {',
    ...procs.map((p) => `  '${p.name}'(input: ${zin(`${id(p.name)}_in`)}): Promise<${zout(`${id(p.name)}_out`)}>;`),
    '}',
    '',
    '/** What implementations see. */',
    'export interface Impl {',
    ...procs.map((p) => `  '${p.name}'(input: ${zout(`${id(p.name)}_in`)}): Promise<${zin(`${id(p.name)}_out`)}>;`),
    '}',
    '',
    'export interface Channels {',
    ...chans.map(
      (c) =>
        `  '${c.name}'(params: ${zin(`${id(c.name)}_params`)}, onMessage: (message: ${zout(`${id(c.name)}_message`)}) => void): () => void;`,
    ),
    '}',
    '',
    'export interface Authorizers {',
    ...chans.map((c) => `  '${c.name}'(params: ${zout(`${id(c.name)}_params`)}, ctx: Ctx): boolean;`),
    '}',
  ];
  return { ...baselineFiles(procs, chans, 'Impl'), 'api.ts': `${api.join('\n')}\n` };
}

function trpcFiles(procs: ProcedureSpec[]): Record<string, string> {
  const byNs = new Map<string, ProcedureSpec[]>();
  for (const p of procs) byNs.set(p.ns, [...(byNs.get(p.ns) ?? []), p]);
  const router = [
    "import { initTRPC } from '@trpc/server';",
    "import * as s from './schemas.js';",
    "import { sink } from './sink.js';",
    '',
    'const t = initTRPC.context<{ user: string | null }>().create();',
    '',
    'export const appRouter = t.router({',
  ];
  for (const [ns, list] of byNs) {
    router.push(`  ${ns}: t.router({`);
    for (const p of list) {
      router.push(
        `    ${p.local}: t.procedure.input(s.${id(p.name)}_in).output(s.${id(p.name)}_out).query(async ({ input, ctx }) => {\n      sink([input.${p.input.fields[0]!.name}, ctx.user]);\n      return ${literalOf(p.output)};\n    }),`,
      );
    }
    router.push('  }),');
  }
  router.push('});', 'export type AppRouter = typeof appRouter;');
  const client = [
    "import { createTRPCClient, httpBatchLink } from '@trpc/client';",
    "import type { AppRouter } from './router.js';",
    "import { sink } from './sink.js';",
    '',
    "const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: 'http://localhost:8080' })] });",
    '',
    'export async function callAll(): Promise<void> {',
    ...procs.map(
      (p) => `  sink((await client.${p.ns}.${p.local}.query(${literalOf(p.input)})).${p.output.fields[0]!.name});`,
    ),
    '}',
  ];
  return { 'router.ts': `${router.join('\n')}\n`, 'client.ts': `${client.join('\n')}\n` };
}

function tsconfig(options: GenerateOptions): string {
  const entry = (pkg: string, sub = '') =>
    options.dist
      ? path.join(ROOT, 'packages', pkg, 'dist', sub, 'index.d.ts')
      : path.join(ROOT, 'packages', pkg, 'src', sub, 'index.ts');
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'DOM'],
        module: 'ESNext',
        moduleResolution: 'Bundler',
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        isolatedModules: true,
        types: ['node'],
        paths: {
          '@switchboard/contract': [entry('contract')],
          '@switchboard/server': [entry('server')],
          '@switchboard/client': [entry('client')],
        },
      },
      include: ['*.ts'],
    },
    null,
    2,
  )}\n`;
}

export function generate(options: GenerateOptions): Record<ProjectId, string> {
  const { procs, chans } = specs(options.procedures, options.channels);
  rmSync(options.out, { recursive: true, force: true });
  mkdirSync(options.out, { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(options.out, 'node_modules'), 'dir');
  const files: Record<ProjectId, Record<string, string>> = {
    switchboard: { 'schemas.ts': schemasFile(procs, chans), ...switchboardFiles(procs, chans) },
    baseline: { 'schemas.ts': schemasFile(procs, chans), ...baselineFiles(procs, chans) },
    'zod-floor': { 'schemas.ts': schemasFile(procs, chans), ...zodFloorFiles(procs, chans) },
    trpc: { 'schemas.ts': schemasFile(procs, []), ...trpcFiles(procs) },
  };
  const dirs = {} as Record<ProjectId, string>;
  for (const project of PROJECTS) {
    const dir = path.join(options.out, project);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig(options));
    writeFileSync(path.join(dir, 'sink.ts'), SINK);
    for (const [name, text] of Object.entries(files[project])) writeFileSync(path.join(dir, name), text);
    dirs[project] = dir;
  }
  return dirs;
}

export function parseGenerateArgs(argv: string[]): GenerateOptions & { rest: string[] } {
  const options: GenerateOptions & { rest: string[] } = {
    procedures: 500,
    channels: 100,
    out: DEFAULT_OUT,
    dist: false,
    rest: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return value;
    };
    if (arg === '--procedures') options.procedures = Number.parseInt(next(), 10);
    else if (arg === '--channels') options.channels = Number.parseInt(next(), 10);
    else if (arg === '--out') options.out = path.resolve(next());
    else if (arg === '--dist') options.dist = true;
    else options.rest.push(arg);
  }
  if (!(options.procedures > 0) || !(options.channels >= 0)) throw new Error('--procedures > 0, --channels ≥ 0');
  return options;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseGenerateArgs(process.argv.slice(2));
  if (options.rest.length > 0) throw new Error(`unknown arguments: ${options.rest.join(' ')}`);
  const dirs = generate(options);
  for (const [project, dir] of Object.entries(dirs)) console.log(`${project.padEnd(12)} ${dir}`);
}
