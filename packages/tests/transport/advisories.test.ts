import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createDeflateRaw, deflateRawSync, constants as zlibConstants } from 'node:zlib';
import { type ServerWebSocket, WebSocketServer } from '@switchboard/server/transport';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { once, within } from '../support/wait.js';
import {
  echo,
  failOnUncaughtException,
  MiB,
  memoryInUse,
  pseudoRandomBytes,
  type RunningServer,
  startServer,
} from './harness.js';
import { type ClientFrame, newKey, OP, RawPeer, rawConnect, rawHttp, upgradeRequest } from './raw-peer.js';

// Regressions for the transport advisories of shared/research/reliability.md §1,
// each test named after its advisory. Peers are raw TCP so every byte is ours.

vi.setConfig({ testTimeout: 20_000, hookTimeout: 20_000 });

// CVE-2022-21676 and friends: no peer input may throw out of the socket path.
failOnUncaughtException();

const DEFLATE_OFFER = 'Sec-WebSocket-Extensions: permessage-deflate';

/** RFC 7692 §7.2.1: a compressed payload as a client sends it (sync flush, trailer stripped). */
function compress(data: Buffer): Buffer {
  const out = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/** `totalBytes` of zeros as one compressed message, built from a single reused 1 MiB buffer. */
async function compressedZeros(totalBytes: number): Promise<Buffer> {
  const deflate = createDeflateRaw();
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < totalBytes; written += MiB) deflate.write(zeros);
  const flushed = new Promise<void>((resolve) => deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
  await within(flushed, 5_000, 'the bomb to be compressed');
  deflate.close();
  const out = Buffer.concat(chunks);
  return out.subarray(0, out.length - 4);
}

/** A WebSocketServer attached to our own http.Server (so header-size limits are ours to set). */
async function startAttached(maxHeaderSize: number): Promise<{ port: number; stop(): Promise<void> }> {
  const http: Server = createServer({ maxHeaderSize });
  const wss = new WebSocketServer({ server: http, perMessageDeflate: true });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening', 2_000);
  return {
    port: (http.address() as AddressInfo).port,
    async stop() {
      wss.close();
      http.closeAllConnections();
      http.close();
      await once(http, 'close', 2_000);
    },
  };
}

/** Sends a handshake with one extra header; how long until the response head arrived. */
async function timeToResponse(port: number, header: string) {
  const started = performance.now();
  const peer = await RawPeer.open(port, { headers: [header], timeoutMs: 3_000 });
  const elapsedMs = performance.now() - started;
  peer.destroy();
  return { status: peer.response.status, extensions: peer.response.headers.get('sec-websocket-extensions'), elapsedMs };
}

/** The server is still healthy: a fresh handshake and an echo work. */
async function assertServerAlive(server: RunningServer): Promise<void> {
  const peer = await RawPeer.upgrade(server.port);
  peer.send({ opcode: OP.text, payload: 'still here' });
  const frame = await peer.nextFrame(2_000);
  expect(frame.payload.toString()).toBe('still here');
  peer.destroy();
}

describe('handshake advisories', () => {
  let server: RunningServer;
  const connections = vi.fn();

  beforeAll(async () => {
    server = await startServer({ perMessageDeflate: true }, (socket) => {
      connections(socket);
      echo(socket);
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('CVE-2024-37890: 2,001 headers with Upgrade last get 400 and the process lives', async () => {
    const filler = 'a: b\r\n'.repeat(1996); // Host, Connection, Key, Version + 1,996 = 2,000; Upgrade is #2,001
    const request =
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${newKey()}\r\nSec-WebSocket-Version: 13\r\n${filler}Upgrade: websocket\r\n\r\n`;
    expect(request.length).toBeLessThan(16 * 1024); // under Node's header-size limit: the upgrade path runs
    const result = await rawHttp(server.port, request, 3_000);
    expect(result.statuses).toEqual([400]);
    expect(result.closed).toBe(true);
    expect(connections).not.toHaveBeenCalled();
    await assertServerAlive(server);
  });

  it("CVE-2024-37890: 10,000 headers (>16 KiB) get Node's 431 and no upgrade runs", async () => {
    const before = connections.mock.calls.length;
    const request = upgradeRequest({ headers: Array.from({ length: 10_000 }, () => 'a: b') });
    expect(request.length).toBeGreaterThan(16 * 1024);
    const result = await rawHttp(server.port, request, 3_000);
    expect(result.statuses).toEqual([431]);
    expect(result.closed).toBe(true);
    expect(connections.mock.calls.length).toBe(before);
    await assertServerAlive(server);
  });

  it('CVE-2020-28481: Origin https://evil.example with a cookie gets 403 against an origins allowlist', async () => {
    const guarded = await startServer({ origins: ['https://app.example'] });
    try {
      for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'null']) {
        const result = await rawHttp(
          guarded.port,
          upgradeRequest({ headers: [`Origin: ${origin}`, 'Cookie: session=secret'] }),
          3_000,
        );
        expect(result.statuses, origin).toEqual([403]);
        expect(result.closed).toBe(true);
      }
      const noOrigin = await rawHttp(guarded.port, upgradeRequest({ headers: ['Cookie: session=secret'] }), 3_000);
      expect(noOrigin.statuses).toEqual([403]);
      const allowed = await RawPeer.upgrade(guarded.port, { headers: ['Origin: https://app.example'] });
      allowed.destroy();
      expect(guarded.sockets).toHaveLength(1);
    } finally {
      await guarded.stop();
    }
  });

  it.each([
    {
      name: 'Sec-WebSocket-Version: 12 (426)',
      status: 426,
      headers: ['Sec-WebSocket-Version: 12'],
      omit: ['sec-websocket-version'],
    },
    {
      name: 'a bad Sec-WebSocket-Key (400)',
      status: 400,
      headers: ['Sec-WebSocket-Key: short'],
      omit: ['sec-websocket-key'],
    },
    {
      name: 'a malformed Sec-WebSocket-Protocol (400)',
      status: 400,
      headers: ['Sec-WebSocket-Protocol: a b'],
      omit: [],
    },
  ])(
    'WebSocket smuggling (0ang3el): after refusing $name, a pipelined second request is not served and the socket closes',
    async ({ status, headers, omit }) => {
      const smuggled = 'GET /internal/admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      const result = await rawHttp(server.port, upgradeRequest({ headers, omit }) + smuggled, 3_000);
      expect(result.statuses).toEqual([status]);
      expect(result.text).toMatch(/\r\nConnection: close\r\n/i);
      expect(result.closed).toBe(true);
    },
  );

  it('WebSocket smuggling (0ang3el): Upgrade without Connection: Upgrade gets one 426 and a pipelined request is not served', async () => {
    // Node does not raise 'upgrade' without `Connection: Upgrade`; the standalone server's plain
    // request handler answers 426. reliability.md §1: any refused upgrade ends with Connection: close.
    const first = upgradeRequest({ omit: ['connection'] });
    const smuggled = 'GET /internal/admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const result = await rawHttp(server.port, first + smuggled, 1_000);
    expect(result.statuses).toEqual([426]);
    expect(result.closed).toBe(true);
  });

  it('CVE-2018-12122: slowloris headers at 1 byte per 50 ms are cut off near handshakeTimeoutMs', async () => {
    const slow = await startServer({ handshakeTimeoutMs: 500 });
    const socket: Socket = await rawConnect(slow.port);
    const request = Buffer.from(upgradeRequest(), 'latin1'); // ~150 bytes: 7.5 s at this pace
    let sent = 0;
    const started = performance.now();
    const dribble = setInterval(() => {
      if (sent < request.length && !socket.destroyed) socket.write(request.subarray(sent, ++sent));
    }, 50);
    try {
      // Node checks header deadlines every connectionsCheckingInterval (our server: 250 ms here).
      await once(socket, 'close', 5_000);
      const elapsedMs = performance.now() - started;
      expect(elapsedMs).toBeGreaterThanOrEqual(400);
      expect(elapsedMs).toBeLessThan(2_000);
      expect(sent).toBeLessThan(request.length);
      expect(slow.sockets).toHaveLength(0);
    } finally {
      clearInterval(dribble);
      socket.destroy();
      await slow.stop();
    }
  });
});

describe('header-parser advisories (attached to an http.Server allowing 64 KiB of headers)', () => {
  let attached: { port: number; stop(): Promise<void> };
  beforeAll(async () => {
    attached = await startAttached(64 * 1024);
  });
  afterAll(async () => {
    await attached.stop();
  });

  it.each([16 * 1024, 48 * 1024])(
    "CVE-2021-32640: Sec-WebSocket-Protocol 'b' + %i spaces + 'x' is refused fast (no ReDoS)",
    async (spaces) => {
      const { status, elapsedMs } = await timeToResponse(
        attached.port,
        `Sec-WebSocket-Protocol: b${' '.repeat(spaces)}x`,
      );
      expect(status).toBe(400);
      expect(elapsedMs).toBeLessThan(250);
    },
  );

  it.each([
    ['unclosed quoted backslashes', `permessage-deflate; x="${'\\'.repeat(16 * 1024)}`],
    ['unclosed quoted backslash pairs', `permessage-deflate; x="${'\\"'.repeat(8 * 1024)}`],
    ['16 KiB of spaces between params', `permessage-deflate;${' '.repeat(16 * 1024)};x`],
    ['16 KiB of empty list elements', `${', '.repeat(8 * 1024)}permessage-deflate; client_max_window_bits=1`],
  ])('CVE-2020-7662/7663: Sec-WebSocket-Extensions with %s is answered fast (no ReDoS)', async (_name, value) => {
    const { status, extensions, elapsedMs } = await timeToResponse(attached.port, `Sec-WebSocket-Extensions: ${value}`);
    // Bad syntax is a 400; a well-formed but unacceptable offer is declined (101 without the extension).
    expect([101, 400]).toContain(status);
    expect(extensions).toBeUndefined();
    expect(elapsedMs).toBeLessThan(250);
  });
});

describe('extension negotiation advisories', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ perMessageDeflate: true });
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ['constructor', ''],
    ['__proto__', ''],
    ['hasOwnProperty', ''],
    ['permessage-deflate; constructor', ''],
    ['permessage-deflate; __proto__=1', ''],
    ['permessage-deflate; hasOwnProperty; toString="x"', ''],
    ['permessage-deflate; client_max_window_bits=__proto__', ''],
    ['constructor; __proto__, permessage-deflate', 'permessage-deflate'],
  ])(
    'ws 3.3.1: Sec-WebSocket-Extensions "%s" does not crash and is declined (response "%s")',
    async (offer, expected) => {
      const peer = await RawPeer.upgrade(server.port, { headers: [`Sec-WebSocket-Extensions: ${offer}`] });
      expect(peer.response.headers.get('sec-websocket-extensions') ?? '').toBe(expected);
      expect(Object.keys(Object.prototype)).toEqual([]);
      // Still a working connection.
      peer.send({ opcode: OP.text, payload: 'ok' });
      expect((await peer.nextFrame(2_000)).payload.toString()).toBe('ok');
      peer.destroy();
    },
  );

  it('RFC 7692 §7 (ws 3.3.1): a duplicate client_max_window_bits is declined and the next offer accepted', async () => {
    const duplicate = await RawPeer.upgrade(server.port, {
      headers: ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; client_max_window_bits=10'],
    });
    expect(duplicate.response.headers.get('sec-websocket-extensions')).toBeUndefined();
    duplicate.destroy();
    const fallback = await RawPeer.upgrade(server.port, {
      headers: [
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10; client_max_window_bits=10, permessage-deflate',
      ],
    });
    expect(fallback.response.headers.get('sec-websocket-extensions')).toBe('permessage-deflate');
    fallback.destroy();
  });
});

