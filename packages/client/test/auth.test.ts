import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Client, type ClientState, createClient, RpcError, type StateInfo } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// The client's credentials with a fake clock and an in-memory WebSocket: the first
// message, 'open' only once accepted, 'unauthorized' with no retry at all, refresh.

type Untyped = Client<never> & { call(name: string, input?: unknown): Promise<unknown> };

let client: Untyped | undefined;
let states: Array<[ClientState, StateInfo]> = [];

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
  states = [];
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  vi.useRealTimers();
});

function start(auth?: () => unknown): Untyped {
  client = createClient<never>({
    url: 'ws://fake',
    WebSocket: FakeWebSocket as never,
    heartbeat: false,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 },
    connectTimeoutMs: 2_000,
    ...(auth === undefined ? {} : { auth }),
  }) as Untyped;
  client.on('state', (state, info) => states.push([state, info]));
  return client;
}

/** Opens the client's socket and accepts the credentials it sends first. */
async function openAccepted(): Promise<FakeWebSocket> {
  await settle();
  const socket = FakeWebSocket.last();
  socket.open(undefined, { authenticate: false });
  await settle();
  socket.authenticate();
  return socket;
}

/** Lets the client's promise work (auth(), URL resolution) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('credentials', () => {
  it("go first, alone; calls wait until the server accepts them, then the client is 'open'", async () => {
    const c = start(() => ({ token: 't1' }));
    await settle();
    const socket = FakeWebSocket.last();
    socket.open(undefined, { authenticate: false });
    const call = c.call('echo', 'x');
    await settle();
    expect(socket.auths).toEqual([{ type: 'auth', id: expect.any(Number), data: { token: 't1' } }]);
    expect(socket.sent).toEqual([]);
    expect(c.state).toBe('connecting');

    socket.authenticate();
    expect(c.state).toBe('open');
    await settle();
    const [sent] = socket.sentOfType('call');
    expect(sent).toMatchObject({ name: 'echo', input: 'x' });
    socket.receive({ type: 'result', id: sent?.id, output: 'x' });
    await expect(call).resolves.toBe('x');
  });

  it('a server that never answers them is dropped after connectTimeoutMs and tried again', async () => {
    start(() => ({ token: 't1' }));
    await settle();
    FakeWebSocket.last().open(undefined, { authenticate: false });
    await settle();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(states.map(([state]) => state)).toEqual(['reconnecting']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeWebSocket.created).toHaveLength(2);
  });
});

describe('refused credentials', () => {
  it("close 4401: 'unauthorized' with the server's error, what waits fails, and nothing is tried again, ever", async () => {
    const c = start(() => ({ token: 'old' }));
    await settle();
    const socket = FakeWebSocket.last();
    socket.open(undefined, { authenticate: false });
    const call = c.call('echo', 'x').catch((error: unknown) => error);
    await settle();
    socket.close(4401, 'UNAUTHORIZED: token expired');
    expect(c.state).toBe('unauthorized');
    const [, info] = states.at(-1) as [ClientState, StateInfo];
    expect(info).toMatchObject({ closeCode: 4401, nextDelayMs: undefined });
    expect(info.error).toBeInstanceOf(RpcError);
    expect(info.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'token expired' });
    expect(await call).toMatchObject({ code: 'UNAUTHORIZED', message: 'token expired' });
    await expect(c.call('echo', 'y')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(FakeWebSocket.created).toHaveLength(1);
    expect(c.state).toBe('unauthorized');
  });

  it('close 4403 is FORBIDDEN, the same way', async () => {
    const c = start();
    await settle();
    const socket = FakeWebSocket.last();
    socket.open(undefined, { authenticate: false });
    socket.close(4403, 'FORBIDDEN: account suspended');
    expect(c.state).toBe('unauthorized');
    expect(states.at(-1)?.[1].error).toMatchObject({ code: 'FORBIDDEN', message: 'account suspended' });
  });

  it('reconnect() and reauthenticate() start again from unauthorized, with fresh credentials', async () => {
    let token = 'old';
    const c = start(() => ({ token }));
    await settle();
    FakeWebSocket.last().open(undefined, { authenticate: false });
    FakeWebSocket.last().close(4401, 'UNAUTHORIZED: token expired');
    token = 'new';
    const reauthenticated = c.reauthenticate();
    await settle();
    const next = FakeWebSocket.last();
    expect(FakeWebSocket.created).toHaveLength(2);
    next.open(undefined, { authenticate: false });
    await settle();
    expect(next.auths.map((auth) => auth.data)).toEqual([{ token: 'new' }]);
    next.authenticate();
    await expect(reauthenticated).resolves.toBeUndefined();
    expect(states.map(([state]) => state)).toEqual(['unauthorized', 'reconnecting', 'open']);
  });
});

describe('refresh on the open connection', () => {
  it('sends new credentials without reconnecting; resolves on authenticated, rejects on error, stays open', async () => {
    let token = 't1';
    const c = start(() => ({ token }));
    const socket = await openAccepted();
    expect(c.state).toBe('open');

    token = 't2';
    const accepted = c.reauthenticate();
    await settle();
    const refresh = socket.auths.at(-1);
    expect(refresh?.data).toEqual({ token: 't2' });
    socket.receive({ type: 'authenticated', id: refresh?.id });
    await expect(accepted).resolves.toBeUndefined();

    token = 'bad';
    const refused = c.reauthenticate();
    await settle();
    socket.receive({
      type: 'error',
      id: socket.auths.at(-1)?.id,
      error: { code: 'UNAUTHORIZED', message: 'token expired' },
    });
    await expect(refused).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'token expired' });
    expect(c.state).toBe('open');
    expect(FakeWebSocket.created).toHaveLength(1);
  });

  it('a refresh with no answer rejects with TIMEOUT after timeoutMs', async () => {
    const c = start(() => ({ token: 't1' }));
    await settle();
    FakeWebSocket.last().open();
    await settle();
    FakeWebSocket.last().authenticate();
    const refresh = c.reauthenticate().catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await refresh).toMatchObject({ code: 'TIMEOUT' });
  });
});

describe('credentials that expire', () => {
  it('are refreshed on the open connection once 90% of their life has passed, and again after', async () => {
    let token = 't1';
    const c = start(() => ({ token }));
    await settle();
    const socket = FakeWebSocket.last();
    socket.open(undefined, { authenticate: false });
    await settle();
    socket.receive({ type: 'authenticated', id: socket.auths[0]?.id, expiresInMs: 10_000 });
    expect(c.state).toBe('open');

    token = 't2';
    await vi.advanceTimersByTimeAsync(8_999);
    expect(socket.auths).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(socket.auths.map((auth) => auth.data)).toEqual([{ token: 't1' }, { token: 't2' }]);

    socket.receive({ type: 'authenticated', id: socket.auths[1]?.id, expiresInMs: 1_000 });
    await vi.advanceTimersByTimeAsync(900);
    await settle();
    expect(socket.auths).toHaveLength(3);
    expect(FakeWebSocket.created).toHaveLength(1);
  });
});

describe('a refresh when the connection changes under it', () => {
  it('rejects with UNAVAILABLE when the client closes while auth() runs', async () => {
    let release: (value: unknown) => void = () => {};
    let slow = false;
    const c = start(() => (slow ? new Promise((resolve) => (release = resolve)) : { token: 't1' }));
    await settle();
    FakeWebSocket.last().open(undefined, { authenticate: false });
    await settle();
    FakeWebSocket.last().authenticate();
    expect(c.state).toBe('open');
    slow = true;
    const refresh = c.reauthenticate().catch((error: unknown) => error);
    await settle();
    await c.close();
    release({ token: 't2' });
    expect(await refresh).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('rejects with the refusal when a 4401 comes while it waits, and the next one reconnects at once', async () => {
    const c = start(() => ({ token: 't1' }));
    const socket = await openAccepted();
    const refresh = c.reauthenticate().catch((error: unknown) => error);
    await settle();
    expect(socket.auths).toHaveLength(2); // the refresh is on its way
    socket.close(4401, 'UNAUTHORIZED: revoked');
    expect(await refresh).toMatchObject({ code: 'UNAUTHORIZED', message: 'revoked' });
    const next = c.reauthenticate();
    await settle();
    expect(FakeWebSocket.created).toHaveLength(2);
    FakeWebSocket.last().open(undefined, { authenticate: false });
    await settle();
    FakeWebSocket.last().authenticate();
    await expect(next).resolves.toBeUndefined();
  });

  it('a refresh answered after its timeout still sets the next automatic refresh', async () => {
    const c = start(() => ({ token: 't1' }));
    await settle();
    const socket = FakeWebSocket.last();
    socket.open(undefined, { authenticate: false });
    await settle();
    socket.receive({ type: 'authenticated', id: socket.auths[0]?.id, expiresInMs: 100_000 });
    await vi.advanceTimersByTimeAsync(90_000); // the automatic refresh goes
    await settle();
    expect(socket.auths).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(30_000); // no answer: TIMEOUT (told on 'error')
    socket.receive({ type: 'authenticated', id: socket.auths[1]?.id, expiresInMs: 100_000 }); // late
    await vi.advanceTimersByTimeAsync(90_000);
    await settle();
    expect(socket.auths.length).toBeGreaterThanOrEqual(3);
    expect(c.state).toBe('open');
  });
});
