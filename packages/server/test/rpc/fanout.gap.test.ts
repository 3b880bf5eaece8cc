import { describe, expect, it } from 'vitest';
import type { DeliveryPolicy } from '../../src/rpc/delivery.js';
import type { Fanout } from '../../src/rpc/fanout.js';
import type { Peer } from '../../src/rpc/peer.js';
import { connection, EPOCH, type FakeSocket, join, type ScriptedBroker, setup } from './fanout-helpers.js';

// A broker gap (messages lost before they reached this process) is told to each subscriber
// in its place among the messages: after what waits for a slow connection, before what
// comes after it, under every delivery policy; and to a subscriber still joining.

describe('a broker gap reaches a slow subscriber in its place among the messages', () => {
  it('queue: after every message that waited before it, before the ones after it', async () => {
    const { broker, fanout } = setup('queue');
    const slow = connection(true);
    await join(fanout, slow.peer);
    broker.deliver(); // written: the socket is now behind
    broker.deliver();
    broker.deliver();
    broker.lose(2);
    broker.deliver();
    slow.socket.release();
    expect(slow.socket.received).toEqual(['m1', 'm2', 'm3', 'gap:history:2', 'm6']);
  });

  it('queue: two gaps with nothing between them are one notice; a gap to a connection that keeps up goes at once', async () => {
    const { broker, fanout } = setup('queue');
    const slow = connection(true);
    const fast = connection(false);
    await join(fanout, slow.peer);
    await join(fanout, fast.peer);
    broker.deliver();
    broker.deliver();
    broker.lose(1);
    broker.lose(2);
    expect(fast.socket.received).toEqual(['m1', 'm2', 'gap:history:1', 'gap:history:2']);
    broker.deliver();
    slow.socket.release();
    expect(slow.socket.received).toEqual(['m1', 'm2', 'gap:history:3', 'm6']);
  });

  it('drop-oldest: after the messages before it, with what was dropped before it told on its side', async () => {
    const { broker, fanout, delivery } = setup('drop-oldest', 2);
    const slow = connection(true);
    await join(fanout, slow.peer);
    broker.deliver(); // written
    broker.deliver(); // waits
    broker.deliver(); // waits
    broker.lose(1);
    broker.deliver(); // m2 gives way
    slow.socket.release();
    expect(slow.socket.received).toEqual(['m1', 'gap:dropped:1', 'm3', 'gap:history:1', 'm5']);
    expect(delivery.counters.dropped).toBe(1);
  });

  it('drop-oldest: drops on both sides of a gap leave one place for both notices, before the newest messages', async () => {
    const { broker, fanout, delivery } = setup('drop-oldest', 2);
    const slow = connection(true);
    await join(fanout, slow.peer);
    broker.deliver(); // written
    broker.deliver();
    broker.deliver();
    broker.lose(1);
    for (let i = 0; i < 3; i++) broker.deliver(); // m5, m6, m7: m2, m3 and m5 give way
    slow.socket.release();
    const [first, ...rest] = slow.socket.received;
    expect(first).toBe('m1');
    // Nothing comes between the notices: in what order they arrive does not matter.
    expect(rest.slice(0, 2).sort()).toEqual(['gap:dropped:3', 'gap:history:1']);
    expect(rest.slice(2)).toEqual(['m6', 'm7']);
    expect(delivery.counters.dropped).toBe(3);
  });

  it('latest: values that waited before the gap come before it, newer ones after it; no gap is coalesced away', async () => {
    const { broker, fanout, delivery } = setup('latest');
    const slow = connection(true);
    await join(fanout, slow.peer);
    broker.deliver('a'); // written
    broker.deliver('b');
    broker.deliver('a');
    broker.lose(1);
    broker.deliver('b'); // replaces m2, after the gap
    broker.lose(1);
    broker.deliver('a'); // replaces m3, after the second gap
    slow.socket.release();
    expect(slow.socket.received).toEqual(['m1', 'gap:history:1', 'm5', 'gap:history:1', 'm7']);
    expect(delivery.counters.coalesced).toBe(2);
  });

  it('latest: a gap after values that no newer one replaces comes after them', async () => {
    const { broker, fanout } = setup('latest');
    const slow = connection(true);
    await join(fanout, slow.peer);
    broker.deliver('a');
    broker.deliver('b');
    broker.deliver('c');
    broker.lose(4);
    slow.socket.release();
    expect(slow.socket.received).toEqual(['m1', 'm2', 'm3', 'gap:history:4']);
  });
});