describe('outbound-bytes advisories', () => {
  let server: RunningServer;
  let accepted: Promise<[ServerWebSocket]>;
  beforeAll(async () => {
    server = await startServer({}, () => {});
  });
  afterAll(async () => {
    await server.stop();
  });
  const connect = async () => {
    accepted = once<[ServerWebSocket]>(server.wss, 'connection', 2_000);
    const peer = await RawPeer.upgrade(server.port);
    const [socket] = await accepted;
    return { peer, socket };
  };

  it('ws 1.0.1: ping(50) sends the text "50", never 50 allocated bytes', async () => {
    const { peer, socket } = await connect();
    socket.ping(50);
    const frame = await peer.nextFrame(2_000);
    expect(frame.opcode).toBe(OP.ping);
    expect(frame.payload.toString('latin1')).toBe('50');
    peer.destroy();
  });

  it('GHSA-58qx-3vcg-4xpx / CVE-2026-45736: close(1000, new Float32Array(20)) throws a TypeError and sends nothing', async () => {
    const { peer, socket } = await connect();
    expect(() => socket.close(1000, new Float32Array(20) as unknown as string)).toThrow(TypeError);
    expect(socket.readyState).toBe(1);
    // The next frame on the wire is the clean close, with no stale bytes anywhere.
    socket.close(1000);
    const frame = await peer.nextFrame(2_000);
    expect(frame.opcode).toBe(OP.close);
    expect([...frame.payload]).toEqual([0x03, 0xe8]);
    peer.destroy();
  });
});

