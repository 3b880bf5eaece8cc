import { describe, expect, it } from 'vitest';
import { HEARTBEAT_PAYLOAD_BYTES, Heartbeat } from '../../src/transport/heartbeat.js';

// The heartbeat as a clock-free state machine: time is an argument, so no test waits.

const INTERVAL = 100;
const TIMEOUT = 50;

/** A heartbeat that has just sent its first ping, at t = 100. */
function pinged(): { heartbeat: Heartbeat; payload: Buffer } {
  const heartbeat = new Heartbeat();
  expect(heartbeat.tick(0, INTERVAL, TIMEOUT)).toBeUndefined(); // heard at start: quiet from now
  expect(heartbeat.tick(INTERVAL - 1, INTERVAL, TIMEOUT)).toBeUndefined();
  const payload = heartbeat.tick(INTERVAL, INTERVAL, TIMEOUT);
  if (!Buffer.isBuffer(payload)) throw new Error(`expected a ping payload, got ${String(payload)}`);
  return { heartbeat, payload };
}

describe('Heartbeat', () => {
  it('pings after pingIntervalMs of quiet with random bytes, and is dead pongTimeoutMs later', () => {
    const { heartbeat, payload } = pinged();
    expect(payload).toHaveLength(HEARTBEAT_PAYLOAD_BYTES);
    expect(heartbeat.tick(INTERVAL + TIMEOUT - 1, INTERVAL, TIMEOUT)).toBeUndefined();
    expect(heartbeat.tick(INTERVAL + TIMEOUT, INTERVAL, TIMEOUT)).toBe('dead');
  });

  it('counts only the pong that carries its ping bytes', () => {
    const { heartbeat } = pinged();
    heartbeat.pong(Buffer.from('unsolicited'));
    heartbeat.pong(Buffer.alloc(HEARTBEAT_PAYLOAD_BYTES));
    expect(heartbeat.tick(INTERVAL + TIMEOUT, INTERVAL, TIMEOUT)).toBe('dead');

    const again = pinged();
    again.heartbeat.pong(Buffer.from(again.payload));
    expect(again.heartbeat.tick(INTERVAL + TIMEOUT, INTERVAL, TIMEOUT)).toBeUndefined();
    // Quiet again from that tick: the next ping is an interval later, with new bytes.
    const next = again.heartbeat.tick(2 * INTERVAL + TIMEOUT, INTERVAL, TIMEOUT);
    expect(Buffer.isBuffer(next) && !next.equals(again.payload)).toBe(true);
  });

  it('keeps a peer that sends data alive without any ping', () => {
    const heartbeat = new Heartbeat();
    for (let now = 0; now <= 10 * INTERVAL; now += INTERVAL / 2) {
      heartbeat.heard();
      expect(heartbeat.tick(now, INTERVAL, TIMEOUT)).toBeUndefined();
    }
  });

  it('forgets a ping once the peer is heard: a late pong of it counts for nothing', () => {
    const { heartbeat, payload } = pinged();
    heartbeat.heard();
    expect(heartbeat.tick(INTERVAL + 1, INTERVAL, TIMEOUT)).toBeUndefined();
    heartbeat.pong(payload); // the old ping's pong, after the data
    expect(heartbeat.tick(2 * INTERVAL, INTERVAL, TIMEOUT)).toBeUndefined();
    expect(Buffer.isBuffer(heartbeat.tick(2 * INTERVAL + 1, INTERVAL, TIMEOUT))).toBe(true);
  });
});
