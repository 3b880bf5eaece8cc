import { WebSocketServer } from '@switchboard/server/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { heapUsedAfterGc } from '../support/heap.js';
import { until } from '../support/wait.js';
import { OP, RawPeer } from '../transport/raw-peer.js';
import { startTarget } from './fixtures/target.js';

// A message a peer starts and never finishes is held until maxPayload: what it holds must be
// about its size, however the peer cuts it. Big pieces are kept as views and small ones are
// gathered in a scratch buffer: big and small pieces in turn used to pin a new scratch
// buffer the size of the message so far per small piece (quadratic), and a 16 KiB piece
// kept as a view could pin the whole read buffer it came in.

const MiB = 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function external(): number {
  heapUsedAfterGc();
  return process.memoryUsage().arrayBuffers;
}

describe('an unfinished message', () => {
  it('holds about its payload, not the read buffers its pieces came in', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    let reads = 0;
    wss.on('connection', (_socket, request) => request.socket.on('data', () => reads++));
    const port = (wss.address() as { port: number }).port;
    const peer = await RawPeer.upgrade(port);
    cleanups.push(() => peer.destroy());
    await until(() => wss.clients.size === 1, 'the connection');

    const before = external();
    const big = Buffer.alloc(20 * 1024, 0x61);
    const small = Buffer.alloc(100, 0x62);
    peer.send({ opcode: OP.text, fin: false, payload: big });
    for (let n = 0; n < 45; n++) {
      for (const piece of [small, big]) {
        // One piece per TCP read: wait until the server has read it before sending the next.
        const seen = reads;
        peer.send({ opcode: OP.continuation, fin: false, payload: piece });
        await until(() => reads > seen, `piece ${n} to be read`);
      }
    }
    const held = external() - before;
    // 46 × 20 KiB + 45 × 100 B = 0.9 MiB of payload.
    expect(held).toBeLessThan(2 * MiB);
    expect(peer.tcpClosed).toBe(false);
  });
});

describe('a closed connection', () => {
  it('is let go at once, with its unfinished message, though its idempotency session stays', async () => {
    const { server, port } = await startTarget();
    cleanups.push(() => server.close());
    const piece = Buffer.alloc(30 * 1024, 0x61);
    const before = heapUsedAfterGc() + process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 40; i++) {
      const peer = await RawPeer.upgrade(port, {
        path: '/?user=u',
        headers: ['Sec-WebSocket-Protocol: switchboard.v1'],
      });
      const call = { type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 }, key: `V1StGXR8_Z5jdHi6B${i}.1` };
      peer.send({ opcode: OP.text, payload: JSON.stringify(call) });
      await peer.nextFrame(3_000);
      peer.send({ opcode: OP.text, fin: false, payload: piece });
      for (let n = 0; n < 29; n++) peer.send({ opcode: OP.continuation, fin: false, payload: piece });
      await until(() => server.metrics().calls.total === i + 1, 'the call');
      peer.destroy();
      await until(() => server.metrics().connections === 0, 'the connection to close');
    }
    expect(server.metrics().idempotency.sessions).toBe(40);
    // 40 × 900 KB if each session held its connection.
    expect(heapUsedAfterGc() + process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * MiB);
  });
});
