import { describe, expect, it, vi } from 'vitest';
import { parsePosition } from '../../src/broker/broker.js';
import { MemoryBroker } from '../../src/broker/memory-broker.js';
import { describeBroker } from './broker-suite.js';

describeBroker('MemoryBroker', (history) => new MemoryBroker(history));

/** The epoch of `topic`'s positions (the broker's, extended per topic). */
const epochOf = async (broker: MemoryBroker, topic: string) => (await broker.position(topic)).split(':')[0] as string;

describe('MemoryBroker', () => {
  it('numbers from 1 in an epoch of its own', async () => {
    const broker = new MemoryBroker();
    expect(await broker.publish('t', 'a')).toBe(`${await epochOf(broker, 't')}:1`);
    expect(await epochOf(broker, 't')).toMatch(new RegExp(`^${broker.epoch}\\.`));
  });

  it('keeps a message for exactly maxAgeMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const broker = new MemoryBroker({ maxAgeMs: 1_000 });
      await broker.publish('t', 'old');
      const start = `${await epochOf(broker, 't')}:0`;
      vi.setSystemTime(Date.now() + 999);
      expect((await broker.history('t', start)).complete).toBe(true);
      vi.setSystemTime(Date.now() + 1);
      expect(await broker.history('t', start)).toEqual({ messages: [], complete: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('treats a topic made again after eviction as a new epoch: a gap, never a silent loss', async () => {
    const broker = new MemoryBroker({ maxTopics: 1 });
    await broker.publish('t', 'a');
    const before = await broker.position('t');
    await broker.publish('u', 'x'); // evicts t, which nobody follows
    await broker.publish('t', 'b'); // t again, numbered from 1 in a new epoch
    expect(await broker.history('t', before)).toEqual({ messages: [], complete: false });
  });

  it('never evicts the topic it is creating', async () => {
    const broker = new MemoryBroker({ maxTopics: 1 });
    const seen: unknown[] = [];
    await broker.subscribe('a', () => {});
    await broker.subscribe('b', (payload) => seen.push(payload));
    await broker.publish('b', 'hello');
    expect(seen).toEqual(['hello']);
  });

  it('keeps the history of at most maxTopics idle topics', async () => {
    const broker = new MemoryBroker({ maxTopics: 2 });
    for (const topic of ['a', 'b', 'c']) await broker.publish(topic, 'x');
    expect(broker.topicCount).toBe(2);
  });

  it('parses positions', () => {
    expect(parsePosition('e1:42')).toEqual({ epoch: 'e1', offset: 42 });
    expect(parsePosition('42')).toBeUndefined();
    expect(parsePosition('e:-1')).toBeUndefined();
  });
});
