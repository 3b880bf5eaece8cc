import { EventEmitter } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { type Client, type ClientState, createClient, type StateInfo } from '@switchboard/client';
import { CLOSE_CODES, channel, defineContract, procedure, RpcError } from '@switchboard/contract';
import { type Connection, createServer, defineRouter, type ServerOptions } from '@switchboard/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { encodeClientFrame } from '../support/client-frame.js';
import { once, untilEvent, within } from '../support/wait.js';

// Credentials in the first message, refusals the client can see, refresh on a live
// connection, revoke, and the connection in hooks and handlers. Real server, real client.

const contract = defineContract({
  procedures: {
    me: procedure({ input: z.object({}), output: z.object({ user: z.string(), connection: z.string() }) }),
    /** Waits until the test opens the gate, then says whose ctx it ran with. */
    'slow.me': procedure({ input: z.object({}), output: z.string() }),
  },
  channels: {
    room: channel({ params: z.object({ room: z.string() }), message: z.object({ n: z.number() }) }),
  },
});

interface Ctx {
  user: string;
  token: string;
  expires: number | undefined;
}

/** How long `short-…` credentials last. */
const EXPIRY_MS = 300;

/** token → user; 'bad' is refused UNAUTHORIZED, 'banned' FORBIDDEN, 'busy' TOO_MANY_REQUESTS, 'crash' throws. */
const USERS: Record<string, string> = { t1: 'ada', t2: 'ada', t3: 'bob' };

