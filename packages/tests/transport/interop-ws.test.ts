import type { IncomingMessage } from 'node:http';
import { deflateRawSync, constants as zlibConstants } from 'node:zlib';
import type { PerMessageDeflateOptions, ServerWebSocket } from '@switchboard/server/transport';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { once } from '../support/wait.js';
import { MiB, pseudoRandomBytes, type RunningServer, startServer, utf8Bytes } from './harness.js';
import { type ClientFrame, OP, RawPeer, type ServerFrame } from './raw-peer.js';

// `ws` 8 as the peer of our server: every size class of RFC 6455 §5.2 length
// encoding, text and binary, with and without permessage-deflate (RFC 7692).

// Headroom over 16 MiB: the parser also caps the *compressed* size (as ws does), and
// deflate's stored blocks make 16 MiB of random bytes ~1.3 KB larger.
vi.setConfig({ testTimeout: 15_000, hookTimeout: 15_000 });

const MAX_PAYLOAD = 16 * MiB + 64 * 1024;
const SIZES = [0, 125, 126, 65_535, 65_536, 16 * MiB] as const;
const KINDS = ['text', 'binary'] as const;
type Kind = (typeof KINDS)[number];

const payloads = new Map<string, Buffer>();
/** The same bytes for a (kind, size) in every suite; text is valid UTF-8 with multi-byte characters. */
function payloadFor(kind: Kind, size: number): Buffer {
  const key = `${kind}:${size}`;
  let payload = payloads.get(key);
  if (payload === undefined) {
    payload = kind === 'text' ? utf8Bytes(size, size + 1) : pseudoRandomBytes(size, size + 1);
    payloads.set(key, payload);
  }
  return payload;
}

interface DeflateCase {
  name: string;
  server: boolean | PerMessageDeflateOptions;
  client: boolean | WebSocket.PerMessageDeflateOptions;
  /** The Sec-WebSocket-Extensions response we expect, '' for none. */
  response: string;
}

