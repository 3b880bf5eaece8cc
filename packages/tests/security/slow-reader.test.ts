import { afterEach, describe, expect, it } from 'vitest';
import { closeAll } from '../rpc/harness.js';
import { heapUsedAfterGc } from '../support/heap.js';

/** Heap and Buffers after a full collection: channel frames are Buffers. */
function memory(): number {
  return heapUsedAfterGc() + process.memoryUsage().arrayBuffers;
}

import { until } from '../support/wait.js';
import { OP, RawPeer } from '../transport/raw-peer.js';
import { startTarget } from './fixtures/target.js';

// Finding 5: a subscriber that never reads used to make the server hold up to maxQueued
// messages per stream, on every stream (100 × 4,000 messages of 1 KB: over 1 GB), and
// stayed connected. One budget in bytes now covers its socket and all its lanes.

const MiB = 1024 * 1024;
const STREAMS = 100;
/** The broker keeps one message per stream: what the server holds then is the connection's. */
const SHORT_HISTORY = { history: { maxMessages: 1 } };

const peers: RawPeer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.destroy();
  await closeAll();
});

async function subscriber(port: number, channel: string): Promise<RawPeer> {
  const peer = await RawPeer.upgrade(port, {
    path: '/?user=slow',
    headers: ['Sec-WebSocket-Protocol: switchboard.v1'],
  });
  peers.push(peer);
  for (let n = 0; n < STREAMS; n++) {
    peer.send({
      opcode: OP.text,
      payload: JSON.stringify({ type: 'subscribe', id: n + 1, name: channel, params: { n } }),
    });
  }
  await until(() => peer.frames.length >= STREAMS, 'every subscription to be registered');
  peer.socket.pause(); // from here on it reads nothing
  return peer;
}

/** Publishes `perStream` messages of 1 KB on each of the streams, in rounds. */
async function flood(
  server: Awaited<ReturnType<typeof startTarget>>['server'],
  channel: 'feed.queue' | 'feed.drop',
  perStream: number,
) {
  const text = 'x'.repeat(1_000);
  for (let round = 0; round < perStream; round++) {
    await Promise.all(Array.from({ length: STREAMS }, (_, n) => server.publish(channel, { n }, { text })));
  }
}

describe('a subscriber that never reads, on 100 streams', () => {
  it('is closed with 4001 once its socket and lanes hold more than maxBufferedBytes (queue)', async () => {
    const { server, port } = await startTarget(SHORT_HISTORY);
    const peer = await subscriber(port, 'feed.queue');
    const before = memory();
    await flood(server, 'feed.queue', 100); // 10 MB, far under maxQueued per stream
    await until(() => server.metrics().connections === 0, 'the slow connection to be closed', 10_000);
    expect(server.metrics().channels['feed.queue']?.slowDisconnects).toBe(1);
    expect(memory() - before).toBeLessThan(2 * MiB);
    peer.socket.resume();
    await until(() => peer.tcpClosed, 'the TCP connection to end');
    const close = peer.frames.find((frame) => frame.opcode === OP.close);
    expect(close?.payload.readUInt16BE(0)).toBe(4001);
  });

  it('stays connected within maxBufferedBytes, told what it missed (drop-oldest)', async () => {
    const { server, port } = await startTarget(SHORT_HISTORY);
    await subscriber(port, 'feed.drop');
    const before = memory();
    await flood(server, 'feed.drop', 100);
    expect(server.metrics().connections).toBe(1);
    expect(server.metrics().channels['feed.drop']?.dropped).toBeGreaterThan(0);
    // One subscriber: the frames its lanes hold are its own budget (4 MiB), and little else.
    expect(memory() - before).toBeLessThan(6 * MiB);
  });
});
