import { randomUUID } from 'node:crypto';
import { RpcError } from '@switchboard/contract';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../tests/resilience/fault-proxy.js';
import { useRedisServer } from '../../tests/support/redis-server.js';
import { until } from '../../tests/support/wait.js';
import { type BrokerGap, type BrokerHealth, parsePosition, RedisBroker } from '../src/index.js';

// Redis going away under a broker: killed and restarted (everything lost), or one node's
// link cut while the others keep publishing (nothing lost, the node must read it back).
// A Redis server of its own: these tests kill it.

const { available, redis } = useRedisServer();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function makeBroker(url: string, prefix: string, extra: Partial<ConstructorParameters<typeof RedisBroker>[0]> = {}) {
  const broker = new RedisBroker({
    url,
    prefix,
    commandTimeoutMs: 500,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
  cleanups.push(() => broker.close());
  return broker;
}

function whenHealth(broker: RedisBroker, health: BrokerHealth, timeoutMs = 5_000): Promise<void> {
  if (broker.health === health) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const listener = (next: BrokerHealth) => {
      if (next !== health) return;
      clearTimeout(timer);
      broker.off('health', listener);
      resolve();
    };
    const timer = setTimeout(() => {
      broker.off('health', listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for health ${health} (is ${broker.health})`));
    }, timeoutMs);
    broker.on('health', listener);
  });
}

/** What a listener saw, messages and gaps in one sequence. */
function recorder() {
  const events: Array<{ kind: 'message'; payload: unknown; position: string } | { kind: 'gap'; gap: BrokerGap }> = [];
  return {
    events,
    messages: () => events.flatMap((e) => (e.kind === 'message' ? [e.payload] : [])),
    gaps: () => events.flatMap((e) => (e.kind === 'gap' ? [e.gap] : [])),
    listener: (payload: unknown, position: string) => events.push({ kind: 'message', payload, position }),
    onGap: (gap: BrokerGap) => events.push({ kind: 'gap', gap }),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => String(from + i));

describe.skipIf(!available)('RedisBroker when Redis goes away', () => {
  it("reads back, in order and without a gap, what was published while one node's link was cut", async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const proxy = await FaultProxy.start(redis.port);
    cleanups.push(() => proxy.close());
    const publisher = makeBroker(redis.url, prefix);
    const subscriber = makeBroker(`redis://127.0.0.1:${proxy.port}`, prefix);
    const seen = recorder();
    await subscriber.subscribe('t', seen.listener, seen.onGap);
    for (const payload of range(0, 10)) await publisher.publish('t', payload);
    await until(() => seen.messages().length === 10, 'the first 10');

    proxy.refuse();
    proxy.cut();
    await whenHealth(subscriber, 'down');
    for (const payload of range(10, 60)) await publisher.publish('t', payload); // the other node goes on
    proxy.restore();
    await whenHealth(subscriber, 'ok');
    for (const payload of range(60, 70)) await publisher.publish('t', payload);

    await until(() => seen.messages().length === 70, 'all 70');
    expect(seen.messages()).toEqual(range(0, 70));
    expect(seen.gaps()).toEqual([]);
    const offsets = seen.events.map((e) => (e.kind === 'message' ? parsePosition(e.position)?.offset : -1));
    expect(offsets).toEqual(offsets.map((_, i) => i + 1));
  });

  it('reports a gap with its size when the history no longer holds the hole, then goes on in order', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const proxy = await FaultProxy.start(redis.port);
    cleanups.push(() => proxy.close());
    const history = { maxMessages: 10 };
    const publisher = makeBroker(redis.url, prefix, { history });
    const subscriber = makeBroker(`redis://127.0.0.1:${proxy.port}`, prefix, { history });
    const seen = recorder();
    await subscriber.subscribe('t', seen.listener, seen.onGap);
    await publisher.publish('t', '0');
    await until(() => seen.messages().length === 1, 'the first');

    proxy.refuse();
    proxy.cut();
    await whenHealth(subscriber, 'down');
    for (const payload of range(1, 31)) await publisher.publish('t', payload);
    proxy.restore();
    await whenHealth(subscriber, 'ok');
    await publisher.publish('t', '31');

    await until(() => seen.messages().includes('31'), 'the live message after the hole');
    expect(seen.events.map((e) => (e.kind === 'gap' ? `gap:${e.gap.missing}` : e.payload))).toEqual([
      '0',
      'gap:20',
      ...range(21, 32),
    ]);
  });

  it('fails publishes at once while Redis is down, recovers by itself, and reports the lost history as a gap', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const publisher = makeBroker(redis.url, prefix);
    const subscriber = makeBroker(redis.url, prefix);
    const healths: BrokerHealth[] = [];
    subscriber.on('health', (health) => healths.push(health));
    const seen = recorder();
    await subscriber.subscribe('t', seen.listener, seen.onGap);

    // Traffic throughout: a publish every 5 ms, each outcome kept.
    const outcomes: Array<{ payload: string; position?: string; code?: string; ms: number }> = [];
    let publishing = true;
    const traffic = (async () => {
      for (let i = 0; publishing && i < 5_000; i++) {
        const startedAt = Date.now();
        try {
          const position = await publisher.publish('t', String(i));
          outcomes.push({ payload: String(i), position, ms: Date.now() - startedAt });
        } catch (error) {
          outcomes.push({ payload: String(i), code: (error as RpcError).code, ms: Date.now() - startedAt });
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await until(() => outcomes.length >= 20, 'some traffic');
    await redis.kill();
    await whenHealth(publisher, 'down');
    await until(() => outcomes.filter((o) => o.code !== undefined).length >= 10, 'publishes failing while down');
    const refused = await subscriber.subscribe('other', () => {}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RpcError);
    expect((refused as RpcError).code).toBe('UNAVAILABLE');

    await redis.restart();
    await Promise.all([whenHealth(publisher, 'ok'), whenHealth(subscriber, 'ok')]);
    const recoveredAt = outcomes.length;
    await until(
      () => outcomes.slice(recoveredAt).filter((o) => o.position !== undefined).length >= 20,
      'traffic again',
    );
    publishing = false;
    await traffic;

    const failed = outcomes.filter((o) => o.code !== undefined);
    const published = outcomes.filter((o) => o.position !== undefined);
    // Typed, and at once: nothing waits in a queue for Redis to come back.
    expect(new Set(failed.map((o) => o.code))).toEqual(new Set(['UNAVAILABLE']));
    expect(Math.max(...failed.map((o) => o.ms))).toBeLessThan(600);
    expect(healths).toContain('down');
    expect(subscriber.health).toBe('ok');

    // Every message the subscriber got was published, once and in publish order; the new
    // epoch begins after a gap; everything published after the restart arrived.
    const last = published.at(-1) as { payload: string };
    await until(() => seen.messages().includes(last.payload), 'the last message');
    const received = seen.messages();
    expect(received).toEqual(published.map((o) => o.payload).filter((p) => received.includes(p)));
    const epochs = published.map((o) => parsePosition(o.position as string)?.epoch);
    const newEpoch = epochs.at(-1);
    expect(epochs[0]).not.toBe(newEpoch);
    const afterRestart = published.filter((o) => parsePosition(o.position as string)?.epoch === newEpoch);
    expect(received.slice(-afterRestart.length)).toEqual(afterRestart.map((o) => o.payload));
    const gapAt = seen.events.findIndex((e) => e.kind === 'gap');
    const firstNew = seen.events.findIndex((e) => e.kind === 'message' && e.payload === afterRestart[0]?.payload);
    expect(gapAt).toBeGreaterThanOrEqual(0);
    expect(gapAt).toBeLessThan(firstNew);
    expect(seen.gaps()).toEqual([{ topic: 't', missing: undefined }]);
    console.log(
      `redis restart: ${published.length} published (${afterRestart.length} after the restart), ` +
        `${failed.length} refused with UNAVAILABLE (slowest ${Math.max(...failed.map((o) => o.ms))} ms), ` +
        `${received.length} received, ${received.length - new Set(received).size} duplicated, 1 gap reported`,
    );
  });

  it('finds a silent Redis (traffic blackholed) within the command timeout and recovers once it answers', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const proxy = await FaultProxy.start(redis.port);
    cleanups.push(() => proxy.close());
    const broker = makeBroker(`redis://127.0.0.1:${proxy.port}`, prefix);
    const seen = recorder();
    await broker.subscribe('t', seen.listener, seen.onGap);
    await broker.publish('t', 'a');

    proxy.blackhole();
    const startedAt = Date.now();
    const error = await broker.publish('t', 'lost?').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe('UNAVAILABLE');
    expect(Date.now() - startedAt).toBeLessThan(1_500);
    await whenHealth(broker, 'down');

    proxy.restore();
    await whenHealth(broker, 'ok');
    await broker.publish('t', 'b');
    await until(() => seen.messages().includes('b'), 'the message after recovery');
    // The timed-out publish may or may not have been numbered; either way, nothing is missed or repeated.
    expect(seen.messages().filter((m) => m !== 'lost?')).toEqual(['a', 'b']);
    expect(seen.gaps()).toEqual([]);
  });
});

describe.skipIf(!available)('RedisBroker broadcasts', () => {
  it('reach every listening broker (the count says how many), also after Redis restarts, in the topics mode', async () => {
    const prefix = `b${randomUUID().slice(0, 8)}`;
    for (const pubsub of ['sharded', 'classic'] as const) {
      const brokers = [0, 1, 2].map(() => makeBroker(redis.url, `${prefix}${pubsub}`, { pubsub }));
      const heard = brokers.map(() => [] as string[]);
      await Promise.all(brokers.map((broker, i) => broker.listenBroadcasts((payload) => heard[i]?.push(payload))));
      // A topic subscribed and dropped on the same connection leaves broadcasts working.
      const topic = recorder();
      await brokers[1]?.subscribe('t', topic.listener);
      await brokers[1]?.unsubscribe('t', topic.listener);

      await expect(brokers[0]?.broadcast('one')).resolves.toBe(3);
      await until(() => heard.every((h) => h.includes('one')), `every ${pubsub} broker to hear 'one'`);

      await redis.restart();
      await Promise.all(brokers.map((broker) => whenHealth(broker, 'ok')));
      await expect(brokers[2]?.broadcast('two')).resolves.toBe(3);
      await until(
        () => heard.every((h) => h.includes('two')),
        `every ${pubsub} broker to hear 'two' after the restart`,
      );
      expect(heard).toEqual(brokers.map(() => ['one', 'two']));
    }
  });
  it('reach a broker that started listening while Redis was unreachable, once it is back', async () => {
    const prefix = `b${randomUUID().slice(0, 8)}`;
    const proxy = await FaultProxy.start(redis.port);
    cleanups.push(() => proxy.close());
    proxy.refuse();
    const late = makeBroker(`redis://127.0.0.1:${proxy.port}`, prefix, { connectTimeoutMs: 200 });
    const heard: string[] = [];
    // Resolves (it does not throw) although Redis cannot be reached: listening starts once it can.
    await late.listenBroadcasts((payload) => heard.push(payload));
    proxy.restore();
    await whenHealth(late, 'ok');
    const other = makeBroker(redis.url, prefix);
    await expect(other.broadcast('hello')).resolves.toBe(1);
    await until(() => heard.includes('hello'), 'the late broker to hear it');
  });
  it('refuse to listen where an ACL forbids the channel (NOPERM), and leave the topics working through a reconnect', async () => {
    const prefix = `acl${randomUUID().slice(0, 8)}`;
    const admin = new Redis(redis.url);
    cleanups.push(async () => {
      await admin.call('ACL', 'DELUSER', prefix);
      admin.disconnect();
    });
    // Every key and command, but only the topics' channels.
    await admin.call('ACL', 'SETUSER', prefix, 'on', '>pw', '~*', `&${prefix}:p:*`, '+@all');
    const limited = makeBroker(`redis://${prefix}:pw@127.0.0.1:${redis.port}`, prefix);
    await expect(limited.listenBroadcasts(() => {})).rejects.toThrow(/NOPERM/);
    const seen = recorder();
    await limited.subscribe('t', seen.listener, seen.onGap);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await whenHealth(limited, 'ok');
    await limited.publish('t', 'after');
    await until(() => seen.messages().includes('after'), 'the topic message after the reconnect');
  });
});