describe('inbound-frame advisories', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ maxPayload: MiB });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('CVE-2016-10542: a 64-bit length of 2^62 gets 1009 with a heap delta under 1 MiB', async () => {
    const peer = await RawPeer.upgrade(server.port);
    const before = memoryInUse();
    peer.send({ opcode: OP.binary, declaredLength: 2n ** 62n, payload: Buffer.alloc(64) });
    const close = await peer.closeFrame(2_000);
    const delta = memoryInUse() - before;
    expect(close.code).toBe(1009);
    expect(delta).toBeLessThan(MiB);
    await peer.tcpClose(2_000);
  });

  it.each<{ name: string; frame: ClientFrame }>([
    { name: 'RSV1 without a negotiated extension', frame: { opcode: OP.text, payload: 'x', rsv1: true } },
    { name: 'RSV2 on a text frame', frame: { opcode: OP.text, payload: 'x', rsv2: true } },
    { name: 'RSV3 on a binary frame', frame: { opcode: OP.binary, payload: 'x', rsv3: true } },
    { name: 'RSV2+RSV3 on a ping', frame: { opcode: OP.ping, rsv2: true, rsv3: true } },
    ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
      name: `reserved opcode 0x${opcode.toString(16)}`,
      frame: { opcode, payload: 'x' },
    })),
  ])('CVE-2022-21676: $name gets 1002 and throws nothing', async ({ frame }) => {
    const peer = await RawPeer.upgrade(server.port);
    peer.send(frame);
    const close = await peer.closeFrame(2_000);
    expect(close.code).toBe(1002);
    await peer.tcpClose(2_000);
  });

  it('CVE-2026-48779 / GHSA-96hv-2xvq-fx4p: 100 connections of endless 1-byte continuations are each closed 1009 at maxFragments, memory flat', async () => {
    const CONNECTIONS = 100;
    const MAX_FRAGMENTS = 1024; // the server default
    const ENDLESS = 5_000; // how many fragments an attacker would send in all
    const fragmented = await startServer({ maxPayload: 16 * MiB });
    const baseline = memoryInUse();
    const rssBaseline = process.memoryUsage().rss;
    try {
      const peers = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawPeer.upgrade(fragmented.port)));
      const one = Buffer.from([0x61]);
      const continuation = (count: number) =>
        Array.from({ length: count }, () => ({ opcode: OP.continuation, payload: one, fin: false }) as ClientFrame);

      // Exactly maxFragments frames, then a ping: the pong proves the cap is not hit early.
      for (const peer of peers) {
        peer.send({ opcode: OP.binary, payload: one, fin: false }, ...continuation(MAX_FRAGMENTS - 1), {
          opcode: OP.ping,
          payload: 'p',
        });
      }
      for (const peer of peers) expect((await peer.nextFrame(5_000)).opcode).toBe(OP.pong);
      const pinned = memoryInUse() - baseline;

      // Fragment maxFragments + 1, then keep going as an attacker would (bounded).
      for (const peer of peers) {
        peer.send(...continuation(1));
        for (let sent = MAX_FRAGMENTS + 1; sent < ENDLESS && !peer.socket.destroyed; sent += 500) {
          peer.send(...continuation(Math.min(500, ENDLESS - sent)));
        }
      }
      const closes = await Promise.all(peers.map((peer) => peer.closeFrame(5_000)));
      expect(closes.map((close) => close.code)).toEqual(Array(CONNECTIONS).fill(1009));
      await Promise.all(peers.map((peer) => peer.tcpClose(5_000)));

      // 100 × 1,024 one-byte fragments: a few MiB at most while pinned, and freed after.
      expect(pinned).toBeLessThan(32 * MiB);
      expect(process.memoryUsage().rss - rssBaseline).toBeLessThan(128 * MiB);
      expect(memoryInUse() - baseline).toBeLessThan(16 * MiB);
    } finally {
      await fragmented.stop();
    }
  });
});

