import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createClient } from '@switchboard/client';
import { binaryMessage, channel, defineContract, procedure, readBinaryMessage } from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { z } from 'zod';
import { once, within } from '../support/wait.js';
import { closeAll, RawClient, startServer } from './harness.js';

// Byte values through a real server and client over TCP: calls both ways, channel
// messages and snapshots, from 0 B to 16 MiB, with the bytes each direction cost counted
// at the server's TCP socket. A payload of N bytes may cost N × 1.01 + OVERHEAD_BYTES.

/** Envelope, frame header, mask and the reply's JSON: what a message costs beside its bytes. */
const OVERHEAD_BYTES = 512;
const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [0, 1, KiB, 64 * KiB, MiB, 16 * MiB];

const Bytes = z.instanceof(Uint8Array);
const Buffer_ = z.instanceof(ArrayBuffer);
const bytesContract = defineContract({
  procedures: {
    echo: procedure({ input: Bytes, output: Bytes }),
    echoBuffer: procedure({ input: Buffer_, output: Buffer_ }),
  },
  channels: {
    files: channel({ params: z.object({ name: z.string() }), message: Bytes, snapshot: Bytes }),
  },
});

let snapshot = new Uint8Array(0);
const router = defineRouter(bytesContract, {
  procedures: {
    echo: ({ input }) => input,
    echoBuffer: ({ input }) => input,
  },
  channels: { files: { snapshot: () => snapshot } },
});

interface Wire {
  url: string;
  server: { publish(channel: 'files', params: { name: string }, message: Uint8Array): Promise<void> };
  /** Bytes the server's sockets have read and written so far. */
  counted(): { read: number; written: number };
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
  await closeAll();
});

async function startCounted(): Promise<Wire> {
  const sockets = new Set<Socket>();
  const http: Server = createHttpServer();
  http.on('connection', (socket) => sockets.add(socket));
  const server = createServer({
    router,
    heartbeat: false,
    limits: { maxPayloadBytes: 32 * MiB, maxInFlightBytes: 64 * MiB, maxBufferedBytes: 64 * MiB },
  });
  server.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    await server.close();
    await new Promise((resolve) => http.close(resolve));
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    server,
    counted: () => {
      let read = 0;
      let written = 0;
      for (const socket of sockets) {
        read += socket.bytesRead;
        written += socket.bytesWritten;
      }
      return { read, written };
    },
  };
}

function connect(url: string) {
  const client = createClient<typeof bytesContract>({
    url,
    WebSocket: WebSocket as never,
    reconnect: false,
    maxMessageBytes: 32 * MiB,
    timeoutMs: 30_000,
  });
  closers.push(async () => client.close());
  return client;
}

