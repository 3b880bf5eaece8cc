import { contractFingerprint, defineContract, MAX_FINGERPRINT_NAMES, procedure } from '@switchboard/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type Client, type ClientOptions, type ContractSkew, createClient } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// The contract's fingerprint in the first message of every connection (docs/deploy-skew.md),
// and 'reloadRequired' when the server says its contract differs. Fake clock, fake socket.

const contract = defineContract({
  procedures: { add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }) },
});

let client: Client<typeof contract> | undefined;

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  vi.useRealTimers();
});

function start(options: Partial<ClientOptions<typeof contract>> = {}): Client<typeof contract> {
  client = createClient<typeof contract>({
    url: 'ws://fake',
    WebSocket: FakeWebSocket as never,
    heartbeat: false,
    reconnect: { initialDelayMs: 100, maxDelayMs: 100 },
    ...options,
  });
  return client;
}

/** Lets the client's promise work (auth(), URL resolution) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function opened(): Promise<FakeWebSocket> {
  await settle();
  const socket = FakeWebSocket.last();
  socket.open(undefined, { authenticate: false });
  await settle();
  return socket;
}

describe('the fingerprint in the first message', () => {
  it('is worked out from `contract` and sent with the credentials, on every connection', async () => {
    start({ contract, auth: () => ({ token: 't' }) });
    const socket = await opened();
    expect(socket.auths).toEqual([
      { type: 'auth', id: expect.any(Number), data: { token: 't' }, contract: contractFingerprint(contract) },
    ]);
    socket.drop();
    await vi.advanceTimersByTimeAsync(100);
    const next = await opened();
    expect(next.auths[0]?.contract).toEqual(contractFingerprint(contract));
  });

  it('is not sent again with a refresh', async () => {
    const c = start({ contract, auth: () => ({ token: 't' }) });
    const socket = await opened();
    socket.authenticate();
    const refreshed = c.reauthenticate();
    await settle();
    socket.authenticate();
    await refreshed;
    expect(socket.auths).toHaveLength(2);
    expect(socket.auths[1]).toEqual({ type: 'auth', id: expect.any(Number), data: { token: 't' } });
  });

  it('is the `fingerprint` option when given (a client that imports only the type)', async () => {
    const fingerprint = { procedures: { add: { input: 'abc', output: 'def' } }, channels: {} };
    start({ fingerprint });
    expect((await opened()).auths[0]).toEqual({ type: 'auth', id: expect.any(Number), contract: fingerprint });
  });

  it('is left out with `fingerprint: false`, or with neither contract nor fingerprint', async () => {
    start({ contract, fingerprint: false });
    expect((await opened()).auths[0]).toEqual({ type: 'auth', id: expect.any(Number) });
    await client?.close();
    start();
    expect((await opened()).auths[0]).toEqual({ type: 'auth', id: expect.any(Number) });
  });

  it('is checked at construction against the limits the server applies', () => {
    const procedures: Record<string, { input: string; output: string }> = {};
    for (let i = 0; i <= MAX_FINGERPRINT_NAMES; i++) procedures[`p${i}`] = { input: 'a', output: 'b' };
    expect(() => start({ fingerprint: { procedures, channels: {} } })).toThrow(
      new TypeError(`fingerprint: contract has more than ${MAX_FINGERPRINT_NAMES} names`),
    );
    expect(() => start({ fingerprint: { procedures: { p: { input: '', output: 'b' } }, channels: {} } })).toThrow(
      TypeError,
    );
  });
});

describe("'reloadRequired'", () => {
  it('is emitted with the skew of an `authenticated` that carries one, once the client is open', async () => {
    const c = start({ contract });
    const seen: Array<[ContractSkew, string]> = [];
    c.on('reloadRequired', (skew) => seen.push([skew, c.state]));
    const socket = await opened();
    const skew: ContractSkew = { procedures: { add: 'changed' }, channels: { feed: 'removed' } };
    socket.receive({ type: 'authenticated', id: socket.auths[0]?.id, skew });
    expect(seen).toEqual([[skew, 'open']]);
  });

  it('is not emitted when the server finds nothing different', async () => {
    const c = start({ contract });
    const listener = vi.fn();
    c.on('reloadRequired', listener);
    (await opened()).authenticate();
    expect(c.state).toBe('open');
    expect(listener).not.toHaveBeenCalled();
  });
});
