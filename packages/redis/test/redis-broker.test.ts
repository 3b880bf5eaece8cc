import { randomUUID } from 'node:crypto';
import { RpcError } from '@switchboard/contract';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBroker } from '../../server/test/broker/broker-suite.js';
import { useRedisServer } from '../../tests/support/redis-server.js';
import { until } from '../../tests/support/wait.js';
import { type BrokerGap, type BrokerHealth, RedisBroker, topicKeys } from '../src/index.js';

const { available, redis } = useRedisServer();

/** A prefix per broker group, so tests never see each other's keys. */
const freshPrefix = () => `t${randomUUID().slice(0, 8)}`;

const open: RedisBroker[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((broker) => broker.close()));
});

function makeBroker(options: Omit<ConstructorParameters<typeof RedisBroker>[0], 'url'> = {}): RedisBroker {
  const broker = new RedisBroker({ url: redis.url, commandTimeoutMs: 1_000, ...options });
  open.push(broker);
  return broker;
}

/** Resolves once `check()` holds, re-checked on every `event` of `broker`, or rejects after `timeoutMs`. */
function whenBroker(
  broker: RedisBroker,
  event: 'health' | 'gap',
  check: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const listener = () => {
      if (!check()) return;
      clearTimeout(timer);
      broker.off(event, listener);
      resolve();
    };
    const timer = setTimeout(() => {
      broker.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    broker.on(event, listener);
  });
}

const healthy = (broker: RedisBroker) => whenBroker(broker, 'health', () => broker.health === 'ok', 'health ok');

