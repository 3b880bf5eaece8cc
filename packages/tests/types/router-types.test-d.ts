/**
 * defineRouter's types: every procedure implemented exactly once, handler input/ctx/return inferred from the
 * contract and `context`, typed channel authorization. The run-time checks behind the compile errors (TypeError
 * for a missing or extra handler / unknown channel) are in run-time-checks.test.ts.
 */
import type { IncomingMessage } from 'node:http';
import { channel, defineContract, procedure } from '@switchboard/contract';
import { type ContextArgs, defineRouter, type Router } from '@switchboard/server';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type AppContract, contract, type User } from './fixture.js';

const user: User = { id: 'u1', name: 'Ada', createdAt: new Date(0), tags: new Set(['x']) };

/** A complete, valid set of handlers for the fixture contract. */
const handlers = {
  add: ({ input }: { input: { a: number; b: number } }) => input.a + input.b,
  'user.get': async () => user,
  'stats.byId': () => new Map<string, bigint>(),
  'time.parse': ({ input }: { input: { at: Date } }) => input.at.toISOString(),
  page: () => [user],
  ping: () => 'pong' as const,
  search: () => [],
};

describe('defineRouter', () => {
  it('types handler input as the parsed input and return as the handler output', () => {
    const router = defineRouter(contract, {
      procedures: {
        add: ({ input, ctx, signal }) => {
          expectTypeOf(input).toEqualTypeOf<{ a: number; b: number }>();
          expectTypeOf(ctx).toEqualTypeOf<undefined>();
          expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
          return input.a + input.b;
        },
        'user.get': async ({ input }) => {
          expectTypeOf(input).toEqualTypeOf<{ id: string }>();
          return user;
        },
        'stats.byId': ({ input }) => new Map(input.ids.map((id) => [id, 1n])),
        'time.parse': ({ input }) => {
          expectTypeOf(input).toEqualTypeOf<{ at: Date }>(); // after the transform
          return input.at.toISOString(); // the output schema's *input*: a string, not its length
        },
        page: ({ input }) => {
          expectTypeOf(input).toEqualTypeOf<{ limit: number }>(); // the default applied
          return [user];
        },
        ping: ({ input }) => {
          expectTypeOf(input).toEqualTypeOf<undefined>();
          return 'pong' as const; // `as const`: see known-issues.test-d.ts
        },
        search: ({ input }) => {
          expectTypeOf(input).toEqualTypeOf<{ q: string } | undefined>();
          return [];
        },
      },
    });
    expectTypeOf(router).toEqualTypeOf<Router<AppContract, undefined>>();
  });

  it('infers ctx from an async context', () => {
    const router = defineRouter(contract, {
      context: async ({ request }) => {
        expectTypeOf(request).toEqualTypeOf<IncomingMessage>();
        return { user: request.headers.authorization ?? null, roles: ['admin'] as const };
      },
      procedures: {
        ...handlers,
        add: ({ input, ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ user: string | null; roles: readonly ['admin'] }>();
          return input.a + input.b;
        },
      },
      channels: {
        metrics: {
          authorize: ({ params, ctx }) => {
            expectTypeOf(params).toEqualTypeOf<{ host: string }>();
            expectTypeOf(ctx).toEqualTypeOf<{ user: string | null; roles: readonly ['admin'] }>();
            return ctx.user !== null;
          },
        },
        'chat.room': {
          authorize: async ({ params }) => {
            expectTypeOf(params).toEqualTypeOf<{ id: number }>(); // parsed params: after the transform
            return params.id > 0;
          },
        },
      },
    });
    expectTypeOf(router).toEqualTypeOf<Router<AppContract, { user: string | null; roles: readonly ['admin'] }>>();
    expectTypeOf(router.context).toEqualTypeOf<
      | ((args: ContextArgs) =>
          | { user: string | null; roles: readonly ['admin'] }
          | PromiseLike<{
              user: string | null;
              roles: readonly ['admin'];
            }>)
      | undefined
    >();
  });

  it('infers ctx from a sync context, and from an annotated one declared after the procedures', () => {
    defineRouter(contract, {
      context: () => ({ tenant: 't1' }),
      procedures: {
        ...handlers,
        ping: ({ ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ tenant: string }>();
          return 'pong' as const;
        },
      },
    });
    defineRouter(contract, {
      procedures: {
        ...handlers,
        ping: ({ ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ tenant: string }>();
          return 'pong' as const;
        },
      },
      context: async (_args: ContextArgs) => ({ tenant: 't1' }),
    });
  });

  it('rejects a missing handler', () => {
    const { search: _search, ...withoutSearch } = handlers;
    const _define = () =>
      defineRouter(contract, {
        // @ts-expect-error: 'search' is missing
        procedures: withoutSearch,
      });
  });

  it('rejects an extra handler', () => {
    const _define = () =>
      defineRouter(contract, {
        procedures: {
          ...handlers,
          // @ts-expect-error: 'delete' is not a procedure of the contract
          delete: () => undefined,
        },
      });
  });

  it('rejects an unknown channel key', () => {
    const _define = () =>
      defineRouter(contract, {
        procedures: handlers,
        channels: {
          // @ts-expect-error: 'alerts' is not a channel of the contract
          alerts: { authorize: () => true },
        },
      });
  });

  it('rejects handlers returning the wrong type', () => {
    defineRouter(contract, {
      procedures: {
        ...handlers,
        // @ts-expect-error: add returns a number, not a string
        add: ({ input }) => `${input.a + input.b}`,
      },
    });
    defineRouter(contract, {
      procedures: {
        ...handlers,
        // @ts-expect-error: async, but still the wrong type
        'user.get': async () => ({ id: 'u1', name: 'Ada' }),
      },
    });
    defineRouter(contract, {
      procedures: {
        ...handlers,
        // @ts-expect-error: the handler returns the output schema's input (a string), not its output (a number)
        'time.parse': () => 42,
      },
    });
    defineRouter(contract, {
      procedures: {
        ...handlers,
        // @ts-expect-error: a literal output
        ping: () => 'pang',
      },
    });
  });

  it('rejects misuse of input and ctx inside handlers', () => {
    defineRouter(contract, {
      context: async () => ({ userId: 'u1' }),
      procedures: {
        ...handlers,
        // @ts-expect-error: input has no 'c'
        add: ({ input }) => input.a + input.c,
        // @ts-expect-error: ctx has no 'tenant'
        ping: ({ ctx }) => (ctx.tenant ? 'pong' : 'pong'),
      },
      channels: {
        // @ts-expect-error: params.host is a string
        metrics: { authorize: ({ params }) => params.host > 1 },
        // @ts-expect-error: authorize returns a boolean
        'chat.room': { authorize: () => 'yes' },
      },
    });
  });

  it('without context, ctx is undefined', () => {
    const small = defineContract({ procedures: { x: procedure({ input: z.undefined(), output: z.void() }) } });
    defineRouter(small, {
      procedures: {
        x: ({ ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<undefined>();
        },
      },
    });
    const withChannel = defineContract({
      procedures: {},
      channels: { c: channel({ params: z.object({ id: z.string() }), message: z.string() }) },
    });
    defineRouter(withChannel, { procedures: {}, channels: { c: { authorize: ({ ctx }) => ctx === undefined } } });
  });
});
