import { describe, expect, it } from 'vitest';
import { type ChannelDelivery, GAP_MARK_BYTES } from '../../src/rpc/delivery.js';
import type { Fanout } from '../../src/rpc/fanout.js';
import {
  connection,
  delivery,
  EPOCH,
  type FakeSocket,
  frameBytes,
  join,
  messageBytes,
  type ScriptedBroker,
  setup,
  stream,
} from './fanout-helpers.js';

// One budget per connection, in bytes, over its socket's buffer and everything waiting in
// its lanes (limits.maxBufferedBytes): a subscriber that does not read cannot make the
// server hold more for it, however many streams it follows and whatever each lane's
// maxQueued. Budgets here are a few frames; every connection is slow from its first byte.

const PAD = 'x'.repeat(1_000);
/** A frame of a message 1..9 with a one-letter symbol on a one-letter stream: all the same length. */
const F = messageBytes(1, 's', { topic: stream('a'), pad: PAD });
/** The same on `TOPIC`. */
const F0 = messageBytes(1, 's', { pad: PAD });

/** What the server holds for a connection: its socket's buffer and its lanes. */
function held(connection: { socket: FakeSocket; outbox: { heldBytes: number } }): number {
  return connection.socket.bufferedAmount + connection.outbox.heldBytes;
}

/** The trace of one stream: `<name>:…` entries without their prefix. */
function traceOf(received: string[], name: string): string[] {
  return received.filter((entry) => entry.startsWith(`${name}:`)).map((entry) => entry.slice(name.length + 1));
}

/** A slow connection and one that reads, both on 100 streams, both with `maxBufferedBytes`. */
async function hundredStreams(fanout: Fanout, maxBufferedBytes: number) {
  const limits = { highWaterBytes: 0, maxBufferedBytes };
  const slow = connection(true, limits);
  const reader = connection(false, limits);
  const names = Array.from({ length: 100 }, (_, i) => `s${String(i).padStart(2, '0')}`);
  for (const name of names) {
    await join(fanout, slow.peer, 1, undefined, stream(name));
    await join(fanout, reader.peer, 1, undefined, stream(name));
  }
  return { slow, reader, names };
}

/** Delivers `rounds` messages to each stream in turn, a distinct symbol each; calls `after` after each. */
function deliverRounds(broker: ScriptedBroker, names: string[], rounds: number, after: () => void): void {
  for (let round = 1; round <= rounds; round++) {
    for (const name of names) {
      broker.deliver(`${name}-${round}`, { topic: stream(name), pad: PAD });
      after();
    }
  }
}

/** Every stream's messages, in order, once each: what a connection that reads gets. */
function expectEverything(received: string[], names: string[], rounds: number): void {
  for (const name of names) {
    expect(traceOf(received, name)).toEqual(Array.from({ length: rounds }, (_, i) => `m${i + 1}`));
  }
}

