import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { RpcError } from '@switchboard/contract';
import { callFingerprint } from '@switchboard/server';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../../tests/support/redis-server.js';
import { until } from '../../tests/support/wait.js';
import { sessionKey } from '../src/idempotency-store.js';
import { RedisBroker, RedisIdempotencyStore } from '../src/index.js';

// The shared idempotency window: two stores on two connections stand for two server nodes.

const { available, redis } = useRedisServer();

const connections: Redis[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.disconnect();
});

/** A node's store: its own connection, made like the broker's (no offline queue). */
function node(
  options: { ttlMs?: number; leaseMs?: number; maxKeysPerSession?: number; maxSessionBytes?: number } = {},
  prefix = 'idem',
): RedisIdempotencyStore {
  const connection = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  connections.push(connection);
  return new RedisIdempotencyStore(connection, { prefix, ...options });
}

const key = () => randomUUID();

/** A claim expected to fail: what it failed with, and after how long. */
async function timedClaim(store: RedisIdempotencyStore): Promise<{ error: unknown; ms: number }> {
  const startedAt = Date.now();
  const error = await store.claim(key(), fingerprint).catch((e: unknown) => e);
  return { error, ms: Date.now() - startedAt };
}
const fingerprint = callFingerprint('user.create', { name: 'ada' }, undefined);

