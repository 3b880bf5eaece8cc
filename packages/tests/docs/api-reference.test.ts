import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Application,
  type Comment,
  DeclarationReflection,
  Logger,
  LogLevel,
  type ProjectReflection,
  type Reflection,
  ReflectionKind,
  ReflectionType,
  type SomeType,
} from 'typedoc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// docs/api/ is TypeDoc's Markdown rendering of the public entry points (typedoc.json). One
// conversion here feeds three checks: the committed reference is what `npm run docs:api`
// writes today, every public export and member has a doc comment, and every option states
// its default.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const committed = join(root, 'docs/api');

/** What TypeDoc says while it converts and validates (broken links, unexported types). */
class CollectingLogger extends Logger {
  readonly problems: string[] = [];
  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.problems.push(message);
  }
}

let project: ProjectReflection;
let logger: CollectingLogger;
let generated: string;

beforeAll(async () => {
  generated = await mkdtemp(join(tmpdir(), 'switchboard-api-'));
  const app = await Application.bootstrapWithPlugins({ options: join(root, 'typedoc.json'), out: generated });
  logger = new CollectingLogger();
  app.logger = logger;
  const converted = await app.convert();
  if (converted === undefined)
    throw new Error(`TypeDoc could not convert the entry points:\n${logger.problems.join('\n')}`);
  project = converted;
  app.validate(project);
  await app.generateOutputs(project);
}, 120_000);

