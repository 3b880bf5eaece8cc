import { channel, defineContract, procedure, RpcError } from '@switchboard/contract';
import { defineRouter, memoryBroker } from '@switchboard/server';
import { createTestPair, record, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

// The testing kit on itself: a pair in memory (and over loopback), each fault of the link,
// the fake clock driving heartbeats, backoff and deadlines, and a server restart.

const contract = defineContract({
  procedures: {
    add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
    where: procedure({ input: z.undefined(), output: z.string() }),
    reverse: procedure({ input: z.instanceof(Uint8Array), output: z.instanceof(Uint8Array) }),
  },
  channels: {
    ticks: channel({ params: z.object({ room: z.string() }), message: z.object({ n: z.number() }) }),
  },
});

const router = defineRouter(contract, {
  procedures: {
    add: ({ input }) => input.a + input.b,
    where: ({ connection }) => connection.remoteAddress ?? 'unknown',
    reverse: ({ input }) => input.slice().reverse(),
  },
});

type Pair = TestPair<typeof contract, undefined>;
const pairs: Pair[] = [];
afterEach(async () => {
  for (const pair of pairs.splice(0)) await pair.close();
});

async function start(options: Partial<Parameters<typeof createTestPair<typeof contract, undefined>>[0]> = {}) {
  const pair = await createTestPair({ router, ...options });
  pairs.push(pair);
  return pair;
}

describe('createTestPair in memory', () => {
  it('connects a typed client to the router with no socket, on a fake clock', async () => {
    const { client, clock, link } = await start();
    expect(client.state).toBe('open');
    expect(clock.faked).toBe(true);
    expect(await client.call('add', { a: 2, b: 3 })).toBe(5);
    expect(await client.call('where')).toBe('memory');
    expect(link.connections).toBe(1);
  });

  it('carries byte values both ways as binary messages', async () => {
    const { client } = await start();
    expect(await client.call('reverse', Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(3, 2, 1));
  });

  it('cut: the client reconnects with backoff on the fake clock, queued calls go out once restored', async () => {
    const pair = await start({ client: { reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 } } });
    const { client, link, clock } = pair;
    link.cut();
    await pair.whenState('reconnecting');
    const queued = client.call('add', { a: 1, b: 1 });
    const attempts = link.attempts;
    // Backoff runs on the fake clock: attempts happen as it moves (and are refused).
    await clock.advance(10_000);
    expect(link.attempts).toBeGreaterThan(attempts);
    expect(client.state).not.toBe('open');
    link.restore();
    // The next attempt is at most maxDelayMs away (with jitter): it finds the link back.
    await clock.advance(1_000);
    await pair.whenState('open');
    expect(await queued).toBe(2);
  });

  it('blackhole: the heartbeat finds the dead link after its interval and timeout, in no real time', async () => {
    const pair = await start({ client: { heartbeat: { intervalMs: 10_000, timeoutMs: 5_000 } } });
    pair.link.blackhole();
    // Quiet for 10 s, then a ping; no answer within 5 s: dead (checked every 2.5 s).
    await pair.clock.advance(12_000);
    expect(pair.client.state).toBe('open');
    await pair.clock.advance(8_000);
    const info = await pair.whenState('reconnecting');
    expect(info.closeCode).toBe(4000);
  });

  it('dropNext: a lost reply leaves the call to its deadline (TIMEOUT), on the fake clock', async () => {
    const { client, link, clock } = await start();
    link.dropNext(1, 'down');
    const call = client.call('add', { a: 1, b: 2 }, { timeoutMs: 1_000 });
    const outcome = call.then(
      () => 'answered',
      (error: RpcError) => error.code,
    );
    await clock.advance(999);
    await clock.advance(1);
    expect(await outcome).toBe('TIMEOUT');
    expect(await client.call('add', { a: 1, b: 2 })).toBe(3);
  });

  it('duplicateNext: a channel message that arrives twice is delivered once', async () => {
    const { client, server, link } = await start();
    const feed = record(client, 'ticks', { room: 'a' });
    await feed.subscription.ready;
    link.duplicateNext(1, 'down');
    await server.publish('ticks', { room: 'a' }, { n: 1 });
    await server.publish('ticks', { room: 'a' }, { n: 2 });
    expect(await feed.untilMessages(2)).toEqual([{ n: 1 }, { n: 2 }]);
    // Nothing more comes: another publish is the next message.
    await server.publish('ticks', { room: 'a' }, { n: 3 });
    expect(await feed.untilMessages(3)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('delay: bytes arrive when the fake clock has moved', async () => {
    const { client, link, clock } = await start();
    link.delay(100);
    let answered = false;
    const call = client.call('add', { a: 2, b: 2 }).then((sum) => {
      answered = true;
      return sum;
    });
    await clock.advance(99);
    expect(answered).toBe(false);
    await clock.advance(101); // 100 up, 100 down
    expect(await call).toBe(4);
  });

  it('blackhole holds bytes already delayed too, and restore delivers them in order', async () => {
    const { client, link, clock } = await start();
    link.delay(100);
    let answered = false;
    const call = client.call('add', { a: 3, b: 4 }).then((sum) => {
      answered = true;
      return sum;
    });
    await clock.advance(50); // the call is on its way up
    link.blackhole();
    await clock.advance(1_000);
    expect(answered).toBe(false);
    link.restore();
    await clock.advance(0);
    expect(await call).toBe(7);
  });

  it('closes at once after a long delayed run of fake time (no real wait for fake-time delays)', async () => {
    const pair = await createTestPair({ router });
    pair.link.delay(50);
    await pair.clock.advance(10 * 60_000);
    // Ten minutes of fake time must not become ten minutes of real waiting for the close
    // handshake's delayed bytes: this ends well within the test's own timeout.
    await pair.close();
    expect(pair.link.connections).toBe(0);
  });

  it('restart: a crashed server comes back; the subscription resumes and says it lost the history', async () => {
    const pair = await start();
    const feed = record(pair.client, 'ticks', { room: 'a' });
    await feed.subscription.ready;
    await pair.server.publish('ticks', { room: 'a' }, { n: 1 });
    await feed.untilMessages(1);
    await pair.restart();
    await pair.whenState('reconnecting');
    await pair.clock.advance(30_000);
    await pair.whenState('open');
    // A new in-memory broker: the old history is gone, and the client is told.
    expect(await feed.untilGaps(1)).toEqual([expect.objectContaining({ reason: 'history' })]);
    await pair.server.publish('ticks', { room: 'a' }, { n: 2 });
    expect(await feed.untilMessages(2)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('restart with a broker that outlives the server: nothing missed, no gap', async () => {
    const broker = memoryBroker();
    const pair = await start({ server: { broker } });
    const feed = record(pair.client, 'ticks', { room: 'a' });
    await feed.subscription.ready;
    await pair.restart({ graceful: true });
    // Published while the client is away: replayed from the broker's history.
    await pair.server.publish('ticks', { room: 'a' }, { n: 1 });
    await pair.clock.advance(30_000);
    await pair.whenState('open');
    expect(await feed.untilMessages(1)).toEqual([{ n: 1 }]);
    expect(feed.gaps).toEqual([]);
  });
});

describe('createTestPair over loopback', () => {
  it('talks through the real transport on 127.0.0.1, and the link faults it the same way', async () => {
    const pair = await start({ transport: 'loopback', clock: false });
    expect(pair.clock.faked).toBe(false);
    expect(await pair.client.call('where')).toBe('127.0.0.1');
    pair.link.cut();
    await pair.whenState('reconnecting');
    pair.link.restore();
    await pair.whenState('open');
    expect(await pair.client.call('add', { a: 20, b: 22 })).toBe(42);
  });
});

describe('a refused connection', () => {
  it('reaches the test as the client state, with the server error', async () => {
    const guarded = defineRouter(contract, {
      context: () => {
        throw new RpcError('UNAUTHORIZED', 'no token');
      },
      procedures: { add: ({ input }) => input.a + input.b, where: () => 'x', reverse: ({ input }) => input },
    });
    const pair = await createTestPair({ router: guarded, open: false });
    pairs.push(pair as unknown as Pair);
    const info = await pair.whenState('unauthorized');
    expect(info.error?.message).toBe('no token');
  });
});
