import { describe, expect, it } from 'vitest';
import { type BrokerGap, MAX_HELD, type Numbered, type StreamRead, TopicStream } from '../src/topic-stream.js';

// The ordering rules of one topic on one process, without Redis: offsets rise by one, a
// jump is a hole to read back, what cannot be read back is a gap told before what follows.

const msg = (epoch: string, offset: number, payload = `${epoch}${offset}`): Numbered => ({
  epoch,
  offset,
  position: `${epoch}:${offset}`,
  payload,
});

function setup() {
  const seen: unknown[] = [];
  const behind: number[] = [];
  const gaps: BrokerGap[] = [];
  const stream = new TopicStream('t', 'sb:p:{t}', {
    onBehind: () => behind.push(1),
    onGap: (gap) => gaps.push(gap),
    onListenerError: (error) => {
      throw error;
    },
  });
  stream.listeners.set(
    (payload) => seen.push(payload),
    (gap) => seen.push(`gap:${gap.missing}`),
  );
  return { stream, seen, behind, gaps };
}

const read = (epoch: string | undefined, newest: number, offsets: number[]): StreamRead => ({
  epoch,
  newest,
  messages: epoch === undefined ? [] : offsets.map((offset) => msg(epoch, offset)),
});

describe('TopicStream', () => {
  it('holds what arrives while joining and drops what the join position already covers', () => {
    const { stream, seen } = setup();
    stream.receive(msg('e', 3));
    stream.receive(msg('e', 4));
    stream.join('e', 3);
    expect(seen).toEqual(['e4']);
    expect(stream.phase).toBe('live');
  });

  it('delivers consecutive offsets and ignores repeats', () => {
    const { stream, seen } = setup();
    stream.join('e', 0);
    for (const offset of [1, 2, 2, 1, 3]) stream.receive(msg('e', offset));
    expect(seen).toEqual(['e1', 'e2', 'e3']);
  });

  it('reads back a hole, then delivers what was held behind it, in order', () => {
    const { stream, seen, behind } = setup();
    stream.join('e', 0);
    stream.receive(msg('e', 1));
    stream.receive(msg('e', 4)); // 2 and 3 went missing
    stream.receive(msg('e', 5));
    expect(stream.phase).toBe('behind');
    expect(behind).toHaveLength(1);
    expect(stream.readRequest()).toMatchObject({ epoch: 'e', after: 1 });
    stream.applyRead(read('e', 5, [2, 3, 4, 5]), stream.readRequest().generation);
    expect(seen).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(stream.phase).toBe('live');
  });

  it('tells listeners how many messages the stream no longer held, before the ones after them', () => {
    const { stream, seen, gaps } = setup();
    stream.join('e', 0);
    stream.receive(msg('e', 1));
    stream.receive(msg('e', 9));
    stream.applyRead(read('e', 9, [6, 7, 8, 9]), stream.readRequest().generation);
    expect(seen).toEqual(['e1', 'gap:4', 'e6', 'e7', 'e8', 'e9']);
    expect(gaps).toEqual([{ topic: 't', missing: 4 }]);
  });

  it('takes a new epoch that starts at 1 while connected as a new life, not a gap', () => {
    const { stream, seen } = setup();
    stream.join('old', 5);
    stream.receive(msg('new', 1));
    stream.receive(msg('new', 2));
    expect(seen).toEqual(['new1', 'new2']);
  });

  it('reports a gap of unknown size when the epoch changed while the connection was lost', () => {
    const { stream, seen } = setup();
    stream.join('old', 0);
    stream.receive(msg('old', 1));
    stream.markStale();
    stream.receive(msg('new', 3)); // held: not live
    expect(seen).toEqual(['old1']);
    stream.applyRead(read('new', 3, [1, 2, 3]), stream.readRequest().generation);
    expect(seen).toEqual(['old1', 'gap:undefined', 'new1', 'new2', 'new3']);
  });

  it('reports a gap of unknown size when the keys are gone, and takes the next epoch from 1', () => {
    const { stream, seen } = setup();
    stream.join('old', 0);
    stream.receive(msg('old', 1));
    stream.markStale();
    stream.applyRead(read(undefined, 0, []), stream.readRequest().generation);
    stream.receive(msg('new', 1));
    expect(seen).toEqual(['old1', 'gap:undefined', 'new1']);
  });

  it('stays stale when the connection was lost again during the read', () => {
    const { stream, seen } = setup();
    stream.join('e', 0);
    stream.markStale();
    const { generation } = stream.readRequest();
    stream.markStale();
    stream.applyRead(read('e', 2, [1, 2]), generation);
    expect(seen).toEqual(['e1', 'e2']);
    expect(stream.phase).toBe('stale');
    expect(stream.readRequest()).toMatchObject({ epoch: 'e', after: 2 });
  });

  it('gives a hole up as a gap rather than hold more than MAX_HELD messages', () => {
    const { stream, seen } = setup();
    stream.join('e', 0);
    stream.receive(msg('e', 1));
    for (let offset = 10; offset <= MAX_HELD + 10; offset++) stream.receive(msg('e', offset));
    expect(seen.slice(0, 3)).toEqual(['e1', 'gap:8', 'e10']);
    expect(seen).toHaveLength(2 + MAX_HELD + 1);
    expect(stream.phase).toBe('live');
  });

  it('keeps delivering to the other listeners when one throws', () => {
    const errors: unknown[] = [];
    const stream = new TopicStream('t', 'c', {
      onBehind: () => {},
      onGap: () => {},
      onListenerError: (error) => errors.push(error),
    });
    const seen: unknown[] = [];
    stream.listeners.set(() => {
      throw new Error('listener bug');
    }, undefined);
    stream.listeners.set((payload) => seen.push(payload), undefined);
    stream.join('e', 0);
    stream.receive(msg('e', 1));
    expect(seen).toEqual(['e1']);
    expect(errors).toHaveLength(1);
  });

  it('answers whenLive at once when live, otherwise once live again or after the timeout', async () => {
    const { stream } = setup();
    stream.join('e', 0);
    await stream.whenLive(10);
    stream.markStale();
    const waiting = stream.whenLive(10_000);
    stream.applyRead(read('e', 0, []), stream.readRequest().generation);
    await waiting;
    stream.markStale();
    const startedAt = Date.now();
    await stream.whenLive(30);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(25);
  });
});