describe.skipIf(!available)('RedisIdempotencyStore', () => {
  it('lets one node claim a key; another node then sees it running, with its fingerprint', async () => {
    const [a, b] = [node(), node()];
    const k = key();
    const claim = await a.claim(k, fingerprint);
    expect(claim.state).toBe('claimed');
    expect(await b.claim(k, fingerprint)).toEqual({ state: 'running', fingerprint });
    expect(await a.claim(k, fingerprint)).toEqual({ state: 'running', fingerprint });
  });

  it('keeps at most maxKeysPerSession calls of a session: past it the oldest is forgotten, never a new call refused', async () => {
    const store = node({ maxKeysPerSession: 3 });
    const session = key();
    for (let n = 1; n <= 4; n++) {
      const claim = await store.claim(`${session}.${n}`, fingerprint);
      if (claim.state !== 'claimed') throw new Error(`call ${n} not claimed`);
      await store.finish(`${session}.${n}`, fingerprint, claim.token, 'r}');
    }
    expect((await store.claim(`${session}.4`, fingerprint)).state).toBe('done');
    expect((await store.claim(`${session}.2`, fingerprint)).state).toBe('done');
    expect((await store.claim(`${session}.1`, fingerprint)).state).toBe('claimed'); // forgotten: runs again
  });

  it('keeps at most maxSessionBytes of outcomes: past it the oldest finished go, however many finish at once', async () => {
    const store = node({ maxSessionBytes: 1_000 });
    const session = key();
    const claims = await Promise.all(
      [1, 2, 3, 4].map(async (n) => {
        const claim = await store.claim(`${session}.${n}`, fingerprint);
        if (claim.state !== 'claimed') throw new Error(`call ${n} not claimed`);
        return { n, token: claim.token };
      }),
    );
    // All four were running when the session was empty; each 400-byte outcome still fits only
    // by pushing out the oldest finished ones.
    await Promise.all(
      claims.map(({ n, token }) => store.finish(`${session}.${n}`, fingerprint, token, `r${'x'.repeat(399)}`)),
    );
    const kept = [];
    for (const n of [1, 2, 3, 4]) if ((await store.lookup(`${session}.${n}`))?.state === 'done') kept.push(n);
    expect(kept).toEqual([3, 4]);
  });

  it('forgets acknowledged calls at once and counts their bytes out', async () => {
    const store = node({ maxSessionBytes: 1_000 });
    const session = key();
    for (let n = 1; n <= 2; n++) {
      const claim = await store.claim(`${session}.${n}`, fingerprint);
      if (claim.state !== 'claimed') throw new Error('not claimed');
      await store.finish(`${session}.${n}`, fingerprint, claim.token, `r${'x'.repeat(399)}`);
    }
    await store.acknowledge(session, 1);
    expect(await store.claim(`${session}.1`, fingerprint)).toEqual({ state: 'acknowledged' });
    const third = await store.claim(`${session}.3`, fingerprint);
    if (third.state !== 'claimed') throw new Error('not claimed');
    await store.finish(`${session}.3`, fingerprint, third.token, `r${'x'.repeat(399)}`);
    expect((await store.lookup(`${session}.2`))?.state).toBe('done'); // 800 bytes: both fit
  });

  it('reads a call id as the server does: digits only', () => {
    expect(sessionKey('abc.12')).toEqual({ session: 'abc', seq: 12 });
    for (const key of ['abc.', 'abc.1e3', 'abc.0x1f', 'abc. 1', '.5', 'abc']) expect(sessionKey(key)).toBeUndefined();
  });

  it('gives every node the stored outcome once the run finished', async () => {
    const [a, b] = [node(), node()];
    const k = key();
    const claim = await a.claim(k, fingerprint);
    if (claim.state !== 'claimed') throw new Error('not claimed');
    const outcome = JSON.stringify({ ok: true, output: { id: 'user-ada' } });
    expect(await a.finish(k, fingerprint, claim.token, outcome)).toBe(true);
    expect(await b.claim(k, fingerprint)).toEqual({ state: 'done', fingerprint, outcome });
    expect(await b.lookup(k)).toEqual({ state: 'done', fingerprint, outcome });
  });

  it('shows a reused key with other input by its different fingerprint', async () => {
    const [a, b] = [node(), node()];
    const k = key();
    await a.claim(k, fingerprint);
    const other = callFingerprint('user.create', { name: 'bob' }, undefined);
    expect(other).not.toBe(fingerprint);
    expect(await b.claim(k, other)).toEqual({ state: 'running', fingerprint });
  });

  it('lets a node wait for the run on another node and get its outcome', async () => {
    const [a, b] = [node(), node()];
    const k = key();
    const claim = await a.claim(k, fingerprint);
    if (claim.state !== 'claimed') throw new Error('not claimed');
    const waiting = b.wait(k, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await a.finish(k, fingerprint, claim.token, '{"ok":true,"output":1}');
    expect(await waiting).toEqual({ state: 'done', fingerprint, outcome: '{"ok":true,"output":1}' });
  });

  it('frees a key whose owner stopped extending its lease (its node died), and a waiter learns it', async () => {
    const [a, b] = [node({ leaseMs: 150 }), node({ leaseMs: 150 })];
    const k = key();
    await a.claim(k, fingerprint);
    expect(await b.wait(k, 5_000)).toEqual({ state: 'free' });
    expect((await b.claim(k, fingerprint)).state).toBe('claimed');
  });

  it('keeps a claim that is extended past its lease', async () => {
    const [a, b] = [node({ leaseMs: 150 }), node({ leaseMs: 150 })];
    const k = key();
    const claim = await a.claim(k, fingerprint);
    if (claim.state !== 'claimed') throw new Error('not claimed');
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await a.extend(k, fingerprint, claim.token)).toBe(true);
    }
    expect(await b.lookup(k)).toEqual({ state: 'running', fingerprint });
  });

  it("never lets a late finish overwrite another run's claim", async () => {
    const [a, b] = [node({ leaseMs: 100 }), node({ leaseMs: 5_000 })];
    const k = key();
    const first = await a.claim(k, fingerprint);
    if (first.state !== 'claimed') throw new Error('not claimed');
    expect(await b.wait(k, 5_000)).toEqual({ state: 'free' }); // a's lease ran out
    const second = await b.claim(k, fingerprint);
    if (second.state !== 'claimed') throw new Error('not claimed');
    expect(await a.finish(k, fingerprint, first.token, '"late"')).toBe(false);
    expect(await a.extend(k, fingerprint, first.token)).toBe(false);
    expect(await b.finish(k, fingerprint, second.token, '"second"')).toBe(true);
    expect(await a.lookup(k)).toEqual({ state: 'done', fingerprint, outcome: '"second"' });
  });

  it('lets an owner release a claim it never ran', async () => {
    const [a, b] = [node(), node()];
    const k = key();
    const claim = await a.claim(k, fingerprint);
    if (claim.state !== 'claimed') throw new Error('not claimed');
    await a.release(k, fingerprint, claim.token);
    expect((await b.claim(k, fingerprint)).state).toBe('claimed');
  });

  it('forgets an outcome after ttlMs', async () => {
    const a = node({ ttlMs: 100 });
    const k = key();
    const claim = await a.claim(k, fingerprint);
    if (claim.state !== 'claimed') throw new Error('not claimed');
    await a.finish(k, fingerprint, claim.token, '1');
    expect((await a.lookup(k))?.state).toBe('done');
    await expect.poll(() => a.lookup(k), { timeout: 2_000, interval: 20 }).toBeUndefined();
  });

  it('gives up waiting at the timeout, or when the signal aborts', async () => {
    const [a, b] = [node(), node()];
    const k = key();
    await a.claim(k, fingerprint);
    expect(await b.wait(k, 50)).toEqual({ state: 'timeout' });
    const controller = new AbortController();
    const waiting = b.wait(k, 10_000, controller.signal);
    controller.abort();
    expect(await waiting).toEqual({ state: 'timeout' });
  });

  it("keeps a session's keys together and forgets them once the client acknowledges their outcomes", async () => {
    const [a, b] = [node(), node()];
    const session = randomUUID();
    const tokens: string[] = [];
    for (const id of [1, 2, 3]) {
      const claim = await a.claim(`${session}.${id}`, fingerprint);
      if (claim.state !== 'claimed') throw new Error('not claimed');
      tokens.push(claim.token);
    }
    await a.finish(`${session}.1`, fingerprint, tokens[0] as string, '"one"');
    await a.finish(`${session}.2`, fingerprint, tokens[1] as string, '"two"');
    expect(await b.lookup(`${session}.2`)).toEqual({ state: 'done', fingerprint, outcome: '"two"' });

    await b.acknowledge(session, 2); // the client has the outcomes of calls 1 and 2
    expect(await a.lookup(`${session}.1`)).toBeUndefined();
    expect(await a.lookup(`${session}.2`)).toBeUndefined();
    expect(await a.lookup(`${session}.3`)).toEqual({ state: 'running', fingerprint });
    // A stale repeat of an acknowledged call neither runs nor gets an outcome.
    expect(await b.claim(`${session}.2`, fingerprint)).toEqual({ state: 'acknowledged' });
    expect(await a.finish(`${session}.1`, fingerprint, tokens[0] as string, '"late"')).toBe(false);
    expect(await a.finish(`${session}.3`, fingerprint, tokens[2] as string, '"three"')).toBe(true);
  });

  it('fails with UNAVAILABLE at once while Redis is unreachable', async () => {
    const connection = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    connections.push(connection);
    const store = new RedisIdempotencyStore(connection);
    const { error, ms } = await timedClaim(store);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe('UNAVAILABLE');
    expect(ms).toBeLessThan(200);
  });

  it('waits for a connection still being made instead of failing the first call', async () => {
    const connection = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    connections.push(connection);
    const store = new RedisIdempotencyStore(connection, { prefix: 'idem' });
    expect(connection.status).not.toBe('ready');
    expect((await store.claim(key(), fingerprint)).state).toBe('claimed');
  });

  it('fails with UNAVAILABLE as soon as the first attempt fails, long before connectTimeoutMs', async () => {
    const connection = new Redis({ port: 1, enableOfflineQueue: false, retryStrategy: () => 20 });
    connection.on('error', () => {}); // refused, as meant
    connections.push(connection);
    const store = new RedisIdempotencyStore(connection, { connectTimeoutMs: 5_000 });
    const { error, ms } = await timedClaim(store);
    expect((error as RpcError).code).toBe('UNAVAILABLE');
    expect(ms).toBeLessThan(1_000);
  });

  it('waits at most connectTimeoutMs for a first attempt that does not end (a silent server)', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const connection = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, retryStrategy: () => null });
      connection.on('error', () => {});
      connections.push(connection);
      const store = new RedisIdempotencyStore(connection, { connectTimeoutMs: 300 });
      const { error, ms } = await timedClaim(store);
      expect((error as RpcError).code).toBe('UNAVAILABLE');
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('does not wait on a connection whose attempt has failed already (reconnecting)', async () => {
    const connection = new Redis({ port: 1, enableOfflineQueue: false, retryStrategy: () => 1_000 });
    connection.on('error', () => {});
    connections.push(connection);
    await until(() => connection.status === 'reconnecting', 'the first attempt to fail');
    const store = new RedisIdempotencyStore(connection, { connectTimeoutMs: 5_000 });
    const { error, ms } = await timedClaim(store);
    expect((error as RpcError).code).toBe('UNAVAILABLE');
    expect(ms).toBeLessThan(100);
  });

  it("fails a broker's claims as fast as its publishes when Redis refuses at start-up", async () => {
    const broker = new RedisBroker({ url: 'redis://127.0.0.1:1', prefix: 'idem', connectTimeoutMs: 5_000 });
    broker.on('error', () => {});
    try {
      const startedAt = Date.now();
      const [claim, publish] = await Promise.all([
        broker.idempotency.claim(key(), fingerprint).catch((e: unknown) => e),
        broker.publish('topic', 'x').catch((e: unknown) => e),
      ]);
      expect((claim as RpcError).code).toBe('UNAVAILABLE');
      expect((publish as RpcError).code).toBe('UNAVAILABLE');
      expect(Date.now() - startedAt).toBeLessThan(1_000);
    } finally {
      await broker.close();
    }
  });

  it("is offered by the broker on the broker's command connection", async () => {
    const broker = new RedisBroker({ url: redis.url, prefix: 'idem' });
    try {
      const claim = await broker.idempotency.claim(key(), fingerprint);
      expect(claim.state).toBe('claimed');
    } finally {
      await broker.close();
    }
  });
});