describe('one budget over the socket and all of a connection’s lanes', () => {
  it('queue: closes a connection with 4001 once its socket and 100 lanes pass the budget, each lane far under maxQueued', async () => {
    const { broker, fanout, delivery: counters } = setup('queue', 10_000);
    const budget = 32 * 1024;
    const { slow, reader, names } = await hundredStreams(fanout, budget);
    let closedAt: number | undefined;
    let delivered = 0;
    let before = 0;
    // Each message of the first round: names and symbols of one length.
    const shape = { topic: stream('s00'), pad: PAD };
    const frame = messageBytes(1, 's00-1', shape);
    deliverRounds(broker, names, 3, () => {
      delivered++;
      if (closedAt === undefined && slow.socket.closeCode !== undefined) {
        closedAt = delivered;
        // The message that closed it did not fit: everything before it did.
        expect(before + frame).toBeGreaterThan(budget);
        expect(before).toBeLessThanOrEqual(budget);
      }
      before = held(slow);
      if (closedAt === undefined) expect(before).toBeLessThanOrEqual(budget);
    });
    expect(slow.socket.closeCode).toBe(4001);
    // In the first round: no lane held more than one message.
    expect(closedAt).toBeLessThanOrEqual(names.length);
    // The first went to the socket (its frame counted there), the rest waited (counted whole).
    expect(closedAt).toBe(1 + Math.floor((budget - frameBytes(1, 's00-1', shape)) / frame) + 1);
    // Counted once, whatever came after; what waited was let go at once.
    expect(counters.counters.slowDisconnects).toBe(1);
    expect(slow.outbox.heldBytes).toBe(0);
    // The connection that reads, with the same budget, noticed nothing.
    expectEverything(reader.socket.received, names, 3);
    expect(reader.socket.closeCode).toBeUndefined();
    expect(reader.outbox.heldBytes).toBe(0);
  });

  for (const policy of ['drop-oldest', 'latest'] as const) {
    it(`${policy}: 100 lanes of one connection stay within the budget, each told what it missed, positions still rising`, async () => {
      const { broker, fanout, delivery: channel } = setup(policy, 10_000);
      const budget = 32 * 1024;
      const { slow, reader, names } = await hundredStreams(fanout, budget);
      const rounds = 5;
      // At most one gap mark per lane past the budget: the lane's next message makes room for it.
      deliverRounds(broker, names, rounds, () =>
        expect(held(slow)).toBeLessThanOrEqual(budget + names.length * GAP_MARK_BYTES),
      );
      const { counters } = channel;
      expect(counters.dropped).toBeGreaterThan(names.length * (rounds - 1));
      slow.socket.release();

      let dropped = 0;
      for (const name of names) {
        const trace = traceOf(slow.socket.received, name);
        const ns = trace.filter((entry) => entry.startsWith('m')).map((entry) => Number(entry.slice(1)));
        const missed = trace
          .filter((entry) => entry.startsWith('gap:dropped:'))
          .reduce((sum, entry) => sum + Number(entry.slice('gap:dropped:'.length)), 0);
        expect(ns).toEqual([...ns].sort((a, b) => a - b));
        expect(new Set(ns).size).toBe(ns.length);
        expect(ns.length + missed).toBe(rounds);
        // A notice stands where its messages would have been: never two side by side.
        expect(trace.join(' ')).not.toMatch(/gap:dropped:\d+ gap:dropped/);
        dropped += missed;
      }
      expect(dropped).toBe(counters.dropped);
      expect(counters.coalesced).toBe(0);
      expect(counters.slowDisconnects).toBe(0);
      expect(slow.socket.closeCode).toBeUndefined();
      expect(slow.outbox.heldBytes).toBe(0);
      expectEverything(reader.socket.received, names, rounds);
      expect(reader.outbox.heldBytes).toBe(0);
    });
  }

  it('drop-oldest: a lane with nothing of its own to drop loses the incoming message, told in its place', async () => {
    const { broker, fanout, delivery: channel } = setup('drop-oldest', 100);
    const slow = connection(true, { highWaterBytes: 0, maxBufferedBytes: 3 * F + 512 });
    await join(fanout, slow.peer, 1, undefined, stream('a'));
    await join(fanout, slow.peer, 2, undefined, stream('b'));
    const a = { topic: stream('a'), pad: PAD };
    const b = { topic: stream('b'), pad: PAD };
    broker.deliver('s', a); // sent: the socket holds F
    broker.deliver('s', a); // waits
    broker.deliver('s', a); // waits: 3F, the budget is spent
    broker.deliver('s', b); // b has nothing to drop: it goes
    broker.deliver('s', b); // and this one
    broker.deliver('s', a); // a:m2 gives way
    expect(slow.outbox.heldBytes).toBe(2 * F + 2 * GAP_MARK_BYTES);
    slow.socket.release();
    broker.deliver('s', b);
    expect(slow.socket.received).toEqual(['a:m1', 'a:gap:dropped:1', 'a:m3', 'a:m4', 'b:gap:dropped:2', 'b:m3']);
    expect(channel.counters.dropped).toBe(3);
  });

  it('latest: past the budget the oldest values give way, told in their place before the newer ones', async () => {
    const { broker, fanout, delivery: channel } = setup('latest');
    const slow = connection(true, { highWaterBytes: 0, maxBufferedBytes: 3 * F0 + 512 });
    await join(fanout, slow.peer);
    for (const symbol of 'abcde') broker.deliver(symbol, { pad: PAD }); // m1 sent; m4 and m5 push out m2, m3
    slow.socket.release();
    expect(slow.socket.received).toEqual(['m1', 'gap:dropped:2', 'm4', 'm5']);
    expect(channel.counters.dropped).toBe(2);
    expect(channel.counters.coalesced).toBe(0);
  });

  it('latest: a broker gap first in line joins the dropped values’ notice, in the same place', async () => {
    const { broker, fanout, delivery: channel } = setup('latest');
    const slow = connection(true, { highWaterBytes: 0, maxBufferedBytes: 3 * F0 + 200 });
    await join(fanout, slow.peer);
    broker.deliver('a', { pad: PAD }); // m1, sent
    broker.deliver('b', { pad: PAD }); // m2
    broker.lose(1); // m3
    broker.deliver('c', { pad: PAD }); // m4
    broker.deliver('d', { pad: PAD }); // m5: m2 gives way, then the gap's mark is first in line and joins it
    slow.socket.release();
    const [first, ...rest] = slow.socket.received;
    expect(first).toBe('m1');
    // Nothing comes between the notices: in what order they arrive does not matter.
    expect(rest.slice(0, 2).sort()).toEqual(['gap:dropped:1', 'gap:history:1']);
    expect(rest.slice(2)).toEqual(['m4', 'm5']);
    expect(channel.counters.dropped).toBe(1);
  });

  it('latest: a lane with nothing of its own to drop loses the incoming value, told in its place', async () => {
    const { broker, fanout, delivery: channel } = setup('latest');
    const slow = connection(true, { highWaterBytes: 0, maxBufferedBytes: 3 * F + 512 });
    await join(fanout, slow.peer, 1, undefined, stream('a'));
    await join(fanout, slow.peer, 2, undefined, stream('b'));
    for (const symbol of 'xyz') broker.deliver(symbol, { topic: stream('a'), pad: PAD }); // 3F: the budget is spent
    broker.deliver('x', { topic: stream('b'), pad: PAD }); // b holds nothing to give way: it goes
    expect(slow.outbox.heldBytes).toBe(2 * F + GAP_MARK_BYTES);
    slow.socket.release();
    broker.deliver('x', { topic: stream('b'), pad: PAD });
    expect(slow.socket.received).toEqual(['a:m1', 'a:m2', 'a:m3', 'b:gap:dropped:1', 'b:m2']);
    expect(channel.counters.dropped).toBe(1);
  });

  it('latest: a broker gap right after a dropped value joins its notice: one mark, not two', async () => {
    const { broker, fanout } = setup('latest');
    const slow = connection(true, { highWaterBytes: 0, maxBufferedBytes: 3 * F + 512 });
    await join(fanout, slow.peer, 1, undefined, stream('a'));
    await join(fanout, slow.peer, 2, undefined, stream('b'));
    for (const symbol of 'xyz') broker.deliver(symbol, { topic: stream('a'), pad: PAD }); // 3F: the budget is spent
    broker.deliver('x', { topic: stream('b'), pad: PAD }); // b:m1 goes
    broker.lose(1, stream('b')); // b:m2, lost on the way
    expect(slow.outbox.heldBytes).toBe(2 * F + GAP_MARK_BYTES);
    slow.socket.release();
    expect(slow.socket.received.slice(0, 3)).toEqual(['a:m1', 'a:m2', 'a:m3']);
    expect(slow.socket.received.slice(3).sort()).toEqual(['b:gap:dropped:1', 'b:gap:history:1']);
  });

  it('one budget whatever the policy: when drop-oldest lanes hold it, the next queue message closes the connection', async () => {
    const orders: ChannelDelivery = delivery('queue', 10_000);
    const { broker, fanout, delivery: feed } = setup('drop-oldest', 100, { orders });
    const slow = connection(true, { highWaterBytes: 0, maxBufferedBytes: 3 * F + 512 });
    await join(fanout, slow.peer, 1, undefined, stream('a'));
    await join(fanout, slow.peer, 2, undefined, stream('o', 'orders'));
    for (let i = 0; i < 4; i++) broker.deliver('s', { topic: stream('a'), pad: PAD }); // m2 gives way to m4
    expect(slow.socket.closeCode).toBeUndefined();
    broker.deliver('s', { topic: stream('o', 'orders'), pad: PAD });
    expect(slow.socket.closeCode).toBe(4001);
    expect(orders.counters.slowDisconnects).toBe(1);
    expect(feed.counters.slowDisconnects).toBe(0);
    expect(feed.counters.dropped).toBe(1);
    expect(slow.outbox.heldBytes).toBe(0);
  });

  it('a joining subscription holds what arrives meanwhile within its connection’s budget: past it, the join fails and lets go', async () => {
    const { broker, fanout } = setup('queue', 10_000);
    const joiner = connection(false, { highWaterBytes: 0, maxBufferedBytes: 3 * F0 + 512 });
    let give = (_position: string) => {};
    broker.positionGate = new Promise<string>((resolve) => {
      give = resolve;
    });
    const joined = join(fanout, joiner.peer);
    for (let i = 0; i < 3; i++) broker.deliver('s', { pad: PAD });
    expect(joiner.outbox.heldBytes).toBe(3 * F0);
    broker.deliver('s', { pad: PAD }); // does not fit
    expect(joiner.outbox.heldBytes).toBe(0);
    give(`${EPOCH}:0`);
    await expect(joined).rejects.toThrow(/arrived while joining/);
    expect(joiner.socket.received).toEqual([]);
  });
});