function pattern(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/** What a step cost on the wire, read and written at the server. */
async function cost(wire: Wire, step: () => Promise<void>): Promise<{ read: number; written: number }> {
  const before = wire.counted();
  await step();
  const after = wire.counted();
  return { read: after.read - before.read, written: after.written - before.written };
}

/** Whether two byte arrays hold the same bytes (toEqual would print a diff of millions of elements). */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function expectRaw(bytesOnWire: number, size: number): void {
  if (process.env.SB_BYTES_REPORT) console.log(`size ${size}: ${bytesOnWire} on the wire (+${bytesOnWire - size})`);
  expect(bytesOnWire).toBeGreaterThanOrEqual(size);
  expect(bytesOnWire).toBeLessThanOrEqual(size * 1.01 + OVERHEAD_BYTES);
}

describe('byte values on the wire', () => {
  it.each(SIZES)(
    'a call with a Uint8Array of %i bytes costs its bytes each way, and returns them equal',
    async (size) => {
      const wire = await startCounted();
      const client = connect(wire.url);
      await client.call('echo', new Uint8Array(0));
      const input = pattern(size);
      let output: Uint8Array | undefined;
      const spent = await cost(wire, async () => {
        output = await client.call('echo', input);
      });
      expect(Object.getPrototypeOf(output)).toBe(Uint8Array.prototype);
      expect(same(output, input)).toBe(true);
      expectRaw(spent.read, size);
      expectRaw(spent.written, size);
    },
    60_000,
  );

  it.each(SIZES)(
    'a call with an ArrayBuffer of %i bytes gets an ArrayBuffer back',
    async (size) => {
      const wire = await startCounted();
      const client = connect(wire.url);
      await client.call('echo', new Uint8Array(0));
      const input = pattern(size).buffer;
      let output: ArrayBuffer | undefined;
      const spent = await cost(wire, async () => {
        output = await client.call('echoBuffer', input);
      });
      expect(output).toBeInstanceOf(ArrayBuffer);
      expect(same(new Uint8Array(output as ArrayBuffer), new Uint8Array(input))).toBe(true);
      expectRaw(spent.read, size);
      expectRaw(spent.written, size);
    },
    60_000,
  );

  it.each(SIZES)(
    'a snapshot and a channel message of %i bytes cost their bytes',
    async (size) => {
      const wire = await startCounted();
      const client = connect(wire.url);
      await client.call('echo', new Uint8Array(0));
      snapshot = pattern(size);
      const received: Uint8Array[] = [];
      const snapshots: Uint8Array[] = [];
      let subscribed: () => void = () => {};
      const ready = new Promise<void>((resolve) => {
        subscribed = resolve;
      });
      const joined = await cost(wire, async () => {
        client.subscribe(
          'files',
          { name: 'a' },
          {
            onSnapshot: (state) => {
              snapshots.push(state);
              subscribed();
            },
            onMessage: (message) => {
              received.push(message);
            },
          },
        );
        await within(ready, 30_000, 'the snapshot');
      });
      expect(snapshots).toHaveLength(1);
      expect(same(snapshots[0], snapshot)).toBe(true);
      expectRaw(joined.written, size);
      const message = pattern(size).reverse();
      const published = await cost(wire, async () => {
        await wire.server.publish('files', { name: 'a' }, message);
        await within(
          new Promise<void>((resolve) => {
            const poll = () => (received.length > 0 ? resolve() : setTimeout(poll, 5));
            poll();
          }),
          30_000,
          'the message',
        );
      });
      expect(Object.getPrototypeOf(received[0])).toBe(Uint8Array.prototype);
      expect(received).toHaveLength(1);
      expect(same(received[0], message)).toBe(true);
      expectRaw(published.written, size);
    },
    60_000,
  );
});

describe('hostile binary messages', () => {
  const call = (meta: string, input = '0') =>
    `{"type":"call","id":"c","name":"math.add","input":${input},"meta":${meta}}`;
  const frame = (json: string, ...parts: number[][]) =>
    Buffer.from(
      binaryMessage(
        json,
        parts.map((p) => Uint8Array.from(p)),
      ),
    );
  const header = (jsonBytes: number, rest: number[]) => {
    const message = Buffer.alloc(4 + rest.length);
    message.writeUInt32BE(jsonBytes, 0);
    Buffer.from(rest).copy(message, 4);
    return message;
  };

  it.each([
    ['a JSON length past the end of the frame', header(100, [0x7b, 0x7d])],
    ['a JSON part over maxBinaryJsonBytes', header(2 * MiB, [0x7b, 0x7d])],
    ['a JSON part that is not JSON', frame('{"type": "call", ', [1])],
    ['a frame shorter than its header', Buffer.from([0, 0])],
    ['a placeholder index out of range', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[2]}', '3'), [1, 2])],
    ['lengths adding up to more than follows', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[9]}'), [1, 2])],
    ['lengths adding up to less than follows', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[1]}'), [1, 2])],
    ['a batch', frame(`[${call('{"values":[["custom","bytes"]],"v":1,"b":[2]}')}]`, [1, 2])],
  ])('answers %s with BAD_REQUEST and keeps the connection usable', async (_, message) => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.socket.send(message, { binary: true });
    const reply = await raw.next((envelope) => envelope.type === 'error', 'an error reply');
    expect(reply).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST' } });
    raw.send({ type: 'call', id: 'after', name: 'math.add', input: { a: 20, b: 22 } });
    expect(await raw.reply('after')).toEqual({ type: 'result', id: 'after', output: 42 });
    expect(raw.isOpen).toBe(true);
    expect(probe.handled).toEqual(['math.add']);
  });

  it('runs a well-formed binary call from a raw peer and answers it as text when the output has no bytes', async () => {
    const { url } = await startServer();
    const raw = await RawClient.open(url);
    // math.add's schema wants numbers: the byte value reaches validation, which refuses it.
    raw.socket.send(frame(call('{"values":{"a":[["custom","bytes"]]},"v":1,"b":[2]}', '{"a":0,"b":1}'), [1, 2]));
    const reply = await raw.reply('c');
    expect(reply).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST', message: 'invalid input' } });
  });
});

describe('a server that sends a bad binary message', () => {
  it('is refused by the client with 1002, as any bad server message', async () => {
    const peer = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'switchboard.v1' });
    closers.push(() => {
      for (const socket of peer.clients) socket.terminate();
      return new Promise((resolve) => peer.close(resolve));
    });
    await once(peer, 'listening');
    peer.on('connection', (socket) => {
      socket.on('message', (data: Buffer, isBinary) => {
        const envelope = (isBinary ? readBinaryMessage(data) : JSON.parse(String(data))) as {
          type: string;
          id: number;
        };
        if (envelope.type === 'auth') socket.send(JSON.stringify({ type: 'authenticated', id: envelope.id }));
        else
          socket.send(
            binaryMessage(
              `{"type":"result","id":${envelope.id},"output":0,"meta":{"values":[["custom","bytes"]],"v":1,"b":[5]}}`,
              [Uint8Array.of(1)],
            ),
          );
      });
    });
    const { port } = peer.address() as AddressInfo;
    const client = connect(`ws://127.0.0.1:${port}`);
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    const outcome = await client.call('echo', new Uint8Array(0)).catch((error: unknown) => error);
    expect(errors[0]?.message).toMatch(/bad server message: bad binary message: meta.b adds up to more/);
    expect(outcome).toMatchObject({ code: 'UNAVAILABLE' });
  });
});