const DEFLATE_CASES: DeflateCase[] = [
  { name: 'no compression', server: false, client: false, response: '' },
  {
    name: 'deflate offered by the client but off on the server',
    server: false,
    client: true,
    response: '',
  },
  {
    name: 'deflate with default parameters',
    server: { threshold: 0 },
    client: { threshold: 0 },
    response: 'permessage-deflate',
  },
  {
    name: 'deflate, client asks no_context_takeover both ways and 10-bit windows',
    server: { threshold: 0 },
    client: {
      threshold: 0,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 10,
    },
    response: 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
  },
  {
    name: 'deflate, server imposes client_no_context_takeover and 10-bit windows',
    server: { threshold: 0, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    client: true,
    response: 'permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
  },
];

interface Connected {
  ws: WebSocket;
  upgrade: IncomingMessage;
}

/** A ws client whose 'error' (e.g. a corrupt frame from the server) fails the test, not the worker. */
function newWs(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): WebSocket {
  const ws = new WebSocket(url, protocols, options);
  ws.on('error', () => {
    // ws closes the connection itself (with 1002/1007); tests see that as 'close'.
  });
  return ws;
}

async function connectWs(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<Connected> {
  const ws = newWs(url, options, protocols);
  const upgrade = once<[IncomingMessage]>(ws, 'upgrade', 5_000);
  await once(ws, 'open', 5_000);
  return { ws, upgrade: (await upgrade)[0] };
}

/** Sends one message and resolves with the echo the server sends back; rejects if the connection closes. */
async function roundTrip(ws: WebSocket, data: Buffer, binary: boolean, timeoutMs: number) {
  const reply = once<[Buffer, boolean]>(ws, 'message', timeoutMs, ['close']);
  ws.send(data, { binary });
  const [echoed, isBinary] = await reply;
  return { echoed, isBinary };
}

/**
 * Collects the next `count` messages with one persistent listener (ws may emit several
 * in one tick); rejects if the connection closes first or `timeoutMs` passes.
 */
function collectMessages(ws: WebSocket, count: number, timeoutMs: number) {
  return new Promise<Array<{ data: Buffer; isBinary: boolean }>>((resolve, reject) => {
    const got: Array<{ data: Buffer; isBinary: boolean }> = [];
    const done = (error?: Error) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (error) reject(error);
      else resolve(got);
    };
    const onMessage = (data: Buffer, isBinary: boolean) => {
      got.push({ data, isBinary });
      if (got.length === count) done();
    };
    const onClose = (code: number) => done(new Error(`closed with ${code} after ${got.length} of ${count} messages`));
    const timer = setTimeout(() => done(new Error(`timed out with ${got.length} of ${count} messages`)), timeoutMs);
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

async function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close', 5_000);
  ws.close(1000);
  await closed;
}

describe.each(DEFLATE_CASES)(
  'ws client ⇄ our server, $name',
  ({ server: serverDeflate, client: clientDeflate, response }) => {
    let server: RunningServer;
    let client: Connected;
    const received: Array<{ data: Buffer; isBinary: boolean }> = [];

    beforeAll(async () => {
      server = await startServer({ maxPayload: MAX_PAYLOAD, perMessageDeflate: serverDeflate }, (socket) => {
        socket.on('message', (data, isBinary) => {
          received.push({ data, isBinary });
          socket.send(data, { binary: isBinary });
        });
      });
      client = await connectWs(server.url, { perMessageDeflate: clientDeflate, maxPayload: MAX_PAYLOAD });
    });

    afterAll(async () => {
      await closeWs(client.ws);
      await server.stop();
    });

    it(`negotiates extensions as ${JSON.stringify(response)}`, () => {
      expect(client.upgrade.headers['sec-websocket-extensions'] ?? '').toBe(response);
      expect(client.ws.extensions).toBe(response === '' ? '' : 'permessage-deflate');
      expect(server.sockets.at(-1)?.extensions).toBe(response);
    });

    describe.each(KINDS)('%s messages', (kind) => {
      it.each(SIZES)(
        'echoes %i bytes byte-identical',
        async (size) => {
          const data = payloadFor(kind, size);
          const before = received.length;
          const { echoed, isBinary } = await roundTrip(client.ws, data, kind === 'binary', 25_000);
          expect(isBinary).toBe(kind === 'binary');
          expect(echoed.length).toBe(size);
          expect(echoed.equals(data)).toBe(true);
          // What the server's 'message' listener saw is the same bytes and kind.
          expect(received.length).toBe(before + 1);
          expect(received[before]?.isBinary).toBe(kind === 'binary');
          expect(received[before]?.data.equals(data)).toBe(true);
        },
        30_000,
      );
    });

    it('keeps order across a burst of mixed messages', async () => {
      const burst = Array.from({ length: 40 }, (_, i) => ({
        data: i % 2 === 0 ? utf8Bytes(i * 97, i) : pseudoRandomBytes(i * 131, i),
        binary: i % 2 === 1,
      }));
      const collected = collectMessages(client.ws, burst.length, 10_000);
      for (const message of burst) client.ws.send(message.data, { binary: message.binary });
      const echoes = await collected;
      expect(echoes.map((e) => e.isBinary)).toEqual(burst.map((m) => m.binary));
      expect(echoes.every((e, i) => e.data.equals((burst[i] as { data: Buffer }).data))).toBe(true);
    });
  },
);

describe.each(DEFLATE_CASES)(
  'messages the server sends in one tick, $name',
  ({ server: serverDeflate, client: clientDeflate }) => {
    it('arrive as separate, intact messages in order', async () => {
      const first = pseudoRandomBytes(300_000, 1);
      const second = Buffer.alloc(300_000, 7);
      const third = utf8Bytes(5_000, 3);
      const server = await startServer({ maxPayload: MAX_PAYLOAD, perMessageDeflate: serverDeflate }, (socket) => {
        socket.send(first);
        socket.send(second);
        socket.send(third.toString('utf8'));
      });
      const ws = newWs(server.url, { perMessageDeflate: clientDeflate });
      try {
        const got = await collectMessages(ws, 3, 10_000);
        expect(got.map((m) => m.data.length)).toEqual([first.length, second.length, third.length]);
        expect(got.map((m) => m.isBinary)).toEqual([true, true, false]);
        expect(got[0]?.data.equals(first)).toBe(true);
        expect(got[1]?.data.equals(second)).toBe(true);
        expect(got[2]?.data.equals(third)).toBe(true);
      } finally {
        ws.terminate();
        await server.stop();
      }
    });
  },
);

describe('a raw peer that closes right after its last message', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ perMessageDeflate: true });
  });
  afterAll(async () => {
    await server.stop();
  });

  const text = 'the last words before the close, repeated: '.repeat(20);
  const compressed = deflateRawSync(Buffer.from(text), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, -4);

  it.each([
    { message: 'uncompressed', ending: 'Close 1000 + FIN', closeCode: 1000 },
    { message: 'compressed', ending: 'Close 1000 + FIN', closeCode: 1000 },
    { message: 'uncompressed', ending: 'FIN alone', closeCode: 1006 },
    { message: 'compressed', ending: 'FIN alone', closeCode: 1006 },
  ])(
    '$message message then $ending in one write: the message is delivered, close code $closeCode',
    async ({ message, ending, closeCode }) => {
      const accepted = once<[ServerWebSocket]>(server.wss, 'connection', 2_000);
      const peer = await RawPeer.upgrade(server.port, { headers: ['Sec-WebSocket-Extensions: permessage-deflate'] });
      const [socket] = await accepted;
      const received: string[] = [];
      socket.on('message', (data) => received.push(data.toString('utf8')));
      const serverClosed = once<[number, Buffer]>(socket, 'close', 3_000);
      const frame: ClientFrame =
        message === 'compressed'
          ? { opcode: OP.text, payload: compressed, rsv1: true }
          : { opcode: OP.text, payload: text };
      if (ending === 'FIN alone') peer.send(frame);
      else peer.send(frame, { opcode: OP.close, payload: Buffer.from([0x03, 0xe8]) });
      peer.socket.end();
      const [code] = await serverClosed;
      peer.destroy();
      expect(received).toEqual([text]);
      expect(code).toBe(closeCode);
    },
  );
});

