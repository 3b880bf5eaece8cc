import { type Client, type ContractSkew, createClient } from '@switchboard/client';
import {
  channel,
  contractFingerprint,
  defineContract,
  MAX_FINGERPRINT_NAMES,
  procedure,
  type RpcError,
} from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { once, within } from '../support/wait.js';

// Deploy skew (docs/deploy-skew.md): a client built against contract v1 talks to a server
// that now serves v2. Real server on loopback, real client.

const Input = z.object({ a: z.number() });

/** What the old client was built with. */
const v1 = defineContract({
  procedures: {
    same: procedure({ input: Input, output: z.string() }),
    gone: procedure({ input: Input, output: z.string() }),
    output: procedure({ input: Input, output: z.string() }),
    widened: procedure({ input: Input, output: z.number() }),
    narrowed: procedure({ input: Input, output: z.number() }),
  },
  channels: {
    feed: channel({ params: z.object({}), message: z.string() }),
    goneFeed: channel({ params: z.object({}), message: z.string() }),
    changedFeed: channel({ params: z.object({}), message: z.string() }),
    snapshotFeed: channel({ params: z.object({}), message: z.string() }),
    room: channel({ params: z.object({ room: z.string() }), message: z.string() }),
  },
});

/** What the server serves now. */
const v2 = defineContract({
  procedures: {
    same: procedure({ input: Input, output: z.string() }),
    output: procedure({ input: Input, output: z.object({ text: z.string() }) }),
    widened: procedure({ input: z.object({ a: z.number(), b: z.number().optional() }), output: z.number() }),
    narrowed: procedure({ input: z.object({ a: z.number().min(10) }), output: z.number() }),
    added: procedure({ input: Input, output: z.number() }),
  },
  channels: {
    feed: channel({ params: z.object({}), message: z.string() }),
    changedFeed: channel({ params: z.object({}), message: z.object({ text: z.string() }) }),
    snapshotFeed: channel({ params: z.object({}), message: z.string(), snapshot: z.array(z.string()) }),
    room: channel({ params: z.object({ room: z.string().min(3) }), message: z.string() }),
  },
});

const router = defineRouter(v2, {
  procedures: {
    same: ({ input }) => `a=${input.a}`,
    output: ({ input }) => ({ text: String(input.a) }),
    widened: ({ input }) => input.a + (input.b ?? 0),
    narrowed: ({ input }) => input.a,
    added: ({ input }) => input.a,
  },
  channels: { snapshotFeed: { snapshot: () => ['x'] } },
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

async function start(): Promise<string> {
  const server = createServer({ router, heartbeat: false, onRefused: () => {} });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return `ws://127.0.0.1:${port}`;
}

/** A v1 client: given v1's fingerprint (as one that imports only the type would be), or none. */
function oldClient(url: string, fingerprint: 'fingerprint' | 'none' = 'fingerprint'): Client<typeof v1> {
  const client = createClient<typeof v1>({
    url,
    WebSocket: WebSocket as never,
    reconnect: false,
    fingerprint: fingerprint === 'none' ? false : contractFingerprint(v1),
  });
  cleanups.push(() => client.close());
  return client;
}

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as RpcError }),
  );
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

function subscribeFailure(client: Client<typeof v1>, name: keyof (typeof v1)['channels'], params: object) {
  return failure(client.subscribe(name, params as never, { onMessage: () => {} }).ready);
}