describe('permessage-deflate advisories', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ maxPayload: MiB, perMessageDeflate: true });
  });
  afterAll(async () => {
    await server.stop();
  });

  const deflatePeer = async (port = server.port) => {
    const peer = await RawPeer.upgrade(port, { headers: [DEFLATE_OFFER] });
    expect(peer.response.headers.get('sec-websocket-extensions')).toBe('permessage-deflate');
    return peer;
  };

  it('ws#1202 / RFC 7692 zip bomb: 64 MiB of zeros in one ~64 KiB message gets 1009, heap under maxPayload + 8 MiB', async () => {
    // Deflate tops out near 1032:1, so 64 MiB of zeros cannot fit in 1 KiB; ~64 KiB is the real bomb.
    // maxPayload is 8 MiB so that inflation runs long enough to be watched.
    const maxPayload = 8 * MiB;
    const bombed = await startServer({ maxPayload, perMessageDeflate: true });
    const bomb = await compressedZeros(64 * MiB);
    expect(bomb.length).toBeLessThan(maxPayload); // passes the frame-size check: only inflation can stop it
    const peer = await deflatePeer(bombed.port);
    const baseline = memoryInUse();
    const samples: number[] = [];
    const sample = () => {
      const usage = process.memoryUsage();
      samples.push(usage.heapUsed + usage.external - baseline);
    };
    const sampler = setInterval(sample, 1);
    try {
      peer.send({ opcode: OP.binary, payload: bomb, rsv1: true });
      const close = await peer.closeFrame(5_000);
      sample(); // before any GC: what inflation left behind is still counted
      expect(close.code).toBe(1009);
    } finally {
      clearInterval(sampler);
      peer.destroy();
      await bombed.stop();
    }
    expect(Math.max(...samples)).toBeLessThan(maxPayload + 8 * MiB);
  });

  it('ws receiver: corrupt deflate data gets 1007', async () => {
    const peer = await deflatePeer();
    peer.send({ opcode: OP.text, payload: Buffer.from([0xff, 0xff, 0xff, 0xff]), rsv1: true });
    const close = await peer.closeFrame(2_000);
    expect(close.code).toBe(1007);
    peer.destroy();
  });

  it('ws receiver: after corrupt deflate data (1007) the server lets go of the TCP connection promptly, not at closeTimeoutMs', async () => {
    const lingering = await startServer({ perMessageDeflate: true, closeTimeoutMs: 5_000 });
    try {
      const peer = await deflatePeer(lingering.port);
      const [socket] = lingering.sockets;
      if (socket === undefined) throw new Error('no server socket');
      peer.send({ opcode: OP.text, payload: Buffer.from([0xff, 0xff, 0xff, 0xff]), rsv1: true });
      expect((await peer.closeFrame(2_000)).code).toBe(1007);
      // The peer completes the closing handshake at once (RFC 6455 §7.1.2) and half-closes.
      const serverClosed = once<[number]>(socket, 'close', 2_500);
      peer.send({ opcode: OP.close, payload: Buffer.from([0x03, 0xef]) });
      peer.socket.end();
      await peer.tcpClose(2_000);
      // A server that reads the peer's Close and FIN is done in milliseconds, not at closeTimeoutMs (5 s).
      const [code] = await serverClosed;
      expect(code).toBe(1007);
    } finally {
      await lingering.stop();
    }
  });

  it.each<{ name: string; frames: ClientFrame[] }>([
    {
      name: 'a continuation frame',
      frames: [
        { opcode: OP.text, payload: compress(Buffer.from('hello ')), rsv1: true, fin: false },
        { opcode: OP.continuation, payload: compress(Buffer.from('world')), rsv1: true },
      ],
    },
    { name: 'a ping', frames: [{ opcode: OP.ping, payload: 'p', rsv1: true }] },
    { name: 'a close frame', frames: [{ opcode: OP.close, payload: Buffer.from([0x03, 0xe8]), rsv1: true }] },
  ])('RFC 7692 §6: RSV1 on $name with deflate negotiated gets 1002', async ({ frames }) => {
    const peer = await deflatePeer();
    peer.send(...frames);
    expect((await peer.closeFrame(2_000)).code).toBe(1002);
    peer.destroy();
  });

  it('ws#1617: 1,000 compressed connections dropped mid-message leave the zlib limiter free', async () => {
    const churn = await startServer({ maxPayload: MiB, perMessageDeflate: { threshold: 0 } });
    try {
      const counts = { closed: 0, messages: 0 };
      const allClosed = new Promise<void>((resolve) => {
        churn.wss.on('connection', (socket) => {
          socket.on('message', () => counts.messages++);
          socket.on('close', () => {
            if (++counts.closed === 1_000) resolve();
          });
        });
      });
      const message = compress(Buffer.alloc(256 * 1024)); // inflate and echo-deflate: a limiter job each
      const halfMessage = { opcode: OP.binary, payload: message.subarray(0, 100), rsv1: true, fin: false };
      let echoed = 0;
      for (let batch = 0; batch < 10; batch++) {
        const peers = await Promise.all(Array.from({ length: 100 }, () => deflatePeer(churn.port)));
        const drops = peers.map(async (peer, i) => {
          if (i % 3 === 0) {
            // A whole message; once its echo is back, half of the next one, then RST.
            peer.send({ opcode: OP.binary, payload: message, rsv1: true });
            await peer.nextFrame(10_000);
            echoed++;
            peer.send(halfMessage);
          } else if (i % 3 === 1) {
            // A whole message and half of the next, then RST at once: jobs may still be queued.
            peer.send({ opcode: OP.binary, payload: message, rsv1: true }, halfMessage);
          } else {
            // A frame header promising 1,000 compressed bytes, and 10 of them.
            peer.send(
              Buffer.concat([Buffer.from([0xc2, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4]), pseudoRandomBytes(10, i)]),
            );
          }
          peer.socket.resetAndDestroy();
        });
        await Promise.all(drops);
      }
      await within(allClosed, 15_000, 'every dropped connection to be closed on the server');
      expect(echoed).toBe(340);
      expect(counts.messages).toBeGreaterThanOrEqual(340);

      // The limiter is free: a new compressed echo goes through at once.
      const ws = new WebSocket(churn.url, { perMessageDeflate: { threshold: 0 } });
      ws.on('error', () => {});
      await once(ws, 'open', 5_000);
      const data = pseudoRandomBytes(64 * 1024, 42);
      const reply = once<[Buffer]>(ws, 'message', 5_000, ['close']);
      ws.send(data);
      const [echo] = await reply;
      expect(echo.equals(data)).toBe(true);
      ws.terminate();
    } finally {
      await churn.stop();
    }
  });

  it('ws#1617: a socket terminated mid-compression (server_no_context_takeover) throws no uncaught zlib error', async () => {
    const resetting = await startServer(
      { perMessageDeflate: { threshold: 0, serverNoContextTakeover: true } },
      (socket) => {
        socket.send(pseudoRandomBytes(2 * MiB, 3));
        socket.terminate();
      },
    );
    try {
      const peer = await RawPeer.upgrade(resetting.port, { headers: [DEFLATE_OFFER] });
      await peer.tcpClose(2_000);
      // The compression job finishes on the thread pool after the socket is gone; that
      // callback must not throw. Allow it ample time to run (it takes ~50 ms).
      await expect(once(process, 'uncaughtException', 1_500)).rejects.toThrow(/timed out/);
    } finally {
      await resetting.stop();
    }
  });

  it('ws#1617: a socket terminated mid-inflation (client_no_context_takeover) throws no uncaught zlib error', async () => {
    const resetting = await startServer(
      { maxPayload: 64 * MiB, perMessageDeflate: { clientNoContextTakeover: true } },
      (socket) => socket.on('message', () => socket.terminate()),
    );
    try {
      const peer = await RawPeer.upgrade(resetting.port, { headers: [DEFLATE_OFFER] });
      // An uncompressed 'x' whose listener terminates the socket, then (same write) a
      // compressed message whose inflation is under way when the socket closes.
      peer.send(
        { opcode: OP.text, payload: 'x' },
        { opcode: OP.binary, payload: compress(Buffer.alloc(32 * MiB)), rsv1: true },
      );
      await peer.tcpClose(2_000);
      await expect(once(process, 'uncaughtException', 1_500)).rejects.toThrow(/timed out/);
    } finally {
      await resetting.stop();
    }
  });
});
