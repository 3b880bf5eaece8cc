import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// What tsc prints for a misspelled name (the type tests can only say that it is an error):
// the TypeScript compiler API checks a source text written beside fixture.ts, with the root
// tsconfig's options (so `@switchboard/*` are the sources).

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');

/** The diagnostics of `source`, as tsc prints their text, keyed by the line they are on. */
function diagnosticsOf(source: string): Map<number, string> {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('no tsconfig.json');
  const file = path.join(HERE, 'misspelled-names.virtual.ts');
  const host = ts.createCompilerHost(config.options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], config.options, host);
  const sourceFile = program.getSourceFile(file)!;
  const lines = new Map<number, string>();
  for (const diagnostic of program.getSemanticDiagnostics(sourceFile)) {
    const { line } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    lines.set(line + 1, ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  }
  return lines;
}

describe('compile errors for misspelled names', () => {
  it('name the close match, for call, subscribe and publish', () => {
    const errors = diagnosticsOf(
      [
        "import type { Client } from '@switchboard/client';",
        "import type { SwitchboardServer } from '@switchboard/server';",
        "import type { AppContract } from './fixture.js';",
        'declare const client: Client<AppContract>;',
        'declare const server: SwitchboardServer<AppContract>;',
        "client.call('ad', { a: 1, b: 2 });", // 6
        "client.call('USER.GET', { id: 'u1' });", // 7
        "client.call('get', { id: 'u1' });", // 8
        "client.call('pnig');", // 9
        "client.call('zzz');", // 10
        "client.subscribe('metric', { host: 'a' }, { onMessage: () => {} });", // 11
        "server.publish('chat.rooms', { id: '1' }, { text: 'hi', at: '2024-01-01' });", // 12
        "client.call('add', { a: 1, b: 2 });", // 13: correct
      ].join('\n'),
    );
    expect(errors.get(6)).toContain("'ad' is not a procedure of the contract. Did you mean 'add'?");
    expect(errors.get(7)).toContain("Did you mean 'user.get'?");
    expect(errors.get(8)).toContain("Did you mean 'user.get'?");
    expect(errors.get(9)).toContain("Did you mean 'ping'?");
    // Nothing close: some names, namespaces shown once (`user.…`).
    expect(errors.get(10)).toContain("'zzz' is not a procedure of the contract. Its procedures include ");
    expect(errors.get(10)).toContain("'user.…'");
    expect(errors.get(11)).toContain("'metric' is not a channel of the contract. Did you mean 'metrics'?");
    expect(errors.get(12)).toContain("'chat.rooms' is not a channel of the contract. Did you mean 'chat.room'?");
    expect([...errors.keys()].sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10, 11, 12]);
  });

  it('stays short for a contract of 500 procedures', () => {
    const procedures = Array.from(
      { length: 500 },
      (_, i) => `  'ns${i % 20}.p${i}': procedure({ input: z.object({ a: z.number() }), output: z.number() }),`,
    );
    const lines = [
      "import type { Client } from '@switchboard/client';",
      "import { defineContract, procedure } from '@switchboard/contract';",
      "import { z } from 'zod';",
      'const contract = defineContract({ procedures: {',
      ...procedures,
      '} });',
      'declare const client: Client<typeof contract>;',
      "client.call('ns3.p43', { a: 1 });",
      "client.call('sn3.p43', { a: 1 });",
      "client.call('NS3.P43', { a: 1 });",
      "client.call('zzz', { a: 1 });",
    ];
    const errors = diagnosticsOf(lines.join('\n'));
    const typo = lines.length - 2;
    expect([...errors.keys()]).toEqual([typo, typo + 1, typo + 2]);
    expect(errors.get(typo)).toContain("'sn3.p43' is not a procedure of the contract. Did you mean 'ns3.p43'?");
    expect(errors.get(typo + 1)).toContain("Did you mean 'ns3.p43'?");
    // Nothing close: namespaces, not 500 names.
    expect(errors.get(typo + 2)).toContain("'zzz' is not a procedure of the contract. Its procedures include 'ns");
    for (const text of errors.values()) {
      expect(text.length).toBeLessThan(400);
      expect(text).not.toContain('Contract<');
      expect(text.match(/'ns\d+\.[^']*'/g)?.length ?? 0).toBeLessThanOrEqual(5);
    }
  });
});
