import { describe, expect, it } from 'vitest';
import { type DeliveryPolicy, GAP_MARK_BYTES, SLOW_CONSUMER_CLOSE_CODE } from '../../src/rpc/delivery.js';
import { newLane } from '../../src/rpc/fanout.js';
import { connection, deliveredMessage, delivery, frameBytes, messageBytes } from './fanout-helpers.js';

// One connection's lane of one stream, per delivery policy, without a fan-out: what the
// socket receives (traced as m<n> and gap:<reason>:<count>[@id]), in which order, and what
// the connection's budget counts while messages wait.

/** The stream the lanes carry: channel `feed`, key `{}` (traced without a prefix). */
const TOPIC = 'feed:{}';

/**
 * A lane on a connection that is slow from the first message, with `budget` bytes. That
 * first message (m0) stays in the socket's buffer and counts toward the budget.
 */
function slowLane(policy: DeliveryPolicy, maxQueued = 100, budget = 1 << 20) {
  const { socket, outbox } = connection(true, { highWaterBytes: 0, maxBufferedBytes: budget });
  const channel = delivery(policy, maxQueued);
  const lane = newLane(outbox, channel, TOPIC);
  // The first message goes to the socket at once and makes the connection slow.
  lane.push(deliveredMessage(0));
  socket.received.length = 0;
  return { socket, outbox, lane, counters: channel.counters };
}

describe('Lane, any policy', () => {
  it.each(['queue', 'drop-oldest', 'latest'] as const)('%s: sends at once while the connection keeps up', (policy) => {
    const { socket, outbox } = connection(false);
    const lane = newLane(outbox, delivery(policy), TOPIC);
    for (let n = 1; n <= 3; n++) lane.push(deliveredMessage(n, `k${n}`));
    lane.gap(2);
    expect(socket.received).toEqual(['m1', 'm2', 'm3', 'gap:history:2']);
    expect(outbox.heldBytes).toBe(0);
  });

  it.each(['queue', 'drop-oldest', 'latest'] as const)(
    '%s: holds while slow, counts it, and sends it in order on drain',
    (policy) => {
      const { socket, outbox, lane } = slowLane(policy);
      lane.push(deliveredMessage(1, 'a'));
      lane.gap(3);
      lane.push(deliveredMessage(5, 'b'));
      expect(socket.received).toEqual([]);
      expect(outbox.heldBytes).toBe(messageBytes(1, 'a') + GAP_MARK_BYTES + messageBytes(5, 'b'));
      socket.release();
      expect(socket.received).toEqual(['m1', 'gap:history:3', 'm5']);
      expect(outbox.heldBytes).toBe(0);
    },
  );

  it.each(['queue', 'drop-oldest', 'latest'] as const)('%s: close() lets go of everything at once', (policy) => {
    const { socket, outbox, lane } = slowLane(policy);
    for (let n = 1; n <= 5; n++) lane.push(deliveredMessage(n, `k${n}`));
    lane.gap(1);
    lane.close();
    expect(outbox.heldBytes).toBe(0);
    socket.release();
    expect(socket.received).toEqual([]);
  });

  it.each(['queue', 'drop-oldest', 'latest'] as const)('%s: flush(true) sends everything however slow', (policy) => {
    const { socket, lane } = slowLane(policy);
    lane.push(deliveredMessage(1, 'a'));
    lane.push(deliveredMessage(2, 'b'));
    expect(lane.flush(true)).toBe(true);
    expect(socket.received).toEqual(['m1', 'm2']);
  });

  it('tells a gap for one joining subscription to it alone', () => {
    const { socket, lane } = slowLane('queue');
    lane.push(deliveredMessage(1));
    lane.gap(2, 7);
    socket.release();
    expect(socket.received).toEqual(['m1', 'gap:history:2@7']);
  });
});

describe("Lane, 'queue'", () => {
  it('closes the connection with 4001 past maxQueued, letting go of what waited', () => {
    const { socket, outbox, lane, counters } = slowLane('queue', 3);
    for (let n = 1; n <= 4; n++) lane.push(deliveredMessage(n));
    expect(socket.closeCode).toBe(SLOW_CONSUMER_CLOSE_CODE);
    expect(counters.slowDisconnects).toBe(1);
    expect(outbox.heldBytes).toBe(0);
    lane.push(deliveredMessage(5)); // after giving up: nothing more is kept
    expect(outbox.heldBytes).toBe(0);
  });

  it("closes the connection past the connection's budget", () => {
    const budget = 3 * messageBytes(1);
    const { socket, lane } = slowLane('queue', 100, budget);
    for (let n = 1; n <= 3; n++) lane.push(deliveredMessage(n));
    expect(socket.closeCode).toBe(SLOW_CONSUMER_CLOSE_CODE);
  });
});

