import * as zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProtocolError } from '../../src/transport/errors.js';
import type { WebSocketServerOptions } from '../../src/transport/options.js';
import type { ServerWebSocket } from '../../src/transport/socket.js';
import {
  closeBody,
  connectRaw,
  encodeClientFrame,
  once,
  RawPeer,
  type StartedServer,
  startServer,
  stopServer,
  upgradeRequest,
  within,
} from './helpers.js';

const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

let servers: StartedServer[] = [];
let peers: RawPeer[] = [];
let clients: WebSocket[] = [];

async function open(options: Omit<WebSocketServerOptions, 'port' | 'host'> = {}, headers: Record<string, string> = {}) {
  const server = await startServer({ pingIntervalMs: 0, ...options });
  servers.push(server);
  const connection = await connectRaw(server, headers);
  peers.push(connection.peer);
  return { ...connection, server };
}

/** A `ws` client connected to a fresh server; resolves with both ends. */
async function openWs(
  options: Omit<WebSocketServerOptions, 'port' | 'host'> = {},
  clientOptions: WebSocket.ClientOptions = {},
) {
  const server = await startServer({ pingIntervalMs: 0, ...options });
  servers.push(server);
  const connection = once<[ServerWebSocket]>(server.wss, 'connection');
  const client = new WebSocket(server.url, clientOptions);
  clients.push(client);
  await once(client, 'open');
  const [socket] = await connection;
  return { client, socket, server };
}

afterEach(async () => {
  for (const peer of peers) peer.destroy();
  for (const client of clients) client.terminate();
  await Promise.all(servers.map((server) => stopServer(server.wss)));
  servers = [];
  peers = [];
  clients = [];
});

const sendDone = (socket: ServerWebSocket, data: Parameters<ServerWebSocket['send']>[0], options = {}) =>
  new Promise<Error | null | undefined>((resolve) => socket.send(data, options, resolve));

