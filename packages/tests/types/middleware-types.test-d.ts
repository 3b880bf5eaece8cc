/**
 * Middleware types: what each middleware adds to the ctx reaches the handlers after it,
 * a middleware that needs more ctx than it gets is a compile error, and a router without
 * middleware types exactly as before.
 */
import { channel, defineContract, procedure } from '@switchboard/contract';
import {
  type Connection,
  defineMiddleware,
  defineRouter,
  type Middleware,
  type MiddlewareArgs,
} from '@switchboard/server';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

const contract = defineContract({
  procedures: { me: procedure({ input: z.object({}), output: z.string() }) },
  channels: { room: channel({ params: z.object({ room: z.string() }), message: z.string() }) },
});

interface User {
  id: string;
  admin: boolean;
}

const withUser = defineMiddleware(async ({ ctx, next }: MiddlewareArgs<{ token: string }>) =>
  next({ user: { id: ctx.token, admin: false } as User }),
);
const timed = defineMiddleware(async ({ next }) => {
  const started = performance.now();
  try {
    return await next();
  } finally {
    void (performance.now() - started);
  }
});
const withTrace = defineMiddleware(({ next }) => next({ traceId: 'x' }));
const adminOnly = defineMiddleware(async ({ ctx, next }: MiddlewareArgs<{ user: User }>) => {
  if (!ctx.user.admin) throw new Error('no');
  return next();
});

describe('middleware types', () => {
  it('adds what each middleware passes to next() to the ctx of handlers, authorize and snapshot', () => {
    defineRouter(contract, {
      context: () => ({ token: 't' }),
      middleware: [timed, withUser, withTrace, adminOnly],
      procedures: {
        me: ({ ctx, connection }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ token: string; user: User; traceId: string }>();
          // The connection's own ctx: without what middleware added.
          expectTypeOf(connection).toEqualTypeOf<Connection<{ token: string }>>();
          return ctx.user.id;
        },
      },
      channels: {
        room: {
          authorize: ({ ctx }) => {
            expectTypeOf(ctx.user).toEqualTypeOf<User>();
            return ctx.user.admin;
          },
        },
      },
    });
  });

  it('lets a later middleware replace a field (its type too)', () => {
    const demote = defineMiddleware(({ next }) => next({ token: 42 }));
    defineRouter(contract, {
      context: () => ({ token: 't' }),
      middleware: [demote],
      procedures: {
        me: ({ ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ token: number }>();
          return String(ctx.token);
        },
      },
    });
  });

  it('refuses a middleware whose ctx needs are not met by what runs before it', () => {
    defineRouter(contract, {
      context: () => ({ token: 't' }),
      // @ts-expect-error adminOnly needs ctx.user, which only withUser adds (after it here)
      middleware: [adminOnly, withUser],
      procedures: { me: () => 'x' },
    });
    defineRouter(contract, {
      context: () => ({ token: 't' }),
      middleware: [withUser, adminOnly],
      procedures: { me: ({ ctx }) => ctx.user.id },
    });
  });

  it('keeps the ctx as context made it without middleware', () => {
    defineRouter(contract, {
      context: () => ({ token: 't' }),
      procedures: {
        me: ({ ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ token: string }>();
          return ctx.token;
        },
      },
    });
  });

  it('types next() and a middleware that does not return its result is an error', () => {
    defineMiddleware(async ({ next }) => {
      const result = await next({ a: 1 });
      return result;
    });
    // @ts-expect-error a middleware returns next()'s result
    defineMiddleware(async () => 'done');
  });
});

describe('middleware lists that are not literals', () => {
  it('accepts an array type of middleware that read nothing of the ctx, refuses one whose needs it cannot order', () => {
    const noops: Middleware[] = [({ next }) => next()];
    defineRouter(contract, { context: () => ({ token: 't' }), middleware: noops, procedures: { me: () => 'x' } });
    const needing: Array<typeof adminOnly> = [adminOnly];
    defineRouter(contract, {
      context: () => ({ token: 't' }),
      // @ts-expect-error a middleware that needs ctx.user, in an array whose order is not typed
      middleware: needing,
      procedures: { me: () => 'x' },
    });
  });

  it('takes a middleware typed as plain Middleware (it reads no ctx) with or without context', () => {
    const plain: Middleware = ({ next }) => next();
    defineRouter(contract, { middleware: [plain], procedures: { me: () => 'x' } });
    const addsId = defineMiddleware(({ next }) => next({ requestId: 'r' }));
    defineRouter(contract, {
      middleware: [addsId],
      procedures: {
        me: ({ ctx }) => {
          expectTypeOf(ctx).toEqualTypeOf<{ requestId: string }>();
          return ctx.requestId;
        },
      },
    });
  });
});
