import { BINARY_HEADER_BYTES, binaryMessage } from '@switchboard/contract';
import { createServer } from '@switchboard/server';
import { createTestPair, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL } from '../rpc/harness.js';
import { once } from '../support/wait.js';
import { patterned, type StreamCtx, StreamProbe, type streamContract, streamRouter } from './fixtures.js';

// Byte values in streams: inputs, chunks and results of every size travel as bytes (one
// binary message each), exactly once across cuts, and cost their size plus a small constant.

let pair: TestPair<typeof streamContract, StreamCtx> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const SIZES = [0, 1, 1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024];

describe('bytes in streams', () => {
  it('round-trips Uint8Array chunks of 0 B to 16 MiB, a Uint8Array input and result, through a cut', async () => {
    const probe = new StreamProbe();
    // Limits raised for 16 MiB chunks: the defaults keep one message within 1 MiB.
    const big = 40 * 1024 * 1024;
    pair = await createTestPair({
      router: streamRouter(probe),
      clock: false,
      server: {
        limits: { maxPayloadBytes: big, maxInFlightBytes: big, maxBufferedBytes: big, streamBufferBytes: big },
      },
      client: { reconnect: { initialDelayMs: 1, maxDelayMs: 5 }, maxMessageBytes: big },
    });
    const salt = new Uint8Array([7, 8, 9]);
    const stream = pair.client.stream('bytes', { sizes: [...SIZES, ...SIZES], salt }, { credit: 4 });
    const received: Uint8Array[] = [];
    for await (const chunk of stream) {
      received.push(chunk);
      if (received.length === SIZES.length) {
        pair.link.cut();
        await pair.whenState('reconnecting');
        pair.link.restore();
      }
    }
    expect(received.map((chunk) => chunk.byteLength)).toEqual([...SIZES, ...SIZES]);
    received.forEach((chunk, i) => {
      expect(Object.getPrototypeOf(chunk)).toBe(Uint8Array.prototype);
      expect(Buffer.from(chunk).equals(Buffer.from(patterned(chunk.byteLength, i + 7)))).toBe(true);
    });
    const result = await stream.result;
    expect(result.total).toBe(2 * SIZES.reduce((a, b) => a + b, 0));
    expect(Array.from(result.salt)).toEqual([7, 8, 9]);
  });

  it("bounds the client's unread bytes, whatever the credit: chunks of 1,000 KiB, a reader that stops", async () => {
    const probe = new StreamProbe();
    pair = await createTestPair({ router: streamRouter(probe), clock: false });
    const iterator = pair.client.stream('mebibytes', { tag: 'unread' })[Symbol.asyncIterator]();
    await iterator.next();
    // 8 MiB unread on the client, 4 MiB kept by the server (its streamBufferBytes), one more chunk each.
    await probe.until(() => (probe.produced.get('unread') ?? 0) >= 12, 'the run to fill both bounds');
    for (let i = 0; i < 3; i++) await pair.client.call('plain', {}); // room to overrun, if it could
    const made = probe.produced.get('unread') as number;
    console.log(`[streams] 1,000 KiB chunks, credit 256, the reader stopped after one: ${made} chunks made`);
    expect(made).toBeLessThanOrEqual(16);
    // Reading frees room: the run goes on.
    for (let i = 0; i < 10; i++) await iterator.next();
    await probe.until(() => (probe.produced.get('unread') as number) > made, 'the run to go on');
    await iterator.return?.();
  });

  it('costs each chunk its size plus a small constant on the wire', async () => {
    const server = createServer({
      router: streamRouter(new StreamProbe()),
      heartbeat: false,
      limits: {
        maxPayloadBytes: 8 * 1024 * 1024,
        maxInFlightBytes: 16 * 1024 * 1024,
        maxBufferedBytes: 16 * 1024 * 1024,
      },
    });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`, PROTOCOL);
      const messages: Buffer[] = [];
      let seq = 0;
      socket.on('message', (data: Buffer) => {
        messages.push(data);
        // Say each chunk arrived, as a client does: the server keeps it until then (4 MiB of them at most).
        if (data.toString('latin1', 4, 20) === '{"type":"chunk",')
          socket.send(`{"type":"credit","id":1,"n":0,"read":${++seq}}`);
      });
      await once(socket, 'open');
      socket.send(JSON.stringify({ type: 'auth', id: 0 }));
      const sizes = [16 * 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024];
      // The input with bytes goes as a binary message too: the salt is 3 bytes.
      const call = JSON.stringify({
        type: 'stream',
        id: 1,
        name: 'bytes',
        input: { sizes, salt: 0 },
        meta: { values: { salt: [['custom', 'bytes']] }, v: 1, b: [3] },
        key: 'wire.1',
        credit: 16,
      });
      socket.send(binaryMessage(call, [new Uint8Array([1, 2, 3])]));
      while (!messages.some((m) => m.toString('latin1').includes('"type":"end"'))) await once(socket, 'message');
      const chunks = messages.filter(
        (m) => m.readUInt32BE(0) < 1024 && m.toString('latin1', 4).startsWith('{"type":"chunk"'),
      );
      expect(chunks).toHaveLength(sizes.length);
      const lines = chunks.map((message, i) => {
        const payload = sizes[i] as number;
        const overhead = message.byteLength - payload;
        expect(message.readUInt32BE(0) + BINARY_HEADER_BYTES + payload).toBe(message.byteLength);
        expect(message.byteLength).toBeLessThanOrEqual(payload * 1.01 + 128);
        return `${payload} B → ${message.byteLength} B (+${overhead}, ${(message.byteLength / payload).toFixed(4)}×)`;
      });
      console.log(`[streams] binary chunks on the wire (WebSocket payload): ${lines.join('; ')}`);
      socket.close();
    } finally {
      await server.close();
    }
  });
});