class World extends EventEmitter {
  readonly contexts: unknown[] = [];
  readonly connects: Connection<Ctx>[] = [];
  readonly disconnects: Array<{ id: string; code: number }> = [];
  readonly refusals: RpcError[] = [];
  readonly handlerConnections: string[] = [];
  gate: (() => void) | undefined;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

/** `defaultOnRefused`: keep the server's own onRefused (a console.warn) instead of recording. */
async function start(options: Partial<ServerOptions<typeof contract, Ctx>> = {}, defaultOnRefused = false) {
  const world = new World();
  const onError = vi.fn();
  const router = defineRouter(contract, {
    context: ({ auth, request }) => {
      world.contexts.push(auth);
      world.emit('context');
      const url = new URL(request.url ?? '/', 'http://localhost');
      const token = (auth as { token?: string } | undefined)?.token ?? url.searchParams.get('token') ?? '';
      if (token === 'bad') throw new RpcError('UNAUTHORIZED', 'token expired');
      if (token === 'banned') throw new RpcError('FORBIDDEN', 'account suspended');
      if (token === 'busy') throw new RpcError('TOO_MANY_REQUESTS', 'slow down');
      if (token === 'crash') throw new Error('the user store is down');
      const user = USERS[token.replace(/^(short|slow)-/, '')];
      if (user === undefined) throw new RpcError('UNAUTHORIZED', 'who are you?');
      // `short-<token>`: credentials that last EXPIRY_MS; `slow-<token>`: context waits for the test's gate.
      const ctx = { user, token, expires: token.startsWith('short-') ? Date.now() + EXPIRY_MS : undefined };
      if (!token.startsWith('slow-')) return ctx;
      return new Promise<Ctx>((resolve) => {
        world.gate = () => resolve(ctx);
        world.emit('gate');
      });
    },
    procedures: {
      me: ({ ctx, connection }) => {
        world.handlerConnections.push(connection.id);
        return { user: ctx.user, connection: connection.id };
      },
      'slow.me': ({ ctx }) =>
        new Promise<string>((resolve) => {
          world.gate = () => resolve(ctx.user);
          world.emit('gate');
        }),
    },
    channels: {
      room: {
        // `private` rooms are bob's; a `slow-` room's answer waits for the test's gate.
        authorize: ({ params, ctx }) => {
          const allowed = !params.room.endsWith('private') || ctx.user === 'bob';
          if (!params.room.startsWith('slow-')) return allowed;
          return new Promise<boolean>((resolve) => {
            world.gate = () => resolve(allowed);
            world.emit('gate');
          });
        },
      },
    },
  });
  const server = createServer({
    router,
    heartbeat: false,
    onError,
    expiresAt: (ctx) => ctx.expires,
    onConnect: (connection) => {
      world.connects.push(connection);
      world.emit('connect');
    },
    onDisconnect: (connection, info) => {
      world.disconnects.push({ id: connection.id, code: info.code });
      world.emit('disconnect');
    },
    ...(defaultOnRefused
      ? {}
      : {
          onRefused: ({ error }: { error: RpcError }) => {
            world.refusals.push(error);
            world.emit('refused');
          },
        }),
    ...options,
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return { server, world, onError, url: `ws://127.0.0.1:${port}` };
}

function connect(url: string, token: () => string | undefined, reconnect = true): Client<typeof contract> {
  const client = createClient<typeof contract>({
    url,
    WebSocket: WebSocket as never,
    auth: () => {
      const value = token();
      return value === undefined ? undefined : { token: value };
    },
    reconnect: reconnect ? { initialDelayMs: 1, maxDelayMs: 5 } : false,
  });
  cleanups.push(() => client.close());
  return client;
}

/** Resolves with the state info once the client reaches `state`. */
function whenState(client: Client<typeof contract>, state: ClientState, timeoutMs = 3_000): Promise<StateInfo> {
  return within(
    new Promise<StateInfo>((resolve) => {
      const listener = (now: ClientState, info: StateInfo) => {
        if (now !== state) return;
        client.off('state', listener);
        resolve(info);
      };
      client.on('state', listener);
    }),
    timeoutMs,
    `the client to be '${state}'`,
  );
}

async function rawOpen(url: string): Promise<{ socket: WebSocket; received: Array<Record<string, unknown>> }> {
  const socket = new WebSocket(url, 'switchboard.v1');
  socket.on('error', () => {});
  const received: Array<Record<string, unknown>> = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
  cleanups.push(() => socket.terminate());
  await once(socket, 'open');
  return { socket, received };
}

describe('credentials in the first message', () => {
  it('reach context as `auth`, never in the URL, and the client opens once they are accepted', async () => {
    const { world, url } = await start();
    const client = connect(url, () => 't1');
    await expect(client.call('me', {})).resolves.toMatchObject({ user: 'ada' });
    expect(client.state).toBe('open');
    expect(world.contexts).toEqual([{ token: 't1' }]);
  });

  it('a client without `auth` still lets context run at once (auth undefined), cookies and URL still readable', async () => {
    const { world, url } = await start();
    const client = createClient<typeof contract>({ url: `${url}/?token=t3`, WebSocket: WebSocket as never });
    cleanups.push(() => client.close());
    await whenState(client, 'open');
    expect(world.contexts).toEqual([undefined]);
    await expect(client.call('me', {})).resolves.toMatchObject({ user: 'bob' });
  });

  it('a raw client whose first message is a call: context runs first, then every message in order', async () => {
    const { world, url } = await start();
    const { socket, received } = await rawOpen(`${url}/?token=t1`);
    socket.send(JSON.stringify({ type: 'call', id: 1, name: 'me', input: {} }));
    socket.send(JSON.stringify({ type: 'call', id: 2, name: 'me', input: {} }));
    socket.send(JSON.stringify({ type: 'ping' }));
    await untilEvent(socket, 'message', () => received.length === 3, 'three replies');
    expect(received.map((envelope) => envelope.type)).toEqual(['result', 'result', 'pong']);
    expect(received.map((envelope) => envelope.id)).toEqual([1, 2, undefined]);
    expect(world.contexts).toEqual([undefined]);
  });

  it('answers a first `auth` with `authenticated` and refuses an `auth` inside a batch', async () => {
    const { url } = await start();
    const { socket, received } = await rawOpen(url);
    socket.send(JSON.stringify({ type: 'auth', id: 'a1', data: { token: 't1' } }));
    socket.send(JSON.stringify([{ type: 'auth', id: 'a2', data: { token: 't3' } }]));
    await untilEvent(socket, 'message', () => received.length === 2, 'two replies');
    expect(received[0]).toEqual({ type: 'authenticated', id: 'a1' });
    expect(received[1]).toMatchObject({ type: 'error', id: 'a2', error: { code: 'BAD_REQUEST' } });
  });

  it('closes a connection that sends nothing within authTimeoutMs with 4408', async () => {
    const { url, world } = await start({ limits: { authTimeoutMs: 50 } });
    const { socket } = await rawOpen(url);
    const [code] = await once<[number, Buffer]>(socket, 'close', 3_000);
    expect(code).toBe(CLOSE_CODES.authTimeout);
    expect(world.connects).toEqual([]);
  });
});

describe('a refused connection', () => {
  it.each([
    ['bad', 'UNAUTHORIZED', CLOSE_CODES.unauthorized, 'token expired'],
    ['banned', 'FORBIDDEN', CLOSE_CODES.forbidden, 'account suspended'],
  ] as const)(
    "with token '%s': 'unauthorized' with %s, queued calls fail with it, no retry",
    async (token, code, closeCode, message) => {
      const { world, url } = await start();
      const client = connect(url, () => token);
      const queued = client.call('me', {}).catch((error: unknown) => error);
      const info = await whenState(client, 'unauthorized');
      expect(info.error).toMatchObject({ code, message });
      expect(info.closeCode).toBe(closeCode);
      expect(info.nextDelayMs).toBeUndefined();
      expect(await queued).toMatchObject({ code, message });
      // Calls made while unauthorized fail at once, with the same error.
      await expect(client.call('me', {})).rejects.toMatchObject({ code });
      expect(world.refusals.map((error) => error.code)).toEqual([code]);
      expect(world.connects).toEqual([]);
      // Nothing was scheduled: a second connection attempt would run context again.
      expect(world.contexts).toHaveLength(1);
    },
  );

  it('fails subscriptions not yet confirmed with the refusal', async () => {
    const { url } = await start();
    const client = connect(url, () => 'bad');
    const onError = vi.fn();
    const subscription = client.subscribe('room', { room: 'lobby' }, { onMessage: () => {}, onError });
    await expect(subscription.ready).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'UNAUTHORIZED' }));
  });

  it('logs a refusal by default, and a context that throws a plain Error is a 1011 told to onError', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { url, onError } = await start({}, true);
    const refused = await rawOpen(url);
    refused.socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 'bad' } }));
    const [refusedCode, reason] = await once<[number, Buffer]>(refused.socket, 'close');
    expect([refusedCode, String(reason)]).toEqual([CLOSE_CODES.unauthorized, 'UNAUTHORIZED: token expired']);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('UNAUTHORIZED token expired'));

    const crashed = await rawOpen(url);
    crashed.socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 'crash' } }));
    const [crashCode, crashReason] = await once<[number, Buffer]>(crashed.socket, 'close');
    expect([crashCode, String(crashReason)]).toEqual([1011, 'internal error']);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'the user store is down' }), {});
  });

  it('closes with 1013 for TOO_MANY_REQUESTS: the client retries later instead of stopping', async () => {
    const { url, world } = await start();
    let token = 'busy';
    const client = connect(url, () => token);
    const retrying = await whenState(client, 'reconnecting');
    expect(retrying.closeCode).toBe(1013);
    token = 't1';
    await whenState(client, 'open', 10_000);
    expect(world.contexts.length).toBeGreaterThanOrEqual(2);
  });

  it('reauthenticate() from unauthorized connects with fresh credentials and resolves once open', async () => {
    const { url } = await start();
    let token = 'bad';
    const client = connect(url, () => token);
    await whenState(client, 'unauthorized');
    token = 't3';
    await client.reauthenticate();
    expect(client.state).toBe('open');
    await expect(client.call('me', {})).resolves.toMatchObject({ user: 'bob' });
  });

  it('reauthenticate() rejects with the refusal when the new credentials are refused too', async () => {
    const { url } = await start();
    const client = connect(url, () => 'banned');
    await whenState(client, 'unauthorized');
    await expect(client.reauthenticate()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(client.state).toBe('unauthorized');
  });

  it("auth() throwing UNAUTHORIZED (no credentials at hand) makes the client 'unauthorized' without asking the server", async () => {
    const { url, world } = await start();
    const client = createClient<typeof contract>({
      url,
      WebSocket: WebSocket as never,
      auth: () => {
        throw new RpcError('UNAUTHORIZED', 'log in first');
      },
    });
    cleanups.push(() => client.close());
    const info = await whenState(client, 'unauthorized');
    expect(info.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'log in first' });
    expect(world.contexts).toEqual([]);
  });
});