describe("Lane, 'drop-oldest'", () => {
  it('drops the oldest past maxQueued and tells how many in their place', () => {
    const { socket, outbox, lane, counters } = slowLane('drop-oldest', 3);
    for (let n = 1; n <= 5; n++) lane.push(deliveredMessage(n));
    expect(counters.dropped).toBe(2);
    expect(outbox.heldBytes).toBe(GAP_MARK_BYTES + 3 * messageBytes(3));
    socket.release();
    expect(socket.received).toEqual(['gap:dropped:2', 'm3', 'm4', 'm5']);
    expect(socket.closeCode).toBeUndefined();
  });

  it('folds a drop next to a broker gap into one mark', () => {
    const { socket, lane } = slowLane('drop-oldest', 2);
    lane.push(deliveredMessage(1));
    lane.gap(2);
    lane.push(deliveredMessage(4));
    lane.push(deliveredMessage(5)); // m1 goes: nothing is left between its drop and the gap
    socket.release();
    expect(socket.received).toEqual(['gap:history:2', 'gap:dropped:1', 'm4', 'm5']);
  });

  it("drops within the connection's budget, oldest first", () => {
    const budget = frameBytes(0) + 2 * messageBytes(1) + GAP_MARK_BYTES;
    const { socket, outbox, lane } = slowLane('drop-oldest', 100, budget);
    for (let n = 1; n <= 4; n++) lane.push(deliveredMessage(n));
    expect(frameBytes(0) + outbox.heldBytes).toBeLessThanOrEqual(budget);
    socket.release();
    expect(socket.received).toEqual(['gap:dropped:2', 'm3', 'm4']);
  });

  it("drops the incoming message when the connection's other lanes hold the budget", () => {
    const budget = 2 * messageBytes(1) + GAP_MARK_BYTES;
    const { socket, outbox, lane } = slowLane('drop-oldest', 100, budget);
    const other = newLane(outbox, delivery('queue'), TOPIC);
    other.push(deliveredMessage(1));
    other.push(deliveredMessage(2));
    lane.push(deliveredMessage(3));
    lane.push(deliveredMessage(4));
    socket.release();
    expect(socket.received).toEqual(['m1', 'm2', 'gap:dropped:2']);
  });

  it('tells a message dropped that was for one joining subscription to it alone', () => {
    const { socket, lane } = slowLane('drop-oldest', 2);
    lane.push(deliveredMessage(1), 9);
    lane.push(deliveredMessage(2));
    lane.push(deliveredMessage(3));
    socket.release();
    expect(socket.received).toEqual(['gap:dropped:1@9', 'm2', 'm3']);
  });
});

describe("Lane, 'latest'", () => {
  it('keeps the newest per key, in the order the newest arrived', () => {
    const { socket, lane, counters } = slowLane('latest');
    lane.push(deliveredMessage(1, 'a'));
    lane.push(deliveredMessage(2, 'b'));
    lane.push(deliveredMessage(3, 'a'));
    expect(counters.coalesced).toBe(1);
    socket.release();
    expect(socket.received).toEqual(['m2', 'm3']);
  });

  it('lets a newer value move past a gap mark: positions still rise', () => {
    const { socket, lane } = slowLane('latest');
    lane.push(deliveredMessage(1, 'a'));
    lane.gap(2);
    lane.push(deliveredMessage(4, 'a'));
    socket.release();
    expect(socket.received).toEqual(['gap:history:2', 'm4']);
  });

  it('drops the first in line past the budget, told before everything that waits', () => {
    const budget = frameBytes(0) + 2 * messageBytes(1, 'a') + GAP_MARK_BYTES;
    const { socket, outbox, lane, counters } = slowLane('latest', 100, budget);
    lane.push(deliveredMessage(1, 'a'));
    lane.push(deliveredMessage(2, 'b'));
    lane.push(deliveredMessage(3, 'c'));
    expect(counters.dropped).toBe(1);
    expect(frameBytes(0) + outbox.heldBytes).toBeLessThanOrEqual(budget);
    socket.release();
    expect(socket.received).toEqual(['gap:dropped:1', 'm2', 'm3']);
  });

  it('closes the connection past maxQueued gap marks (they never coalesce)', () => {
    const { socket, lane, counters } = slowLane('latest', 2);
    for (let n = 1; n <= 3; n++) {
      lane.push(deliveredMessage(2 * n, `k${n}`));
      lane.gap(1);
    }
    expect(socket.closeCode).toBe(SLOW_CONSUMER_CLOSE_CODE);
    expect(counters.slowDisconnects).toBe(1);
  });
});
