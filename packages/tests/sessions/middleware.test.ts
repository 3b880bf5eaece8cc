import { EventEmitter } from 'node:events';
import { type Client, createClient } from '@switchboard/client';
import { channel, defineContract, procedure, RpcError } from '@switchboard/contract';
import {
  createServer,
  defineMiddleware,
  defineRouter,
  type Middleware,
  type MiddlewareArgs,
  type MiddlewareKind,
} from '@switchboard/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { once, until, untilEvent, within } from '../support/wait.js';

// Middleware around procedure calls and subscription joins: order, refusal, ctx added for
// the handlers after it, the rate-limit recipe of docs/auth.md. Real server, real client.

const contract = defineContract({
  procedures: {
    whoami: procedure({ input: z.object({}), output: z.string() }),
    fail: procedure({ input: z.object({}), output: z.string() }),
    /** Waits for the test's gate, then fails or answers. */
    slow: procedure({ input: z.object({ fail: z.boolean() }), output: z.string() }),
  },
  channels: {
    room: channel({
      params: z.object({ room: z.string() }),
      message: z.number(),
      snapshot: z.object({ seenBy: z.string() }),
    }),
  },
});

interface Ctx {
  token: string;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

/** A server whose router runs `middleware`; `log` records the handlers' side. */
async function start(middleware: readonly Middleware[]) {
  const log: string[] = [];
  const gate = new EventEmitter();
  const onError = vi.fn();
  const router = defineRouter(contract, {
    context: ({ auth }): Ctx => ({ token: (auth as { token: string }).token }),
    middleware: middleware as [],
    procedures: {
      whoami: ({ ctx }) => {
        log.push('handler');
        return JSON.stringify(ctx);
      },
      fail: () => {
        throw new RpcError('CONFLICT', 'the handler says no');
      },
      slow: async ({ input }) => {
        log.push('slow started');
        gate.emit('started');
        await once(gate, 'open');
        log.push('slow ended');
        if (input.fail) throw new RpcError('CONFLICT', 'the slow handler says no');
        return 'slow';
      },
    },
    channels: {
      room: {
        authorize: ({ ctx, params }) => {
          log.push(`authorize ${JSON.stringify(ctx)}`);
          return !params.room.endsWith('private') || (ctx as { token: string }).token === 'admin';
        },
        snapshot: ({ ctx }) => ({ seenBy: JSON.stringify(ctx) }),
      },
    },
  });
  const server = createServer({ router, heartbeat: false, onError });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return { server, log, gate, onError, url: `ws://127.0.0.1:${port}` };
}

function connect(url: string, token: () => string): Client<typeof contract> {
  const client = createClient<typeof contract>({
    url,
    WebSocket: WebSocket as never,
    auth: () => ({ token: token() }),
    reconnect: false,
    heartbeat: false,
  });
  cleanups.push(() => client.close());
  return client;
}

/** A raw connection, authenticated as ada, that sends `whoami` calls with idempotency keys. */
async function keyedCaller(url: string) {
  const socket = new WebSocket(url, 'switchboard.v1');
  cleanups.push(() => socket.terminate());
  const received: Array<Record<string, unknown>> = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'auth', id: 0, data: { token: 'ada' } }));
  const call = (id: number, key: string) =>
    socket.send(JSON.stringify({ type: 'call', id, name: 'whoami', input: {}, key }));
  return { socket, received, call };
}

/** A middleware that logs `name>` on the way in and `<name` on the way out, with what it saw. */
function tracer(name: string, log: string[], kinds: MiddlewareKind[] = []) {
  return defineMiddleware(async ({ next, kind }) => {
    log.push(`${name}>`);
    kinds.push(kind);
    try {
      return await next();
    } finally {
      log.push(`<${name}`);
    }
  });
}