describe('refresh on a live connection', () => {
  it('swaps the ctx for what starts next; a call already running keeps the old one; no reconnect', async () => {
    const { world, url } = await start();
    let token = 't1';
    const client = connect(url, () => token);
    await whenState(client, 'open');
    const states: ClientState[] = [];
    client.on('state', (state) => states.push(state));
    const running = client.call('slow.me', {});
    await untilEvent(world, 'gate', () => world.gate !== undefined, 'slow.me to start');

    token = 't3';
    await client.reauthenticate();
    await expect(client.call('me', {})).resolves.toMatchObject({ user: 'bob' });
    world.gate?.();
    await expect(running).resolves.toBe('ada');
    expect(states).toEqual([]);
    expect(world.connects).toHaveLength(1);
    expect(world.contexts).toEqual([{ token: 't1' }, { token: 't3' }]);
  });

  it('a refused refresh rejects with the error and leaves the connection and its ctx as they were', async () => {
    const { world, url } = await start();
    let token = 't1';
    const client = connect(url, () => token);
    await whenState(client, 'open');
    token = 'bad';
    await expect(client.reauthenticate()).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'token expired' });
    expect(client.state).toBe('open');
    await expect(client.call('me', {})).resolves.toMatchObject({ user: 'ada' });
    expect(world.connects).toHaveLength(1);
    expect(world.disconnects).toEqual([]);
  });

  it('re-runs authorize: a room the new ctx may not see ends with FORBIDDEN, the other loses nothing', async () => {
    const { server, url } = await start();
    let token = 't3'; // bob: may see the private room
    const client = connect(url, () => token);
    const lobby: number[] = [];
    const secret: number[] = [];
    const ended: RpcError[] = [];
    const onError = (error: RpcError) => ended.push(error);
    const received = new EventEmitter();
    const lobbySub = client.subscribe(
      'room',
      { room: 'lobby' },
      {
        onMessage: ({ n }) => {
          lobby.push(n);
          received.emit('message');
        },
        onError,
      },
    );
    const secretSub = client.subscribe('room', { room: 'private' }, { onMessage: ({ n }) => secret.push(n), onError });
    await Promise.all([lobbySub.ready, secretSub.ready]);

    let published = 0;
    const publishSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        published++;
        await Promise.all([
          server.publish('room', { room: 'lobby' }, { n: published }),
          server.publish('room', { room: 'private' }, { n: published }),
        ]);
      }
    };
    await publishSome(10);
    token = 't1'; // ada: may not
    const refreshed = client.reauthenticate();
    await publishSome(40); // while the refresh and the re-authorization run
    await refreshed;
    await publishSome(10);
    await untilEvent(received, 'message', () => lobby.length === 60, 'the lobby messages');

    expect(lobby).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(ended.map((error) => error.code)).toEqual(['FORBIDDEN']);
    expect(secret.length).toBeGreaterThanOrEqual(10);
    expect(secret).toEqual(Array.from({ length: secret.length }, (_, i) => i + 1));
    expect(secret.length).toBeLessThanOrEqual(50); // nothing after the refresh was answered
    expect(client.state).toBe('open');
  });
});