describe('an old client against a new server', () => {
  it('hears at once which names differ, and why', async () => {
    const client = oldClient(await start());
    const [skew] = await once<[ContractSkew]>(client as never, 'reloadRequired');
    expect(skew).toEqual({
      procedures: { gone: 'removed', output: 'changed', widened: 'input-changed', narrowed: 'input-changed' },
      channels: { goneFeed: 'removed', changedFeed: 'changed', snapshotFeed: 'changed', room: 'input-changed' },
    });
    expect(client.state).toBe('open');
  });

  it('gets RELOAD_REQUIRED for a removed procedure, and for one whose output changed', async () => {
    const client = oldClient(await start());
    const gone = await failure(client.call('gone', { a: 1 }));
    expect(gone.code).toBe('RELOAD_REQUIRED');
    expect(gone.data).toEqual({ reason: 'removed', name: 'gone' });
    const output = await failure(client.call('output', { a: 1 }));
    expect(output.code).toBe('RELOAD_REQUIRED');
    expect(output.data).toEqual({ reason: 'changed', name: 'output' });
  });

  it('still calls unchanged procedures and those whose input was widened', async () => {
    const client = oldClient(await start());
    await expect(client.call('same', { a: 1 })).resolves.toBe('a=1');
    await expect(client.call('widened', { a: 2 })).resolves.toBe(2);
  });

  it('calls a procedure whose input was narrowed while its input passes, RELOAD_REQUIRED once it does not', async () => {
    const client = oldClient(await start());
    await expect(client.call('narrowed', { a: 10 })).resolves.toBe(10);
    const refused = await failure(client.call('narrowed', { a: 5 }));
    expect(refused.code).toBe('RELOAD_REQUIRED');
    expect(refused.data).toEqual({ reason: 'changed', name: 'narrowed' });
  });

  it('still gets BAD_REQUEST for an input that fails a schema both sides share', async () => {
    const client = oldClient(await start());
    const refused = await failure(client.call('same', { a: 'one' } as never));
    expect(refused.code).toBe('BAD_REQUEST');
  });

  it('gets RELOAD_REQUIRED when subscribing to a removed channel, or one whose message or snapshot changed', async () => {
    const client = oldClient(await start());
    const gone = await subscribeFailure(client, 'goneFeed', {});
    expect([gone.code, gone.data]).toEqual(['RELOAD_REQUIRED', { reason: 'removed', name: 'goneFeed' }]);
    const changed = await subscribeFailure(client, 'changedFeed', {});
    expect([changed.code, changed.data]).toEqual(['RELOAD_REQUIRED', { reason: 'changed', name: 'changedFeed' }]);
    const snapshot = await subscribeFailure(client, 'snapshotFeed', {});
    expect([snapshot.code, snapshot.data]).toEqual(['RELOAD_REQUIRED', { reason: 'changed', name: 'snapshotFeed' }]);
  });

  it('subscribes to unchanged channels, and to one whose params narrowed while they pass', async () => {
    const client = oldClient(await start());
    await expect(client.subscribe('feed', {}, { onMessage: () => {} }).ready).resolves.toEqual({ snapshot: false });
    await expect(client.subscribe('room', { room: 'abc' }, { onMessage: () => {} }).ready).resolves.toEqual({
      snapshot: false,
    });
    const refused = await subscribeFailure(client, 'room', { room: 'ab' });
    expect([refused.code, refused.data]).toEqual(['RELOAD_REQUIRED', { reason: 'changed', name: 'room' }]);
  });

  it('works the fingerprint out from `contract` when given no `fingerprint`', async () => {
    const client = createClient<typeof v1>({ url: await start(), WebSocket: WebSocket as never, contract: v1 });
    cleanups.push(() => client.close());
    const gone = await failure(client.call('gone', { a: 1 }));
    expect(gone.code).toBe('RELOAD_REQUIRED');
  });
});

describe('a client that sends no fingerprint', () => {
  it('gets what it always got: NOT_FOUND for a removed name, and no reloadRequired', async () => {
    const client = oldClient(await start(), 'none');
    let told = false;
    client.on('reloadRequired', () => {
      told = true;
    });
    const gone = await failure(client.call('gone', { a: 1 }));
    expect(gone.code).toBe('NOT_FOUND');
    const feed = await subscribeFailure(client, 'goneFeed', {});
    expect(feed.code).toBe('NOT_FOUND');
    await expect(client.call('narrowed', { a: 5 }).catch((error: RpcError) => error.code)).resolves.toBe('BAD_REQUEST');
    expect(told).toBe(false);
  });
});

describe('a fingerprint past its limits', () => {
  it('closes the connection with 1008 and says why, before context runs', async () => {
    const url = await start();
    const socket = new WebSocket(url, 'switchboard.v1');
    socket.on('error', () => {});
    cleanups.push(() => socket.terminate());
    await once(socket, 'open');
    const procedures: Record<string, unknown> = {};
    for (let i = 0; i <= MAX_FINGERPRINT_NAMES; i++) procedures[`p${i}`] = { input: 'a', output: 'b' };
    socket.send(JSON.stringify({ type: 'auth', id: 1, contract: { procedures, channels: {} } }));
    const [code, reason] = await once<[number, Buffer]>(socket, 'close');
    expect(code).toBe(1008);
    expect(String(reason)).toBe(`BAD_REQUEST: contract has more than ${MAX_FINGERPRINT_NAMES} names`);
  });
});