describe('middleware around calls', () => {
  it('runs in order around the handler, and the handler gets what each added to the ctx', async () => {
    const order: string[] = [];
    const { log, url } = await start([
      tracer('a', order),
      defineMiddleware(({ next }) => next({ requestId: 'r1' })),
      tracer('b', order),
      defineMiddleware(({ ctx, next }: MiddlewareArgs<{ requestId: string }>) =>
        next({ requestId: `${ctx.requestId}+` }),
      ),
    ]);
    const client = connect(url, () => 'ada');
    const seen = await client.call('whoami', {});
    expect(JSON.parse(seen)).toEqual({ token: 'ada', requestId: 'r1+' });
    expect(order).toEqual(['a>', 'b>', '<b', '<a']);
    expect(log).toEqual(['handler']);
  });

  it('sees what it wraps end: measured around a call that fails, the caller still gets the error', async () => {
    const outcomes: string[] = [];
    const measure = defineMiddleware(async ({ name, next }) => {
      try {
        const result = await next();
        outcomes.push(`${name} ok`);
        return result;
      } catch (error) {
        outcomes.push(`${name} ${(error as RpcError).code}`);
        throw error;
      }
    });
    const { url } = await start([measure]);
    const client = connect(url, () => 'ada');
    await expect(client.call('whoami', {})).resolves.toBeTypeOf('string');
    await expect(client.call('fail', {})).rejects.toMatchObject({ code: 'CONFLICT', message: 'the handler says no' });
    expect(outcomes).toEqual(['whoami ok', 'fail CONFLICT']);
  });

  it('refuses with an RpcError: the caller gets it and the handler never runs', async () => {
    const { log, onError, url } = await start([
      defineMiddleware(({ ctx, next }: MiddlewareArgs<Ctx>) => {
        if (ctx.token === 'guest') throw new RpcError('FORBIDDEN', 'guests may not call');
        return next();
      }),
    ]);
    const guest = connect(url, () => 'guest');
    await expect(guest.call('whoami', {})).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'guests may not call' });
    expect(log).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
  });

  it('a middleware bug is INTERNAL for the caller and reported: a throw, no next() result, next() twice', async () => {
    const bugs: Middleware[] = [
      defineMiddleware(() => {
        throw new Error('the tracer is down');
      }),
      (async () => 'done') as unknown as Middleware,
      defineMiddleware(async ({ next }) => {
        await next();
        return next();
      }),
    ];
    for (const bug of bugs) {
      const { onError, url } = await start([bug]);
      const client = connect(url, () => 'ada');
      await expect(client.call('whoami', {})).rejects.toMatchObject({ code: 'INTERNAL' });
      expect(onError).toHaveBeenCalledTimes(1);
    }
  });

  it('answers a call whose middleware threw after starting next() only once what it started has ended', async () => {
    const { log, gate, onError, url } = await start([
      defineMiddleware(({ next }) => {
        void next(); // started, then dropped: a bug
        throw new RpcError('FORBIDDEN', 'changed its mind');
      }),
    ]);
    const client = connect(url, () => 'ada');
    for (const fail of [false, true]) {
      const started = once(gate, 'started');
      const answer = client.call('slow', { fail }).then(
        () => 'resolved',
        (error: RpcError) => {
          log.push(`answered ${error.code}`);
          return error.code;
        },
      );
      await within(started, 3_000, 'the handler to start');
      gate.emit('open');
      expect(await answer).toBe('FORBIDDEN');
    }
    // The handler's own failure went nowhere: no unhandled rejection, nothing reported as a bug.
    expect(log).toEqual([
      'slow started',
      'slow ended',
      'answered FORBIDDEN',
      'slow started',
      'slow ended',
      'answered FORBIDDEN',
    ]);
    expect(onError).not.toHaveBeenCalled();
  });

  it("runs before a keyed call is claimed: a refused call's re-send with the same key runs", async () => {
    let open = false;
    const { log, url } = await start([
      defineMiddleware(({ next }) => {
        if (!open) throw new RpcError('UNAVAILABLE', 'not yet');
        return next();
      }),
    ]);
    const { socket, received, call } = await keyedCaller(url);
    call(1, 'k1');
    await untilEvent(socket, 'message', () => received.some((m) => m.id === 1), 'the first answer');
    open = true;
    call(2, 'k1');
    await untilEvent(socket, 'message', () => received.some((m) => m.id === 2), 'the second answer');
    expect(received.filter((m) => m.id === 1 || m.id === 2)).toEqual([
      { type: 'error', id: 1, error: expect.objectContaining({ code: 'UNAVAILABLE' }) },
      { type: 'result', id: 2, output: JSON.stringify({ token: 'ada' }) },
    ]);
    expect(log).toEqual(['handler']);
  });
});

describe('middleware and a re-sent keyed call', () => {
  it('lets the repeat of a call it let through be answered from the window, even when it now refuses', async () => {
    let open = true;
    const { log, url } = await start([
      defineMiddleware(({ next }) => {
        if (!open) throw new RpcError('TOO_MANY_REQUESTS', 'slow down');
        return next();
      }),
    ]);
    const { socket, received, call } = await keyedCaller(url);
    call(1, 'k1');
    await untilEvent(socket, 'message', () => received.some((m) => m.id === 1), 'the first answer');
    open = false;
    call(2, 'k1'); // a re-send of the call that ran
    call(3, 'k2'); // a new call
    await untilEvent(socket, 'message', () => received.some((m) => m.id === 3), 'both answers');
    expect(received.filter((m) => typeof m.id === 'number' && m.id > 0)).toEqual([
      { type: 'result', id: 1, output: JSON.stringify({ token: 'ada' }) },
      { type: 'result', id: 2, output: JSON.stringify({ token: 'ada' }) },
      { type: 'error', id: 3, error: expect.objectContaining({ code: 'TOO_MANY_REQUESTS' }) },
    ]);
    expect(log).toEqual(['handler']);
  });
});

