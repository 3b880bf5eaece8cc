import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { channel, defineContract, procedure } from '../src/contract.js';
import { type ContractFingerprint, contractFingerprint, fingerprintProblem } from '../src/fingerprint.js';
import { shortHash } from '../src/short-hash.js';
import { buildContract, type Change } from './fixtures/versioned-contract.js';

// contractFingerprint: small, plain JSON, the same for the same contract in any process, and
// different only where a schema changed.

const PRINT = fileURLToPath(new URL('./fixtures/print-fingerprint.ts', import.meta.url));

/** The names whose hashes differ between two fingerprints, as `procedures.add.output`. */
function differences(a: ContractFingerprint, b: ContractFingerprint): string[] {
  const found: string[] = [];
  for (const kind of ['procedures', 'channels'] as const) {
    const names = new Set([...Object.keys(a[kind]), ...Object.keys(b[kind])]);
    for (const name of names) {
      const left = (a[kind][name] ?? {}) as Record<string, string>;
      const right = (b[kind][name] ?? {}) as Record<string, string>;
      for (const part of new Set([...Object.keys(left), ...Object.keys(right)])) {
        if (left[part] !== right[part]) found.push(`${kind}.${name}.${part}`);
      }
    }
  }
  return found;
}

describe('shortHash', () => {
  it('writes 53 bits in base 36, at most 11 characters, the same every time', () => {
    expect(shortHash('')).toMatch(/^[0-9a-z]{1,11}$/);
    expect(shortHash('switchboard')).toBe(shortHash('switchboard'));
    expect(shortHash('switchboard')).not.toBe(shortHash('switchboarD'));
  });
});

describe('contractFingerprint', () => {
  it('hashes every schema of every procedure and channel, in two maps, as plain JSON', () => {
    const fingerprint = contractFingerprint(buildContract());
    expect(Object.keys(fingerprint.procedures).sort()).toEqual(['add', 'custom', 'tree', 'valibot', 'when']);
    expect(Object.keys(fingerprint.channels).sort()).toEqual(['add', 'feed']);
    expect(fingerprint.procedures.add).toEqual({ input: expect.any(String), output: expect.any(String) });
    expect(fingerprint.channels.feed).toEqual({ params: expect.any(String), message: expect.any(String) });
    expect(JSON.parse(JSON.stringify(fingerprint))).toEqual(fingerprint);
    for (const hashes of [...Object.values(fingerprint.procedures), ...Object.values(fingerprint.channels)]) {
      for (const hash of Object.values(hashes)) expect(hash).toMatch(/^[0-9a-z]{1,11}$/);
    }
  });

  it('is the same for the same contract built twice, and worked out once per contract object', () => {
    const first = buildContract();
    expect(contractFingerprint(buildContract())).toEqual(contractFingerprint(first));
    expect(contractFingerprint(first)).toBe(contractFingerprint(first));
  });

  it('is the same in another process', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', PRINT], { encoding: 'utf8', timeout: 15_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(contractFingerprint(buildContract()));
  });

  it.each<[Change, string[]]>([
    ['add.output', ['procedures.add.output']],
    ['add.input', ['procedures.add.input']],
    ['feed.snapshot', ['channels.feed.snapshot']],
    ['when.date', ['procedures.when.input']],
  ])('changes only where the schema changed: %s', (change, changed) => {
    expect(differences(contractFingerprint(buildContract()), contractFingerprint(buildContract(change)))).toEqual(
      changed,
    );
  });

  it('describes schemas JSON Schema cannot express (Date, BigInt, instanceof, a transform) without throwing', () => {
    const contract = defineContract({
      procedures: {
        odd: procedure({
          input: z.custom<string>((value) => typeof value === 'string'),
          output: z.map(z.string(), z.set(z.bigint())),
        }),
      },
    });
    expect(() => contractFingerprint(contract)).not.toThrow();
  });

  it('cannot tell apart custom validators that differ only in code: functions count as functions', () => {
    // z.instanceof(Map) and z.instanceof(Set): the class is only in a closure (and its name
    // would differ in a minified bundle), so both look alike.
    expect(
      differences(contractFingerprint(buildContract()), contractFingerprint(buildContract('custom.class'))),
    ).toEqual([]);
  });

  it('ignores the order of an object’s fields, required ones included', () => {
    const make = (reversed: boolean) =>
      defineContract({
        procedures: {
          p: procedure({
            input: reversed ? z.object({ b: z.string(), a: z.number() }) : z.object({ a: z.number(), b: z.string() }),
            output: z.null(),
          }),
        },
      });
    expect(contractFingerprint(make(true))).toEqual(contractFingerprint(make(false)));
  });

  it('keeps a procedure and a channel of the same name apart', () => {
    const contract = defineContract({
      procedures: { same: procedure({ input: z.string(), output: z.string() }) },
      channels: { same: channel({ params: z.string(), message: z.string() }) },
    });
    const fingerprint = contractFingerprint(contract);
    expect(Object.keys(fingerprint.procedures)).toEqual(['same']);
    expect(Object.keys(fingerprint.channels)).toEqual(['same']);
  });

  it('passes its own check', () => {
    expect(fingerprintProblem(contractFingerprint(buildContract()))).toBeUndefined();
  });
});
