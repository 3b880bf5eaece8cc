import { channel, defineContract, procedure } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contract, type User } from './fixture.js';

// The run-time halves of what the type tests (*.test-d.ts) refuse at compile time: code
// that escaped the compiler (plain JavaScript, a cast) fails at once with a TypeError.

const user: User = { id: 'u1', name: 'Ada', createdAt: new Date(0), tags: new Set(['x']) };
const handlers = {
  add: ({ input }: { input: { a: number; b: number } }) => input.a + input.b,
  'user.get': async () => user,
  'stats.byId': () => new Map<string, bigint>(),
  'time.parse': ({ input }: { input: { at: Date } }) => input.at.toISOString(),
  page: () => [user],
  ping: () => 'pong' as const,
  search: () => [],
};

describe('defineRouter at run time', () => {
  it('takes a complete set of handlers', () => {
    const router = defineRouter(contract, { procedures: handlers });
    expect(Object.keys(router.procedures).sort()).toEqual(Object.keys(contract.procedures).sort());
  });

  it('throws a TypeError for a missing handler, an extra one, or an unknown channel', () => {
    const { search: _search, ...withoutSearch } = handlers;
    expect(() => defineRouter(contract, { procedures: withoutSearch as never })).toThrow(TypeError);
    expect(() => defineRouter(contract, { procedures: { ...handlers, delete: () => undefined } as never })).toThrow(
      TypeError,
    );
    expect(() =>
      defineRouter(contract, { procedures: handlers, channels: { alerts: { authorize: () => true } } as never }),
    ).toThrow(TypeError);
  });
});

describe('the contract at run time', () => {
  it('throws a TypeError where a schema is needed and something else is given', () => {
    const notASchema = { parse: (value: unknown) => value };
    expect(() => procedure({ input: notASchema as never, output: z.number() })).toThrow(TypeError);
    expect(() => channel({ params: z.object({}), message: 42 as never })).toThrow(TypeError);
    expect(() => defineContract({ procedures: { add: { input: z.number(), output: z.number() } as never } })).toThrow(
      TypeError,
    );
  });
});