describe('ServerWebSocket.send', () => {
  it('sends a string as one unmasked text frame with FIN set', async () => {
    const { peer, socket } = await open();
    socket.send('hello');
    const frame = await peer.readFrame();
    expect(frame).toMatchObject({ opcode: TEXT, fin: true, rsv1: false, masked: false });
    expect(frame.payload.toString()).toBe('hello');
  });

  it('sends Buffers and typed arrays as binary, and strings as binary on request', async () => {
    const { peer, socket } = await open();
    socket.send(Buffer.from([1, 2]));
    socket.send('bin', { binary: true });
    socket.send(new Uint8Array([3, 4]).buffer);
    socket.send(Buffer.from('tx'), { binary: false });
    const frames = [await peer.readFrame(), await peer.readFrame(), await peer.readFrame(), await peer.readFrame()];
    expect(frames.map((f) => [f.opcode, f.payload.toString('hex')])).toEqual([
      [BINARY, '0102'],
      [BINARY, Buffer.from('bin').toString('hex')],
      [BINARY, '0304'],
      [TEXT, Buffer.from('tx').toString('hex')],
    ]);
  });

  it('sends only the bytes a typed-array view covers', async () => {
    const { peer, socket } = await open();
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
    socket.send(new Uint16Array(backing.buffer, 2, 2));
    expect((await peer.readFrame()).payload.toString('hex')).toBe('02030405');
  });

  it.each([0, 125, 126, 65_535, 65_536])('sends a %i-byte message with the minimal length header', async (length) => {
    const { peer, socket } = await open();
    socket.send(Buffer.alloc(length, 0x5a));
    const frame = await peer.readFrame();
    expect(frame.payload.length).toBe(length);
    expect(frame.payload.every((b) => b === 0x5a)).toBe(true);
    expect(frame.size - length).toBe(length < 126 ? 2 : length < 65_536 ? 4 : 10);
  });

  it('calls back without an error once the message is written', async () => {
    const { socket } = await open();
    expect(await sendDone(socket, 'ok')).toBeFalsy();
    expect(await sendDone(socket, Buffer.alloc(5000))).toBeFalsy();
  });

  it('throws a TypeError for data it cannot send', async () => {
    const { socket } = await open();
    expect(() => socket.send(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('ServerWebSocket.sendParts', () => {
  const parts = () => [Buffer.from('head'), new Uint8Array(70_000).fill(3), Buffer.from('tail')];
  const joined = Buffer.concat(parts());

  it('sends its parts as one binary message, to a ws client, plain and compressed', async () => {
    for (const perMessageDeflate of [false, true]) {
      const { client, socket } = await openWs({ perMessageDeflate }, { perMessageDeflate });
      const messages: Array<[Buffer, boolean]> = [];
      const both = within(
        new Promise<void>((resolve) =>
          client.on('message', (data: Buffer, isBinary: boolean) => {
            if (messages.push([data, isBinary]) === 2) resolve();
          }),
        ),
        3000,
        'two messages',
      );
      const done = new Promise((resolve) => socket.sendParts(parts(), resolve));
      socket.send('after');
      await both;
      expect(messages.map(([data, isBinary]) => [isBinary, data.length])).toEqual([
        [true, joined.length],
        [false, 5],
      ]);
      expect(messages[0]?.[0].equals(joined)).toBe(true);
      expect(await done).toBeFalsy();
    }
  });

  it('calls back with an Error and never throws once closed', async () => {
    const { client, socket } = await openWs();
    client.close();
    await once(socket, 'close');
    const error = await new Promise<Error | null | undefined>((resolve) => socket.sendParts(parts(), resolve));
    expect(error).toBeInstanceOf(Error);
  });
});

describe('ServerWebSocket: sending after close', () => {
  it('calls back with an Error and never throws while closing', async () => {
    const { socket } = await open();
    socket.close(1000);
    let error: Error | null | undefined;
    expect(() => socket.send('late', (e) => (error = e))).not.toThrow();
    expect(error).toBeInstanceOf(Error);
    expect(() => socket.send('late, no callback')).not.toThrow();
  });

  it('calls back with an Error and never throws once closed', async () => {
    const { socket, peer } = await open();
    const closed = once(socket, 'close');
    peer.destroy();
    await closed;
    const errors: Array<Error | null | undefined> = [];
    expect(() => socket.send('late', (e) => errors.push(e))).not.toThrow();
    expect(() => socket.ping(undefined, (e) => errors.push(e))).not.toThrow();
    expect(() => socket.pong('x', (e) => errors.push(e))).not.toThrow();
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error).toBeInstanceOf(Error);
  });

  it('calls back with an Error for a message still being compressed when the connection drops', async () => {
    const { socket, peer } = await open(
      { perMessageDeflate: { threshold: 0 } },
      { 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    );
    const result = new Promise<Error | null | undefined>((resolve) => socket.send(Buffer.alloc(2_000_000, 1), resolve));
    socket.terminate();
    peer.destroy();
    expect(await within(result, 2_000, 'the send callback')).toBeInstanceOf(Error);
  });
});

describe('ServerWebSocket: a peer that stopped reading', () => {
  it('fails every write still buffered with one shared error when terminated (no error made per write)', async () => {
    const { socket, peer } = await open({ maxBufferedBytes: 64 * 1024 * 1024 });
    peer.socket.pause();
    const errors: Array<Error | null | undefined> = [];
    const frame = Buffer.alloc(4 * 1024, 1);
    // Turn after turn, far more than the kernel takes: the later writes wait in the socket's own buffer.
    for (let turn = 0; turn < 200; turn++) {
      for (let i = 0; i < 10; i++) socket.send(frame, { binary: true }, (error) => errors.push(error));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(socket.bufferedAmount).toBeGreaterThan(1024 * 1024);
    socket.terminate();
    await within(once(socket, 'close'), 2_000, 'close');
    await new Promise((resolve) => setImmediate(resolve));
    const failed = errors.filter((error) => error instanceof Error);
    expect(failed.length).toBeGreaterThan(10);
    expect(new Set(failed).size).toBe(1);
  });
});

describe('ServerWebSocket: ping and pong', () => {
  it('sends ping(50) as the text "50", not 50 bytes', async () => {
    const { peer, socket } = await open();
    socket.ping(50);
    const frame = await peer.readFrame();
    expect(frame.opcode).toBe(PING);
    expect(frame.payload.toString()).toBe('50');
  });

  it('sends an empty ping, a 125-byte ping and an unsolicited pong', async () => {
    const { peer, socket } = await open();
    socket.ping();
    socket.ping(Buffer.alloc(125, 1));
    socket.pong('beat');
    const frames = [await peer.readFrame(), await peer.readFrame(), await peer.readFrame()];
    expect(frames.map((f) => [f.opcode, f.payload.length])).toEqual([
      [PING, 0],
      [PING, 125],
      [PONG, 4],
    ]);
  });

  it('throws a RangeError for a 126-byte ping or pong', async () => {
    const { socket } = await open();
    expect(() => socket.ping(Buffer.alloc(126))).toThrow(RangeError);
    expect(() => socket.pong('x'.repeat(126))).toThrow(RangeError);
    expect(socket.state).toBe('open');
  });

  it('answers a ping with a pong carrying the same payload and emits it', async () => {
    const { peer, socket } = await open();
    const ping = once<[Buffer]>(socket, 'ping');
    peer.write(encodeClientFrame({ opcode: PING, payload: 'echo me' }));
    const frame = await peer.readFrame();
    expect(frame.opcode).toBe(PONG);
    expect(frame.payload.toString()).toBe('echo me');
    expect((await ping)[0].toString()).toBe('echo me');
  });

  it('emits the pongs the peer sends', async () => {
    const { peer, socket } = await open();
    const pong = once<[Buffer]>(socket, 'pong');
    peer.write(encodeClientFrame({ opcode: PONG, payload: 'p' }));
    expect((await pong)[0].toString()).toBe('p');
  });

  it('answers a ping in the middle of a fragmented message and delivers the message intact', async () => {
    const { peer, socket } = await open();
    const message = once<[Buffer, boolean]>(socket, 'message');
    peer.write(
      Buffer.concat([
        encodeClientFrame({ opcode: TEXT, payload: 'Hello, ', fin: false }),
        encodeClientFrame({ opcode: PING, payload: 'mid' }),
        encodeClientFrame({ opcode: CONTINUATION, payload: 'World', fin: true }),
      ]),
    );
    const pong = await peer.readFrame();
    expect([pong.opcode, pong.payload.toString()]).toEqual([PONG, 'mid']);
    const [data, isBinary] = await message;
    expect([data.toString(), isBinary]).toEqual(['Hello, World', false]);
  });
});

describe('ServerWebSocket: receiving', () => {
  it('emits text as UTF-8 bytes with isBinary false and binary with isBinary true', async () => {
    const { peer, socket } = await open();
    const received: Array<[string, boolean]> = [];
    socket.on('message', (data, isBinary) => received.push([data.toString('hex'), isBinary]));
    peer.write(
      Buffer.concat([
        encodeClientFrame({ opcode: TEXT, payload: 'é' }),
        encodeClientFrame({ opcode: BINARY, payload: Buffer.from([0xff]) }),
      ]),
    );
    const closed = once(socket, 'close');
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1000) }));
    await closed;
    expect(received).toEqual([
      ['c3a9', false],
      ['ff', true],
    ]);
  });

  it('reassembles a message of many small fragments', async () => {
    const { peer, socket } = await open();
    const message = once<[Buffer]>(socket, 'message');
    const parts = Array.from({ length: 500 }, (_, i) =>
      encodeClientFrame({
        opcode: i === 0 ? BINARY : CONTINUATION,
        payload: Buffer.from([i & 0xff, 7]),
        fin: i === 499,
      }),
    );
    for (let i = 0; i < parts.length; i += 37) peer.write(Buffer.concat(parts.slice(i, i + 37)));
    const [data] = await message;
    expect(data.length).toBe(1000);
    expect(data[998]).toBe(499 & 0xff);
  });

  it('reassembles fragments of mixed sizes around the 16 KiB copy threshold byte for byte', async () => {
    const { peer, socket } = await open();
    const sizes = [1, 16_383, 16_384, 2, 40_000, 7, 0, 100, 16_385, 3];
    const payload = Buffer.from(Array.from({ length: sizes.reduce((a, b) => a + b, 0) }, (_, i) => (i * 131) & 0xff));
    const message = once<[Buffer, boolean]>(socket, 'message');
    let offset = 0;
    const frames = sizes.map((size, i) => {
      const frame = encodeClientFrame({
        opcode: i === 0 ? BINARY : CONTINUATION,
        payload: payload.subarray(offset, offset + size),
        fin: i === sizes.length - 1,
      });
      offset += size;
      return frame;
    });
    const wire = Buffer.concat(frames);
    for (let i = 0; i < wire.length; i += 9_999) peer.write(wire.subarray(i, i + 9_999));
    const [data, isBinary] = await message;
    expect(isBinary).toBe(true);
    expect(data.equals(payload)).toBe(true);
  });

  it('accepts a text message whose characters are split across fragments and TCP writes', async () => {
    const { peer, socket } = await open();
    const text = Buffer.from('κόσμε 😀 ∑ é'.repeat(20));
    const message = once<[Buffer, boolean]>(socket, 'message');
    const cuts = [1, 2, 5, 13, 14, 50, 51, 52, 200, text.length];
    let from = 0;
    const wire = Buffer.concat(
      cuts.map((to, i) => {
        const frame = encodeClientFrame({
          opcode: i === 0 ? TEXT : CONTINUATION,
          payload: text.subarray(from, to),
          fin: to === text.length,
        });
        from = to;
        return frame;
      }),
    );
    for (let i = 0; i < wire.length; i += 7) peer.write(wire.subarray(i, i + 7));
    const [data, isBinary] = await message;
    expect(isBinary).toBe(false);
    expect(data.equals(text)).toBe(true);
  });

  it('delivers a frame that arrives in the same packet as the upgrade request', async () => {
    const server = await startServer({ pingIntervalMs: 0 });
    servers.push(server);
    // Listeners attached in the 'connection' handler, as applications do, see the first frame.
    const message = new Promise<Buffer>((resolve) =>
      server.wss.once('connection', (socket) => socket.once('message', (data) => resolve(data))),
    );
    const peer = await RawPeer.connect(server.port);
    peers.push(peer);
    peer.write(
      Buffer.concat([Buffer.from(upgradeRequest()), encodeClientFrame({ opcode: TEXT, payload: 'early bird' })]),
    );
    const data = await within(message, 3_000, 'the first message');
    expect(data.toString()).toBe('early bird');
  });
});

describe('ServerWebSocket: permessage-deflate on send', () => {
  const DEFLATE = { 'Sec-WebSocket-Extensions': 'permessage-deflate' };
  const inflate = (payload: Buffer) =>
    zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });

  it('compresses messages at or over the threshold and sends smaller ones plain', async () => {
    const { peer, socket } = await open(
      { perMessageDeflate: { threshold: 100, serverNoContextTakeover: true } },
      DEFLATE,
    );
    socket.send('a'.repeat(99));
    socket.send('b'.repeat(100));
    socket.send('c'.repeat(200), { compress: false });
    const [small, large, opted] = [await peer.readFrame(), await peer.readFrame(), await peer.readFrame()];
    expect([small.rsv1, small.payload.length]).toEqual([false, 99]);
    expect(large.rsv1).toBe(true);
    expect(inflate(large.payload).toString()).toBe('b'.repeat(100));
    expect([opted.rsv1, opted.payload.length]).toEqual([false, 200]);
  });

  it('keeps frames in order behind a message still being compressed', async () => {
    const { peer, socket } = await open(
      { perMessageDeflate: { threshold: 100, serverNoContextTakeover: true } },
      DEFLATE,
    );
    socket.send('x'.repeat(50_000));
    socket.send('small');
    socket.ping('p');
    const frames = [await peer.readFrame(), await peer.readFrame(), await peer.readFrame()];
    expect(frames.map((f) => f.opcode)).toEqual([TEXT, TEXT, PING]);
    expect(inflate((frames[0] as { payload: Buffer }).payload).length).toBe(50_000);
  });

  it('sends a compressed message queued before close() ahead of the Close frame', async () => {
    const { peer, socket } = await open({ perMessageDeflate: { threshold: 10 }, closeTimeoutMs: 500 }, DEFLATE);
    socket.send('x'.repeat(2000));
    socket.close(1000, 'bye');
    const first = await peer.readFrame();
    const second = await peer.readFrame();
    expect([first.opcode, first.rsv1]).toEqual([TEXT, true]);
    expect(second.opcode).toBe(CLOSE);
  });

  it('delivers two compressed messages sent in the same tick intact', async () => {
    const { client, socket } = await openWs({ perMessageDeflate: { threshold: 10 } }, { perMessageDeflate: true });
    const received: string[] = [];
    const both = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        const text = String(data);
        received.push(`${text.length} bytes: ${text.slice(0, 1)}..${text.slice(-1)}`);
        if (received.length === 2) resolve();
      }),
    );
    socket.send('A'.repeat(2000));
    socket.send('B'.repeat(2000));
    await within(both, 3_000, 'two messages');
    expect(received).toEqual(['2000 bytes: A..A', '2000 bytes: B..B']);
  });

  it('round-trips compressed messages with a ws client, with context takeover', async () => {
    const { client, socket } = await openWs(
      { perMessageDeflate: { threshold: 0 } },
      { perMessageDeflate: { threshold: 0 } },
    );
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    for (const text of ['first message '.repeat(100), 'first message '.repeat(100), 'κόσμε'.repeat(500)]) {
      const reply = once<[Buffer]>(client, 'message');
      client.send(text);
      expect(String((await reply)[0])).toBe(text);
    }
  });
});