describe('a broker gap while a subscriber joins', () => {
  /** Starts a join whose position the test gives later; resolves once it has joined. */
  function joinAt(fanout: Fanout, broker: ScriptedBroker, peer: Peer, id = 1, socket?: FakeSocket) {
    let give = (_position: string) => {};
    broker.positionGate = new Promise<string>((resolve) => {
      give = resolve;
    });
    const joined = join(fanout, peer, id, socket);
    return (position: string) => {
      give(position);
      return joined;
    };
  }

  it('reaches the joiner when it lost messages after the start, among the held messages', async () => {
    const { broker, fanout } = setup();
    const joiner = connection(false);
    const startAt = joinAt(fanout, broker, joiner.peer);
    broker.deliver(); // m1
    broker.lose(2); // m2, m3
    broker.deliver(); // m4
    expect((await startAt(`${EPOCH}:0`)).gap).toBe(false);
    expect(joiner.socket.received).toEqual(['m1', 'gap:history:2@1', 'm4']);
  });

  it('counts only what the joiner lost after its start', async () => {
    const { broker, fanout } = setup();
    const joiner = connection(false);
    const startAt = joinAt(fanout, broker, joiner.peer);
    broker.lose(4); // m1..m4
    broker.deliver(); // m5
    await startAt(`${EPOCH}:2`);
    expect(joiner.socket.received).toEqual(['gap:history:2@1', 'm5']);
  });

  it('says nothing of a gap that lies wholly at or before its start', async () => {
    const { broker, fanout } = setup();
    const joiner = connection(false);
    const startAt = joinAt(fanout, broker, joiner.peer);
    broker.lose(3); // m1..m3
    broker.deliver(); // m4
    await startAt(`${EPOCH}:3`);
    expect(joiner.socket.received).toEqual(['m4']);
  });

  it('passes on, without a count, a gap that no message has followed yet', async () => {
    const { broker, fanout } = setup();
    const joiner = connection(false);
    const startAt = joinAt(fanout, broker, joiner.peer);
    broker.lose(2);
    await startAt(`${EPOCH}:1`);
    expect(joiner.socket.received).toEqual(['gap:history:?@1']);
    broker.deliver();
    expect(joiner.socket.received).toEqual(['gap:history:?@1', 'm3']);
  });

  it('reaches a slow joiner after the held messages that wait for it', async () => {
    const { broker, fanout } = setup();
    const joiner = connection(true);
    const startAt = joinAt(fanout, broker, joiner.peer);
    broker.deliver();
    broker.deliver();
    broker.lose(1);
    broker.deliver();
    await startAt(`${EPOCH}:0`);
    broker.deliver();
    joiner.socket.release();
    expect(joiner.socket.received).toEqual(['m1', 'm2', 'gap:history:1@1', 'm4', 'm5']);
  });

  /**
   * A connection whose subscription 1 follows the stream and whose subscription 2 is
   * joining; `startAt` gives subscription 2 its start. The socket records both replies.
   */
  async function secondSubscription(stalled: boolean, policy?: DeliveryPolicy, maxQueued?: number) {
    const { broker, fanout, delivery } = setup(policy, maxQueued);
    const { socket, peer } = connection(stalled);
    await join(fanout, peer, 1, socket);
    return { broker, socket, delivery, startAt: joinAt(fanout, broker, peer, 2, socket) };
  }

  it('tells a second subscription of a connection that follows the stream, and only it: the first had the gap live', async () => {
    const { broker, socket, startAt } = await secondSubscription(false);
    broker.deliver(); // m1
    broker.lose(2); // m2, m3
    broker.deliver(); // m4
    await startAt(`${EPOCH}:0`);
    // Live for subscription 1; then the held ones for subscription 2 (the client drops repeats by position).
    expect(socket.received).toEqual(['sub@1', 'm1', 'gap:history:2', 'm4', 'sub@2', 'm1', 'gap:history:2@2', 'm4']);
  });

  it("keeps a joiner's gap apart from the live ones while the connection is slow, in one place among the messages", async () => {
    const { broker, socket, startAt } = await secondSubscription(true);
    broker.deliver(); // m1
    broker.lose(1); // m2: waits for subscription 1, goes out before subscription 2 is answered
    await startAt(`${EPOCH}:1`);
    broker.lose(1); // m3, after both joined: one live notice
    broker.deliver(); // m4
    socket.release();
    expect(socket.received).toEqual([
      'sub@1',
      'm1',
      'gap:history:1',
      'sub@2',
      'gap:history:1',
      'gap:history:?@2',
      'm4',
    ]);
  });

  for (const policy of ['queue', 'drop-oldest', 'latest'] as const) {
    it(`${policy}: answers a second subscription of a slow connection after what waits for the first`, async () => {
      const { broker, socket, startAt } = await secondSubscription(true, policy);
      broker.deliver(); // m1, sent: the connection is slow from now on
      broker.lose(2); // m2, m3: waiting for subscription 1, at or before subscription 2's start
      broker.deliver(); // m4
      await startAt(`${EPOCH}:3`);
      broker.deliver(); // m5
      socket.release();
      // Subscription 2 is registered after the gap that is not its own (no false report) and
      // hears of nothing lost: its start is m3. (`latest`: m5 replaces the repeated m4.)
      const after = policy === 'latest' ? ['m5'] : ['m4', 'm5'];
      expect(socket.received).toEqual(['sub@1', 'm1', 'gap:history:2', 'm4', 'sub@2', ...after]);
    });
  }

  it("drop-oldest: what is dropped of a joiner's messages is told to the joiner alone (the others had them)", async () => {
    const { broker, socket, startAt, delivery } = await secondSubscription(true, 'drop-oldest', 2);
    for (let n = 1; n <= 4; n++) broker.deliver(); // m1 sent; m2 dropped for subscription 1
    await startAt(`${EPOCH}:0`);
    socket.release();
    // Subscription 2 gets m1..m4 again (repeats for subscription 1, which its client drops by
    // position); two of them do not fit: told to subscription 2 only.
    expect(socket.received).toEqual([
      'sub@1',
      'm1',
      'gap:dropped:1',
      'm3',
      'm4',
      'sub@2',
      'gap:dropped:2@2',
      'm3',
      'm4',
    ]);
    expect(delivery.counters.dropped).toBe(3);
  });

  it('answers a second subscription of a slow connection before a gap of its own, in its place', async () => {
    const { broker, socket, startAt } = await secondSubscription(true);
    broker.deliver(); // m1
    broker.lose(2); // m2, m3
    broker.deliver(); // m4
    await startAt(`${EPOCH}:0`);
    broker.deliver(); // m5
    socket.release();
    expect(socket.received).toEqual([
      'sub@1',
      'm1',
      'gap:history:2',
      'm4',
      'sub@2',
      'm1',
      'gap:history:2@2',
      'm4',
      'm5',
    ]);
  });
});