describe('close codes over a ws client', () => {
  let server: RunningServer;
  const REASON = 'au revoir — ünïcødé ✓ 🎉';

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([1000, 1001, 3000, 4999])(
    'client closes with %i and a UTF-8 reason: the server sees both, the client gets the code echoed',
    async (code) => {
      const { ws } = await connectWs(server.url);
      const serverSocket = server.sockets.at(-1);
      if (serverSocket === undefined) throw new Error('no server socket');
      const serverClosed = once<[number, Buffer]>(serverSocket, 'close', 5_000);
      const clientClosed = once<[number, Buffer]>(ws, 'close', 5_000);
      ws.close(code, REASON);
      const [serverCode, serverReason] = await serverClosed;
      expect(serverCode).toBe(code);
      expect(serverReason.toString('utf8')).toBe(REASON);
      const [clientCode] = await clientClosed;
      expect(clientCode).toBe(code);
    },
  );

  it.each([1000, 1001, 4000])('server closes with %i and a UTF-8 reason: the client sees both', async (code) => {
    const { ws } = await connectWs(server.url);
    const serverSocket = server.sockets.at(-1);
    if (serverSocket === undefined) throw new Error('no server socket');
    const serverClosed = once<[number, Buffer]>(serverSocket, 'close', 5_000);
    const clientClosed = once<[number, Buffer]>(ws, 'close', 5_000);
    serverSocket.close(code, REASON);
    const [clientCode, clientReason] = await clientClosed;
    expect(clientCode).toBe(code);
    expect(clientReason.toString('utf8')).toBe(REASON);
    // ws echoes the code; the server reports the peer's Close.
    const [serverCode] = await serverClosed;
    expect(serverCode).toBe(code);
  });
});

describe('subprotocol selection seen by a ws client', () => {
  it.each([
    { offered: ['chat.v2', 'chat.v1'], pick: undefined, expected: 'chat.v2' },
    { offered: ['chat.v2', 'chat.v1'], pick: 'chat.v1', expected: 'chat.v1' },
    { offered: [] as string[], pick: undefined, expected: '' },
  ])('offers $offered, server picks $pick → ws.protocol is "$expected"', async ({ offered, pick, expected }) => {
    const server = await startServer(pick === undefined ? {} : { handleProtocols: () => pick });
    try {
      const { ws, upgrade } = await connectWs(server.url, {}, offered);
      expect(ws.protocol).toBe(expected);
      expect(upgrade.headers['sec-websocket-protocol'] ?? '').toBe(expected);
      expect(server.sockets.at(-1)?.protocol).toBe(expected);
      await closeWs(ws);
    } finally {
      await server.stop();
    }
  });
});

describe('a raw TCP peer and ws agree', () => {
  const cases = KINDS.flatMap((kind) => [0, 125, 126, 65_535, 65_536, MiB].map((size) => ({ kind, size })));
  let server: RunningServer;
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];

  beforeAll(async () => {
    server = await startServer({ maxPayload: MAX_PAYLOAD }, (socket) => {
      socket.on('message', (data, isBinary) => {
        received.push({ data, isBinary });
        socket.send(data, { binary: isBinary });
      });
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each(cases)('$kind, $size bytes: same echo and same server-side message', async ({ kind, size }) => {
    const data = payloadFor(kind, size);
    const binary = kind === 'binary';

    const { ws } = await connectWs(server.url);
    const viaWs = await roundTrip(ws, data, binary, 10_000);
    await closeWs(ws);

    // The raw peer sends the same message in three fragments, split at odd offsets.
    const peer = await RawPeer.upgrade(server.port);
    const a = Math.floor(size / 3);
    const b = Math.floor((2 * size) / 3) + (size > 2 ? 1 : 0);
    peer.send(
      { opcode: binary ? OP.binary : OP.text, payload: data.subarray(0, a), fin: false },
      { opcode: OP.continuation, payload: data.subarray(a, b), fin: false },
      { opcode: OP.continuation, payload: data.subarray(b) },
    );
    const frame: ServerFrame = await peer.nextFrame(10_000);
    peer.send({ opcode: OP.close, payload: Buffer.from([0x03, 0xe8]) });
    const close = await peer.closeFrame(5_000);
    peer.destroy();

    expect(viaWs.isBinary).toBe(binary);
    expect(viaWs.echoed.equals(data)).toBe(true);
    // RFC 6455 §5.1: the server does not mask; one unfragmented frame, no RSV bits.
    expect(frame).toMatchObject({ fin: true, rsv1: false, rsv2: false, rsv3: false, masked: false });
    expect(frame.opcode).toBe(binary ? OP.binary : OP.text);
    expect(frame.payload.equals(viaWs.echoed)).toBe(true);
    expect(close.code).toBe(1000);

    const [fromWs, fromRaw] = received.slice(-2);
    expect(fromWs?.isBinary).toBe(binary);
    expect(fromRaw?.isBinary).toBe(binary);
    expect(fromWs?.data.equals(data)).toBe(true);
    expect(fromRaw?.data.equals(data)).toBe(true);
  });
});