describe('ServerWebSocket: maxBufferedBytes', () => {
  it('terminates a peer that never reads once more than maxBufferedBytes are queued, without holding more', async () => {
    const maxBufferedBytes = 256 * 1024;
    const { peer, socket } = await open({ maxBufferedBytes });
    peer.socket.pause(); // the peer never reads: the kernel buffers fill, then ours
    const errors: ProtocolError[] = [];
    socket.on('error', (error) => errors.push(error));
    const closed = once<[number]>(socket, 'close', 10_000);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let most = 0;
    let sent = 0;
    const limit = 4096; // 256 MiB: far beyond any loopback socket buffer
    while (socket.state === 'open' && sent < limit) {
      socket.send(chunk);
      sent++;
      most = Math.max(most, socket.bufferedAmount);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [code] = await closed;
    expect(sent).toBeLessThan(limit);
    expect(code).toBe(1006);
    expect(errors.map((error) => error.code)).toEqual(['SEND_BUFFER_FULL']);
    expect(most).toBeLessThanOrEqual(maxBufferedBytes + chunk.length + 16);
  });

  it('reports what is queued in bufferedAmount', async () => {
    const { socket } = await open();
    expect(socket.bufferedAmount).toBe(0);
    socket.send(Buffer.alloc(10_000));
    expect(socket.bufferedAmount).toBeGreaterThanOrEqual(10_000);
  });
});

describe('ServerWebSocket: state', () => {
  let server: StartedServer;
  let peer: RawPeer;
  let socket: ServerWebSocket;

  beforeAll(async () => {
    server = await startServer({ pingIntervalMs: 0 });
    ({ peer, socket } = await connectRaw(server));
  });

  afterAll(async () => {
    peer.destroy();
    await stopServer(server.wss);
  });

  it('starts open with readyState 1 and knows the peer address', () => {
    expect(socket.state).toBe('open');
    expect(socket.readyState).toBe(1);
    expect(socket.remoteAddress).toBe('127.0.0.1');
    expect(socket.protocol).toBe('');
    expect(socket.extensions).toBe('');
  });
});