describe('refreshes one at a time', () => {
  it('answers a second refresh while one runs with TOO_MANY_REQUESTS; the first still completes', async () => {
    const { world, url } = await start();
    const { socket, received } = await rawOpen(url);
    socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 't1' } }));
    await untilEvent(socket, 'message', () => received.length === 1, 'authenticated');
    socket.send(JSON.stringify({ type: 'auth', id: 2, data: { token: 'slow-t3' } }));
    await untilEvent(world, 'gate', () => world.gate !== undefined, 'the slow context to start');
    socket.send(JSON.stringify({ type: 'auth', id: 3, data: { token: 't3' } }));
    await untilEvent(socket, 'message', () => received.length === 2, 'the refusal');
    expect(received[1]).toMatchObject({ type: 'error', id: 3, error: { code: 'TOO_MANY_REQUESTS' } });
    world.gate?.();
    await untilEvent(socket, 'message', () => received.length === 3, 'the first refresh answered');
    expect(received[2]).toEqual({ type: 'authenticated', id: 2 });
  });

  it('paces refreshes: a burst of 10, then limits.maxRefreshesPerSecond (TOO_MANY_REQUESTS past it)', async () => {
    const { url } = await start();
    const { socket, received } = await rawOpen(url);
    socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 't1' } }));
    for (let id = 2; id <= 12; id++) {
      await untilEvent(socket, 'message', () => received.length === id - 1, `the answer before ${id}`);
      socket.send(JSON.stringify({ type: 'auth', id, data: { token: 't1' } }));
    }
    await untilEvent(socket, 'message', () => received.length === 12, 'every answer');
    expect(received.slice(1, 11).map((m) => m.type)).toEqual(Array(10).fill('authenticated'));
    expect(received[11]).toMatchObject({ type: 'error', id: 12, error: { code: 'TOO_MANY_REQUESTS' } });
  });

  it('an expiresAt that gives no time is told to onError, and the credentials then do not expire', async () => {
    const { url, onError } = await start({ expiresAt: () => Number.NaN });
    const { socket, received } = await rawOpen(url);
    socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 't1' } }));
    await untilEvent(socket, 'message', () => received.length === 1, 'authenticated');
    expect(received[0]).toEqual({ type: 'authenticated', id: 1 });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ name: 'TypeError' }), {});
  });
});