describe('middleware around subscription joins', () => {
  it("adds to the ctx of authorize and snapshot, and refuses a join with the caller's error", async () => {
    const kinds: MiddlewareKind[] = [];
    const { log, url } = await start([
      tracer('t', [], kinds),
      defineMiddleware(({ ctx, next, name, input }: MiddlewareArgs<Ctx>) => {
        if (name === 'room' && (input as { room: string }).room === 'closed') {
          throw new RpcError('NOT_FOUND', 'that room was closed');
        }
        return next({ role: ctx.token === 'admin' ? 'admin' : 'member' });
      }),
    ]);
    const client = connect(url, () => 'ada');
    const snapshot = new Promise<unknown>((resolve) => {
      client.subscribe('room', { room: 'lobby' }, { onMessage: () => {}, onSnapshot: resolve });
    });
    expect(await within(snapshot, 3_000, 'the snapshot')).toEqual({
      seenBy: JSON.stringify({ token: 'ada', role: 'member' }),
    });
    expect(log).toEqual([`authorize ${JSON.stringify({ token: 'ada', role: 'member' })}`]);
    const refused = new Promise<unknown>((resolve) => {
      client.subscribe('room', { room: 'closed' }, { onMessage: () => {}, onError: resolve });
    });
    expect(await within(refused, 3_000, 'the refusal')).toMatchObject({
      code: 'NOT_FOUND',
      message: 'that room was closed',
    });
    expect(kinds).toEqual(['subscribe', 'subscribe']);
  });

  it("runs again, as 'reauthorize', for every joined subscription when a refresh changes the ctx; a refusal ends it", async () => {
    const kinds: MiddlewareKind[] = [];
    const { url } = await start([
      tracer('t', [], kinds),
      defineMiddleware(({ ctx, next }: MiddlewareArgs<Ctx>) => {
        if (ctx.token === 'suspended') throw new RpcError('FORBIDDEN', 'suspended');
        return next();
      }),
    ]);
    let token = 'ada';
    const client = connect(url, () => token);
    const ended = new Promise<unknown>((resolve) => {
      client.subscribe('room', { room: 'lobby' }, { onMessage: () => {}, onError: resolve });
    });
    await within(
      new Promise((resolve) => client.subscribe('room', { room: 'b' }, { onMessage: () => {}, onSnapshot: resolve })),
      3_000,
      'both joined',
    );
    token = 'suspended';
    await client.reauthenticate();
    expect(await within(ended, 3_000, 'the subscription to end')).toMatchObject({ code: 'FORBIDDEN' });
    expect(kinds).toEqual(['subscribe', 'subscribe', 'reauthorize', 'reauthorize']);
  });
});

describe('middleware on a refresh', () => {
  it('keeps a subscription whose re-check a middleware refuses for a reason other than permission', async () => {
    let refreshes = 0;
    const { server, url } = await start([
      defineMiddleware(({ kind, next }) => {
        if (kind === 'reauthorize' && ++refreshes > 0) throw new RpcError('TOO_MANY_REQUESTS', 'slow down');
        return next();
      }),
    ]);
    let token = 'ada';
    const client = connect(url, () => token);
    const messages: number[] = [];
    const errors: unknown[] = [];
    await within(
      new Promise((resolve) =>
        client.subscribe(
          'room',
          { room: 'lobby' },
          { onMessage: (n) => messages.push(n), onSnapshot: resolve, onError: (e) => errors.push(e) },
        ),
      ),
      3_000,
      'the join',
    );
    token = 'ada-again';
    await client.reauthenticate();
    expect(refreshes).toBe(1);
    await server.publish('room', { room: 'lobby' }, 7);
    await until(() => messages.includes(7), 'the message after the refresh');
    expect(errors).toEqual([]);
  });
});

describe('the rate-limit recipe of docs/auth.md', () => {
  /** A token bucket per connection: `perSecond` on average, bursts of `burst`. */
  function rateLimit(perSecond: number, burst: number) {
    const buckets = new WeakMap<object, { tokens: number; at: number }>();
    return defineMiddleware(({ kind, connection, next }) => {
      if (kind === 'reauthorize') return next(); // a refresh re-checking subscriptions is not a request
      const now = Date.now();
      const bucket = buckets.get(connection) ?? { tokens: burst, at: now };
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      buckets.set(connection, bucket);
      if (bucket.tokens < 1) throw new RpcError('TOO_MANY_REQUESTS', `at most ${perSecond} requests per second`);
      bucket.tokens -= 1;
      return next();
    });
  }

  it('refuses calls past the burst with TOO_MANY_REQUESTS, per connection, and lets them through as time passes', async () => {
    // Only Date is faked: the sockets run on real time, the bucket on the test's clock.
    vi.useFakeTimers({ toFake: ['Date'] });
    cleanups.push(() => vi.useRealTimers());
    const { url } = await start([rateLimit(2, 3)]);
    const ada = connect(url, () => 'ada');
    const bob = connect(url, () => 'bob');
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => ada.call('whoami', {})));
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as RpcError).code))).toEqual([
      'ok',
      'ok',
      'ok',
      'TOO_MANY_REQUESTS',
      'TOO_MANY_REQUESTS',
    ]);
    // Another connection has its own bucket.
    await expect(bob.call('whoami', {})).resolves.toBeTypeOf('string');
    vi.advanceTimersByTime(500); // one more token for ada
    await expect(ada.call('whoami', {})).resolves.toBeTypeOf('string');
    await expect(ada.call('whoami', {})).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
  });
});