describe.skipIf(!available)('RedisBroker', () => {
  if (available) {
    // Each broker of the suite gets its own prefix: a fresh Redis namespace, as a fresh memory broker would be.
    describeBroker('RedisBroker', async (history) => {
      const broker = new RedisBroker({ url: redis.url, prefix: freshPrefix(), ...(history ? { history } : {}) });
      await healthy(broker);
      return broker;
    });
  }

  describe('numbering and history in Redis', () => {
    it('numbers across brokers on one Redis: positions come from Redis, not from a process', async () => {
      const prefix = freshPrefix();
      const [a, b] = [makeBroker({ prefix }), makeBroker({ prefix })];
      const seenOnB: string[] = [];
      await b.subscribe('t', (payload, position) => seenOnB.push(`${payload}@${position}`));
      const p1 = await a.publish('t', 'from-a');
      const p2 = await b.publish('t', 'from-b');
      const p3 = await a.publish('t', 'from-a-again');
      expect([p1, p2, p3].map((p) => Number(p.split(':')[1]))).toEqual([1, 2, 3]);
      expect(new Set([p1, p2, p3].map((p) => p.split(':')[0])).size).toBe(1);
      await until(() => seenOnB.length === 3, 'three deliveries on b');
      expect(seenOnB).toEqual([`from-a@${p1}`, `from-b@${p2}`, `from-a-again@${p3}`]);
      expect(await b.history('t', `${p1.split(':')[0]}:0`)).toEqual({
        messages: [
          { payload: 'from-a', position: p1 },
          { payload: 'from-b', position: p2 },
          { payload: 'from-a-again', position: p3 },
        ],
        complete: true,
      });
    });

    it("resolves position() and history() only once every message up to them has reached this process's listeners", async () => {
      const prefix = freshPrefix();
      const [publisher, subscriber] = [makeBroker({ prefix }), makeBroker({ prefix })];
      const seen: number[] = [];
      await subscriber.subscribe('t', (_payload, position) => seen.push(Number(position.split(':')[1])));
      for (let round = 0; round < 5; round++) {
        const burst = Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish('t', String(i))));
        await new Promise((resolve) => setTimeout(resolve, 1));
        const position = await subscriber.position('t');
        // Everything numbered up to the position is here already, nothing is held back.
        expect(seen.length).toBeGreaterThanOrEqual(Number(position.split(':')[1]));
        const from = `${position.split(':')[0]}:0`;
        const history = await subscriber.history('t', from);
        expect(seen.length).toBeGreaterThanOrEqual(history.messages.length);
        await burst;
      }
      await until(() => seen.length === 1_000, 'all 1,000');
      expect(seen).toEqual(seen.map((_, i) => i + 1));
    });

    it('keeps one Redis subscription per topic however many listeners, and drops it with the last', async () => {
      const broker = makeBroker({ prefix: freshPrefix() });
      await healthy(broker);
      const probe = new Redis(redis.url);
      try {
        const { channel } = topicKeys(broker.options.prefix, 'shared');
        const subscribers = async () => {
          const reply = (await probe.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
          return Number(reply[1]);
        };
        const listeners = Array.from({ length: 5 }, () => () => {});
        for (const listener of listeners) await broker.subscribe('shared', listener);
        expect(await subscribers()).toBe(1);
        for (const listener of listeners) await broker.unsubscribe('shared', listener);
        await until(() => broker.topicCount === 0, 'the topic to be dropped');
        await expect.poll(subscribers, { timeout: 2_000 }).toBe(0);
      } finally {
        probe.disconnect();
      }
    });

    it('leaves no channel subscribed when a subscriber gives up while the broker is still connecting', async () => {
      const broker = makeBroker({ prefix: freshPrefix() });
      const listener = () => {};
      const subscribing = broker.subscribe('early', listener);
      await broker.unsubscribe('early', listener);
      await subscribing;
      await healthy(broker);
      const probe = new Redis(redis.url);
      try {
        const { channel } = topicKeys(broker.options.prefix, 'early');
        const reply = (await probe.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
        expect(Number(reply[1])).toBe(0);
        expect(broker.topicCount).toBe(0);
      } finally {
        probe.disconnect();
      }
    });

    it('uses sharded pub/sub on Redis 7', async () => {
      const broker = makeBroker({ prefix: freshPrefix() });
      await healthy(broker);
      expect(broker.pubsub).toBe('sharded');
    });

    it('falls back to classic pub/sub when asked, with the same guarantees', async () => {
      const prefix = freshPrefix();
      const [a, b] = [makeBroker({ prefix, pubsub: 'classic' }), makeBroker({ prefix, pubsub: 'classic' })];
      const seen: unknown[] = [];
      await b.subscribe('t', (payload) => seen.push(payload));
      for (const payload of ['1', '2', '3']) await a.publish('t', payload);
      await until(() => seen.length === 3, 'three deliveries');
      expect(seen).toEqual(['1', '2', '3']);
      expect(b.pubsub).toBe('classic');
    });

    it('trims the stream by count and age in Redis (approximately) and applies both exactly when reading', async () => {
      const broker = makeBroker({ prefix: freshPrefix(), history: { maxMessages: 100 } });
      const positions: string[] = [];
      for (let i = 0; i < 1_000; i++) positions.push(await broker.publish('t', String(i)));
      const probe = new Redis(redis.url);
      try {
        const length = await probe.xlen(topicKeys(broker.options.prefix, 't').stream);
        // MAXLEN ~ trims whole stream nodes: at least 100 kept, far fewer than 1,000.
        expect(length).toBeGreaterThanOrEqual(100);
        expect(length).toBeLessThan(500);
      } finally {
        probe.disconnect();
      }
      const last100 = await broker.history('t', positions[899] as string);
      expect(last100.complete).toBe(true);
      expect(last100.messages.map((m) => m.payload)).toEqual(Array.from({ length: 100 }, (_, i) => String(900 + i)));
      expect((await broker.history('t', positions[898] as string)).complete).toBe(false);
    });

    it('starts a new epoch when the topic was lost, so an old position is a gap', async () => {
      const broker = makeBroker({ prefix: freshPrefix() });
      const first = await broker.publish('t', 'a');
      const probe = new Redis(redis.url);
      try {
        const { meta, stream } = topicKeys(broker.options.prefix, 't');
        await probe.del(meta, stream);
      } finally {
        probe.disconnect();
      }
      const again = await broker.publish('t', 'b');
      expect(again.split(':')[0]).not.toBe(first.split(':')[0]);
      expect(again.endsWith(':1')).toBe(true);
      expect(await broker.history('t', first)).toEqual({ messages: [], complete: false });
    });

    it('delivers the first message of a new epoch while connected throughout, without a gap', async () => {
      const prefix = freshPrefix();
      const [publisher, subscriber] = [makeBroker({ prefix }), makeBroker({ prefix })];
      const seen: unknown[] = [];
      const gaps: BrokerGap[] = [];
      await subscriber.subscribe(
        't',
        (payload) => seen.push(payload),
        (gap) => gaps.push(gap),
      );
      await publisher.publish('t', 'a');
      await until(() => seen.length === 1, 'the first delivery');
      const probe = new Redis(redis.url);
      try {
        const { meta, stream } = topicKeys(prefix, 't');
        await probe.del(meta, stream); // as if the topic had expired
      } finally {
        probe.disconnect();
      }
      await publisher.publish('t', 'b');
      await until(() => seen.length === 2, 'the second delivery');
      expect(seen).toEqual(['a', 'b']);
      expect(gaps).toEqual([]);
    });
  });

  describe('options', () => {
    it('refuses bad options at construction', () => {
      expect(() => new RedisBroker({} as never)).toThrow(TypeError);
      expect(() => new RedisBroker({ url: 'redis://x', client: new Redis({ lazyConnect: true }) })).toThrow(TypeError);
      expect(() => new RedisBroker({ url: 'redis://x', prefix: 'a{b' })).toThrow(TypeError);
      expect(() => new RedisBroker({ url: 'redis://x', history: { maxMessages: 0 } })).toThrow(TypeError);
      expect(() => new RedisBroker({ url: 'redis://x', history: { maxAgeMs: 10_000, topicTtlMs: 5_000 } })).toThrow(
        TypeError,
      );
    });

    it('copies the settings of a given client and leaves the client itself alone', async () => {
      const client = new Redis(redis.url, { lazyConnect: true });
      const broker = new RedisBroker({ client, prefix: freshPrefix() });
      open.push(broker);
      const position = await broker.publish('t', 'x');
      expect(position).toMatch(/:1$/);
      expect(client.status).toBe('wait'); // never connected: the broker has its own connections
      await broker.close();
      client.disconnect();
    });

    it('rejects with UNAVAILABLE once closed', async () => {
      const broker = makeBroker({ prefix: freshPrefix() });
      await healthy(broker);
      await broker.close();
      expect(broker.health).toBe<BrokerHealth>('closed');
      const error = await broker.publish('t', 'x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).code).toBe('UNAVAILABLE');
    });
  });
});