// Credentials that expire: sessions/expiry.test.ts (on the testing kit's fake clock).

describe('a subscription still joining during a refresh', () => {
  it('is asked again with the new ctx: refused, it gets FORBIDDEN, never subscribed', async () => {
    const { world, url } = await start();
    const { socket, received } = await rawOpen(url);
    socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 't3' } })); // bob
    socket.send(JSON.stringify({ type: 'subscribe', id: 2, name: 'room', params: { room: 'slow-private' } }));
    const openGate = async (what: string) => {
      await untilEvent(world, 'gate', () => world.gate !== undefined, what);
      const gate = world.gate as () => void;
      world.gate = undefined;
      gate();
    };
    await untilEvent(world, 'gate', () => world.gate !== undefined, 'authorize to start (as bob)');
    socket.send(JSON.stringify({ type: 'auth', id: 3, data: { token: 't1' } })); // ada
    await untilEvent(socket, 'message', () => received.some((m) => m.id === 3), 'the refresh answered');
    await openGate('authorize as bob');
    await openGate('authorize again, as ada');
    await untilEvent(socket, 'message', () => received.some((m) => m.id === 2), 'the subscribe answered');
    expect(received.filter((m) => m.id === 2)).toEqual([
      { type: 'error', id: 2, error: expect.objectContaining({ code: 'FORBIDDEN' }) },
    ]);
  });
});

