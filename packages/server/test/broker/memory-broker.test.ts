import { describe, expect, it, vi } from 'vitest';
import { parsePosition } from '../../src/broker/broker.js';
import { MemoryBroker } from '../../src/broker/memory-broker.js';

/** The epoch of `topic`'s positions (the broker's, extended per topic). */
const epochOf = (broker: MemoryBroker, topic: string) => broker.position(topic).split(':')[0] as string;

describe('MemoryBroker', () => {
  it("numbers each topic's messages from 1 and delivers them in order with their positions", async () => {
    const broker = new MemoryBroker();
    const seen: Array<[string, string]> = [];
    await broker.subscribe('t', (payload, position) => seen.push([payload, position]));
    await broker.publish('t', 'a');
    await broker.publish('other', 'x');
    await broker.publish('t', 'b');
    expect(seen).toEqual([
      ['a', `${epochOf(broker, 't')}:1`],
      ['b', `${epochOf(broker, 't')}:2`],
    ]);
    expect(broker.position('t')).toBe(`${epochOf(broker, 't')}:2`);
    expect(broker.position('never')).toMatch(/:0$/);
  });

  it('replays what came after a position, complete while nothing was dropped', async () => {
    const broker = new MemoryBroker();
    for (const payload of ['a', 'b', 'c']) await broker.publish('t', payload);
    expect(broker.history('t', `${epochOf(broker, 't')}:1`)).toEqual({
      messages: [
        { payload: 'b', position: `${epochOf(broker, 't')}:2` },
        { payload: 'c', position: `${epochOf(broker, 't')}:3` },
      ],
      complete: true,
    });
    expect(broker.history('t', `${epochOf(broker, 't')}:3`)).toEqual({ messages: [], complete: true });
  });

  it('keeps at most maxMessages per topic and says when a replay is incomplete', async () => {
    const broker = new MemoryBroker({ maxMessages: 2 });
    for (const payload of ['a', 'b', 'c', 'd']) await broker.publish('t', payload);
    const history = broker.history('t', `${epochOf(broker, 't')}:1`);
    expect(history.complete).toBe(false);
    expect(history.messages.map((m) => m.payload)).toEqual(['c', 'd']);
    expect(broker.history('t', `${epochOf(broker, 't')}:2`).complete).toBe(true);
  });

  it('drops messages older than maxAgeMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const broker = new MemoryBroker({ maxAgeMs: 1_000 });
      await broker.publish('t', 'old');
      vi.setSystemTime(Date.now() + 999);
      expect(broker.history('t', `${epochOf(broker, 't')}:0`).complete).toBe(true);
      vi.setSystemTime(Date.now() + 1);
      expect(broker.history('t', `${epochOf(broker, 't')}:0`)).toEqual({ messages: [], complete: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('treats a topic made again after eviction as a new epoch: a gap, never a silent loss', async () => {
    const broker = new MemoryBroker({ maxTopics: 1 });
    await broker.publish('t', 'a');
    const before = broker.position('t');
    await broker.publish('u', 'x'); // evicts t, which nobody follows
    await broker.publish('t', 'b'); // t again, numbered from 1 in a new epoch
    expect(broker.history('t', before)).toEqual({ messages: [], complete: false });
  });

  it('never evicts the topic it is creating', async () => {
    const broker = new MemoryBroker({ maxTopics: 1 });
    const seen: string[] = [];
    await broker.subscribe('a', () => {});
    await broker.subscribe('b', (payload) => seen.push(payload));
    await broker.publish('b', 'hello');
    expect(seen).toEqual(['hello']);
  });

  it('calls a position beyond the newest one a gap', async () => {
    const broker = new MemoryBroker();
    await broker.publish('t', 'a');
    expect(broker.history('t', `${epochOf(broker, 't')}:5`).complete).toBe(false);
  });

  it('treats a position of another epoch (a restarted broker) as a gap', async () => {
    const broker = new MemoryBroker();
    await broker.publish('t', 'a');
    expect(broker.history('t', 'another-epoch:1')).toEqual({ messages: [], complete: false });
    expect(broker.history('t', 'not a position')).toEqual({ messages: [], complete: false });
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