afterAll(async () => {
  if (generated !== undefined) await rm(generated, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** `server/src/rpc/options.ts ServerOptions.limits`: where to add the comment. */
function where(reflection: Reflection): string {
  const id = project.getSymbolIdFromReflection(reflection);
  const name = reflection.getFriendlyFullName().replaceAll('.__type', '');
  return id === undefined
    ? name
    : `${id.packageName.replace('@switchboard/', 'packages/')}/${id.packagePath} ${name.replace(/^[^.]*\./, '')}`;
}

// The kinds TypeDoc's own `notDocumented` check requires, plus constructors.
const DOCUMENTED_KINDS =
  ReflectionKind.Variable |
  ReflectionKind.Function |
  ReflectionKind.Class |
  ReflectionKind.Interface |
  ReflectionKind.TypeAlias |
  ReflectionKind.Enum |
  ReflectionKind.EnumMember |
  ReflectionKind.Property |
  ReflectionKind.Method |
  ReflectionKind.Accessor |
  ReflectionKind.Constructor;

/**
 * Members that need no comment of their own: parameters' and results' inline types
 * (the function's comment says what goes in and out), and the keys of a constant table
 * (`ERROR_CODES`, `CLOSE_CODES`, `*_DEFAULTS`: the table's comment and its values say it).
 */
function exempt(reflection: Reflection): boolean {
  // A constructor type (`new (url) => WebSocketLike`: its alias has the comment) or a class's
  // implicit constructor: nothing in the source to put a comment on.
  if (
    reflection.kindOf(ReflectionKind.Constructor) &&
    (reflection.parent?.kindOf(ReflectionKind.TypeLiteral | ReflectionKind.TypeAlias) ||
      project.getSymbolIdFromReflection(reflection) === undefined)
  ) {
    return true;
  }
  for (let up = reflection.parent; up !== undefined; up = up.parent) {
    if (up.kindOf(ReflectionKind.Parameter | ReflectionKind.SomeSignature | ReflectionKind.Variable)) return true;
  }
  return false;
}

function signaturesOf(reflection: DeclarationReflection) {
  const own = [
    ...(reflection.signatures ?? []),
    ...(reflection.getSignature ? [reflection.getSignature] : []),
    ...(reflection.setSignature ? [reflection.setSignature] : []),
  ];
  return reflection.type instanceof ReflectionType
    ? [...own, ...reflection.type.declaration.getNonIndexSignatures()]
    : own;
}

function comments(reflection: Reflection): Comment[] {
  const all = reflection.comment ? [reflection.comment] : [];
  if (reflection instanceof DeclarationReflection) {
    for (const signature of signaturesOf(reflection)) if (signature.comment) all.push(signature.comment);
  }
  return all;
}

/** A declaration is documented when it, or (for a function or method) each of its signatures, has a comment. */
function documented(reflection: Reflection): boolean {
  if (reflection.hasComment()) return true;
  if (!(reflection instanceof DeclarationReflection)) return false;
  const signatures = signaturesOf(reflection);
  return signatures.length > 0 && signatures.every((signature) => signature.hasComment());
}

function text(comment: Comment): string {
  const parts = [...comment.summary, ...comment.blockTags.flatMap((tag) => tag.content)];
  return parts.map((part) => part.text).join('');
}

/** The object-literal types in a property's type (`{ intervalMs?: number } | false`), whose members are options too. */
function literals(type: SomeType | undefined): DeclarationReflection[] {
  if (type === undefined) return [];
  if (type instanceof ReflectionType) return type.declaration.children?.length ? [type.declaration] : [];
  if (type.type === 'union' || type.type === 'intersection') return type.types.flatMap(literals);
  if (type.type === 'array') return literals(type.elementType);
  return [];
}

const LIMIT_NAME = /^(max|min)[A-Z]|(Ms|Bytes|Chars|PerSecond|Bits|Level|Threshold|Limit)$/;

/** Options a caller sets: optional ones, and any named like a limit (`QueueOptions.maxCalls`). */
function optionsWithoutDefault(owner: DeclarationReflection): Reflection[] {
  const missing: Reflection[] = [];
  for (const property of owner.children ?? []) {
    if (!property.kindOf(ReflectionKind.Property | ReflectionKind.Accessor)) continue;
    const nested = literals(property.type);
    if (nested.length > 0) {
      missing.push(...nested.flatMap(optionsWithoutDefault));
      continue;
    }
    if (!property.flags.isOptional && !LIMIT_NAME.test(property.name)) continue;
    const stated = comments(property).some(
      (comment) =>
        comment.hasModifier('@defaultValue') || comment.getTag('@default') || /\bdefault/i.test(text(comment)),
    );
    if (!stated) missing.push(property);
  }
  return missing;
}

describe('the API reference (docs/api/)', () => {
  it('is what `npm run docs:api` generates from the sources today', async () => {
    const expected = await files(generated);
    const actual = await files(committed);
    const stale: string[] = [];
    for (const file of new Set([...expected, ...actual])) {
      const [fresh, old] = await Promise.all([
        readFile(join(generated, file)).catch(() => undefined),
        readFile(join(committed, file)).catch(() => undefined),
      ]);
      if (fresh === undefined) stale.push(`${file}: no longer generated`);
      else if (old === undefined) stale.push(`${file}: missing`);
      else if (!fresh.equals(old)) stale.push(`${file}: differs`);
    }
    expect(expected.length, 'TypeDoc generated nothing').toBeGreaterThan(0);
    expect(
      stale,
      `docs/api/ is out of date: run \`npm run docs:api\` and commit the result.\n${stale.join('\n')}\n`,
    ).toEqual([]);
  });

  it('builds without TypeDoc warnings (broken links, public types that are not exported)', () => {
    expect(logger.problems).toEqual([]);
  });

  it('has a doc comment on every public export and every public member of one', () => {
    const missing = project
      .getReflectionsByKind(DOCUMENTED_KINDS)
      .filter((reflection) => !exempt(reflection) && !documented(reflection))
      .map(where)
      .sort();
    expect(missing, `${missing.length} public declarations have no doc comment:\n${missing.join('\n')}\n`).toEqual([]);
  });

  it('states the default of every option', () => {
    const owners = project
      .getReflectionsByKind(ReflectionKind.Interface | ReflectionKind.TypeAlias)
      .filter((reflection) => /(Options|Limits)$/.test(reflection.name) && !reflection.name.startsWith('Resolved'));
    expect(owners.map((owner) => owner.name)).toContain('ServerLimits');
    const missing = owners
      .flatMap((owner) =>
        optionsWithoutDefault(
          owner instanceof DeclarationReflection && owner.type instanceof ReflectionType
            ? owner.type.declaration
            : (owner as DeclarationReflection),
        ),
      )
      .map(where)
      .sort();
    expect(missing, `${missing.length} options state no default (add \`@default\`):\n${missing.join('\n')}\n`).toEqual(
      [],
    );
  });
});