describe('a revoke while context runs', () => {
  it('reaches the connection once its ctx exists: closed 4401, never connected', async () => {
    const { server, world, url } = await start();
    const { socket } = await rawOpen(url);
    socket.send(JSON.stringify({ type: 'auth', id: 1, data: { token: 'slow-t1' } })); // ada, checked slowly
    await untilEvent(world, 'gate', () => world.gate !== undefined, 'context to start');
    await expect(server.disconnect((ctx) => ctx.user === 'ada', 'revoked')).resolves.toBe(0);
    const closed = once<[number, Buffer]>(socket, 'close');
    world.gate?.();
    const [code, reason] = await closed;
    expect([code, String(reason)]).toEqual([CLOSE_CODES.unauthorized, 'UNAUTHORIZED: revoked']);
    expect(world.connects).toEqual([]);
  });
});

describe('a connection that is closing', () => {
  it('has nothing more handled, even from a peer that ignores our Close (revoked: no more calls with its ctx)', async () => {
    const { server, world, url } = await start();
    const { port } = new URL(url);
    const tcp = tcpConnect({ host: '127.0.0.1', port: Number(port) });
    cleanups.push(() => tcp.destroy());
    const received = new EventEmitter();
    let bytes = Buffer.alloc(0);
    tcp.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      received.emit('data');
    });
    await once(tcp, 'connect');
    tcp.write(
      'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Protocol: switchboard.v1\r\n\r\n',
    );
    const text = (payload: unknown) => encodeClientFrame({ opcode: 1, payload: JSON.stringify(payload) });
    tcp.write(text({ type: 'auth', id: 1, data: { token: 't1' } }));
    await untilEvent(received, 'data', () => bytes.includes('"authenticated"'), 'authenticated');

    const before = bytes.length;
    await expect(server.disconnect(() => true, 'revoked')).resolves.toBe(1);
    // The server's Close frame (0x88) arrives; this peer keeps talking as if it had not.
    await untilEvent(received, 'data', () => bytes.subarray(before).includes(0x88), 'the Close frame');
    tcp.write(text({ type: 'call', id: 2, name: 'me', input: {} }));
    tcp.write(encodeClientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) })); // then its own Close
    await untilEvent(world, 'disconnect', () => world.disconnects.length === 1, 'the connection to end');
    expect(world.handlerConnections).toEqual([]);
  });
});

describe('connections in hooks and handlers, and revoke', () => {
  it('onConnect and onDisconnect see the connection; handlers get the same one', async () => {
    const { world, url } = await start();
    const client = connect(url, () => 't1', false);
    const { connection } = await client.call('me', {});
    const [connected] = world.connects;
    expect(connected?.id).toBe(connection);
    expect(connected?.ctx).toEqual({ user: 'ada', token: 't1' });
    expect(connected?.remoteAddress).toBe('127.0.0.1');
    expect(connected?.connectedAt).toBeLessThanOrEqual(Date.now());
    expect(world.handlerConnections).toEqual([connection]);
    await client.close();
    await untilEvent(world, 'disconnect', () => world.disconnects.length === 1, 'onDisconnect');
    expect(world.disconnects).toEqual([{ id: connection, code: 1000 }]);
  });

  it("server.disconnect() closes the user's connections with 4401: their clients wait, 'unauthorized'", async () => {
    const { server, world, url } = await start();
    const ada1 = connect(url, () => 't1');
    const ada2 = connect(url, () => 't2');
    const bob = connect(url, () => 't3');
    await Promise.all([ada1, ada2, bob].map((client) => whenState(client, 'open')));

    const revoked = Promise.all([whenState(ada1, 'unauthorized'), whenState(ada2, 'unauthorized')]);
    await expect(server.disconnect((ctx) => ctx.user === 'ada', 'session revoked')).resolves.toBe(2);
    const infos = await revoked;
    expect(infos.map((info) => info.error?.message)).toEqual(['session revoked', 'session revoked']);
    expect(bob.state).toBe('open');
    await untilEvent(world, 'disconnect', () => world.disconnects.length === 2, 'two onDisconnect');
    expect(world.disconnects.map((entry) => entry.code)).toEqual([CLOSE_CODES.unauthorized, CLOSE_CODES.unauthorized]);
  });
});
