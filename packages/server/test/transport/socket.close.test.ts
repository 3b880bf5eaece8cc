import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolError } from '../../src/transport/errors.js';
import type { WebSocketServerOptions } from '../../src/transport/options.js';
import type { ServerWebSocket } from '../../src/transport/socket.js';
import {
  closeBody,
  connectRaw,
  encodeClientFrame,
  once,
  type RawPeer,
  readServerFrame,
  type StartedServer,
  startServer,
  stopServer,
  within,
} from './helpers.js';

const TEXT = 0x1;
const CLOSE = 0x8;

let servers: StartedServer[] = [];
let peers: RawPeer[] = [];

async function open(options: Omit<WebSocketServerOptions, 'port' | 'host'> = {}, headers: Record<string, string> = {}) {
  const server = await startServer({ pingIntervalMs: 0, ...options });
  servers.push(server);
  const connection = await connectRaw(server, headers);
  peers.push(connection.peer);
  const closed = once<[number, Buffer]>(connection.socket, 'close', 5_000);
  closed.catch(() => {}); // awaited by the tests that care
  return { ...connection, server, closed };
}

afterEach(async () => {
  for (const peer of peers) peer.destroy();
  await Promise.all(servers.map((server) => stopServer(server.wss)));
  servers = [];
  peers = [];
});

const codeOf = (payload: Buffer): number | undefined => (payload.length >= 2 ? payload.readUInt16BE(0) : undefined);

describe('ServerWebSocket: closing handshake started by the peer', () => {
  it('echoes the peer close code, ends TCP first and reports the code and reason', async () => {
    const { peer, closed, socket } = await open();
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(4000, 'bye') }));
    const reply = await peer.readFrame();
    expect(reply.opcode).toBe(CLOSE);
    expect(reply.masked).toBe(false);
    expect(codeOf(reply.payload)).toBe(4000);
    // RFC 6455 §7.1.1: the server closes TCP first; the peer has not ended its side.
    await peer.readToEnd();
    const [code, reason] = await closed;
    expect(code).toBe(4000);
    expect(reason.toString()).toBe('bye');
    expect(socket.state).toBe('closed');
    expect(socket.readyState).toBe(3);
  });

  it('answers an empty Close with an empty Close and reports 1005', async () => {
    const { peer, closed } = await open();
    peer.write(encodeClientFrame({ opcode: CLOSE }));
    const reply = await peer.readFrame();
    expect(reply.opcode).toBe(CLOSE);
    expect(reply.payload.length).toBe(0);
    const [code] = await closed;
    expect(code).toBe(1005);
  });

  it('ignores frames that follow the Close frame', async () => {
    const { peer, socket, closed } = await open();
    const messages: Buffer[] = [];
    socket.on('message', (data) => messages.push(data));
    peer.write(
      Buffer.concat([
        encodeClientFrame({ opcode: CLOSE, payload: closeBody(1000) }),
        encodeClientFrame({ opcode: TEXT, payload: 'late' }),
      ]),
    );
    await closed;
    expect(messages).toEqual([]);
  });

  it('fails with 1002 on a Close frame with a 1-byte payload', async () => {
    const { peer, closed } = await open();
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: Buffer.from([0x03]) }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1002);
    expect((await closed)[0]).toBe(1002);
  });

  it.each([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])(
    'fails with 1002 on the invalid close code %i from the peer',
    async (code) => {
      const { peer, socket } = await open();
      const errors: ProtocolError[] = [];
      socket.on('error', (error) => errors.push(error));
      peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(code) }));
      expect(codeOf((await peer.readFrame()).payload)).toBe(1002);
      expect(errors.map((error) => error.code)).toEqual(['INVALID_CLOSE_CODE']);
    },
  );

  it('fails with 1007 on a close reason that is not UTF-8', async () => {
    const { peer } = await open();
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1000, Buffer.from([0xed, 0xa0, 0x80])) }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1007);
  });

  it('reports 1006 when TCP drops without a Close frame', async () => {
    const { peer, closed } = await open();
    peer.destroy();
    expect((await closed)[0]).toBe(1006);
  });

  it('reports 1006 when the peer half-closes TCP without a Close frame, and closes its side too', async () => {
    const { peer, closed } = await open();
    peer.socket.end();
    expect((await closed)[0]).toBe(1006);
    await peer.waitClosed();
  });
});

describe('ServerWebSocket: closing handshake started by the server', () => {
  it('sends the code and reason, then reports the code the peer answers with', async () => {
    const { peer, socket, closed } = await open();
    socket.close(1000, 'done');
    expect(socket.state).toBe('closing');
    expect(socket.readyState).toBe(2);
    const frame = await peer.readFrame();
    expect(frame.opcode).toBe(CLOSE);
    expect(codeOf(frame.payload)).toBe(1000);
    expect(frame.payload.subarray(2).toString()).toBe('done');
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1000) }));
    await peer.readToEnd();
    expect((await closed)[0]).toBe(1000);
  });

  it('sends an empty Close for close() without a code', async () => {
    const { peer, socket } = await open();
    socket.close();
    const frame = await peer.readFrame();
    expect(frame.opcode).toBe(CLOSE);
    expect(frame.payload.length).toBe(0);
  });

  it('sends only one Close frame however often close() is called', async () => {
    const { peer, socket, closed } = await open();
    socket.close(1000);
    socket.close(4001);
    socket.close();
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1000) }));
    const wire = await peer.readToEnd();
    expect(wire.toString('hex')).toBe('880203e8');
    await closed;
  });

  it('destroys a peer that never completes the closing handshake at closeTimeoutMs', async () => {
    const { peer, socket, closed } = await open({ closeTimeoutMs: 200 });
    const started = Date.now();
    socket.close(1000);
    await peer.readFrame(); // the peer reads our Close but never answers it
    const [code] = await closed;
    const elapsed = Date.now() - started;
    expect(code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(2_000);
    await peer.waitClosed();
  });

  it('destroys the TCP connection at once on terminate()', async () => {
    const { peer, socket, closed } = await open();
    socket.terminate();
    expect((await closed)[0]).toBe(1006);
    await peer.waitClosed();
  });
});

describe('ServerWebSocket: close() argument checks', () => {
  let server: StartedServer;
  let socket: ServerWebSocket;
  let peer: RawPeer;

  beforeAll(async () => {
    server = await startServer({ pingIntervalMs: 0 });
    ({ socket, peer } = await connectRaw(server));
  });

  afterAll(async () => {
    peer.destroy();
    await stopServer(server.wss);
  });

  it('throws a TypeError for a reason that is not a string', () => {
    expect(() => socket.close(1000, new Float32Array(20) as unknown as string)).toThrow(TypeError);
    expect(() => socket.close(1000, 42 as unknown as string)).toThrow(TypeError);
  });

  it('throws a TypeError for a reason without a code', () => {
    expect(() => socket.close(undefined, 'why')).toThrow(TypeError);
  });

  it('throws a RangeError for a 124-byte reason', () => {
    expect(() => socket.close(1000, 'a'.repeat(124))).toThrow(RangeError);
  });

  it('counts the reason in UTF-8 bytes, not characters', () => {
    expect(() => socket.close(1000, 'é'.repeat(62))).toThrow(RangeError);
  });

  it.each([999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, Number.NaN])(
    'throws a RangeError for the code %d, which may not be sent',
    (code) => {
      expect(() => socket.close(code)).toThrow(RangeError);
    },
  );

  it('stays open after a refused close() call', () => {
    expect(() => socket.close(1006)).toThrow(RangeError);
    expect(socket.state).toBe('open');
  });
});

describe('ServerWebSocket: failing the connection', () => {
  it('closes with the protocol error code, emits the error and reports that code', async () => {
    const { peer, socket, closed } = await open();
    const errors: ProtocolError[] = [];
    socket.on('error', (error) => errors.push(error));
    peer.write(encodeClientFrame({ opcode: TEXT, payload: 'x', masked: false }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1002);
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1002) }));
    expect((await closed)[0]).toBe(1002);
    expect(errors.map((error) => [error.code, error.closeCode])).toEqual([['UNMASKED_FRAME', 1002]]);
  });

  it('lets go of TCP as soon as the peer completes the closing handshake after a protocol error', async () => {
    const { peer, closed } = await open({ closeTimeoutMs: 5_000 });
    peer.write(encodeClientFrame({ opcode: TEXT, payload: 'x', rsv2: true }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1002);
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1002) }));
    peer.socket.end();
    expect((await within(closed, 1_000, "the server's close event"))[0]).toBe(1002);
  });

  it('still sends a Close frame when the connection fails while close() waits behind a compressing message', async () => {
    const { peer, socket, closed } = await open(
      { perMessageDeflate: { threshold: 0, level: 9 } },
      { 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    );
    socket.send(randomBytes(8 << 20)); // takes zlib well over 100 ms
    socket.close(1000, 'bye'); // queued behind the compression
    peer.write(encodeClientFrame({ opcode: TEXT, payload: 'x', masked: false })); // arrives while zlib works
    const wire = await peer.readToEnd(5_000);
    await closed;
    const frames: number[] = [];
    for (
      let rest = wire, frame = readServerFrame(rest);
      frame;
      rest = rest.subarray(frame.size), frame = readServerFrame(rest)
    ) {
      frames.push(frame.opcode);
    }
    expect(frames).toContain(CLOSE);
  });

  it('does not throw when nobody listens for errors', async () => {
    const { peer, closed } = await open();
    peer.write(encodeClientFrame({ opcode: 0x3 }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1002);
    peer.destroy();
    await closed;
  });

  it('fails with 1007 at the first fragment holding invalid UTF-8, without waiting for the message to end', async () => {
    const { peer, socket } = await open();
    const messages: Buffer[] = [];
    socket.on('message', (data) => messages.push(data));
    peer.write(encodeClientFrame({ opcode: TEXT, payload: Buffer.from([0x68, 0x69, 0xf4, 0x90]), fin: false }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1007);
    expect(messages).toEqual([]);
  });

  it('fails with 1007 on a text message that ends inside a UTF-8 sequence', async () => {
    const { peer } = await open();
    peer.write(encodeClientFrame({ opcode: TEXT, payload: Buffer.from([0x41, 0xe2, 0x82]) }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1007);
  });

  it('fails with 1009 on a message over maxPayload', async () => {
    const { peer } = await open({ maxPayload: 100 });
    peer.write(encodeClientFrame({ opcode: TEXT, payload: 'x'.repeat(101) }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1009);
  });
});

describe('ServerWebSocket: failing a compressed message', () => {
  const DEFLATE = { 'Sec-WebSocket-Extensions': 'permessage-deflate' };
  const clientCompress = (data: Buffer): Buffer =>
    zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);

  it('closes with 1009 on a deflate bomb and lets go of TCP as soon as the peer completes the handshake', async () => {
    const { peer, closed } = await open(
      { perMessageDeflate: true, maxPayload: 64 * 1024, closeTimeoutMs: 5_000 },
      DEFLATE,
    );
    peer.write(encodeClientFrame({ opcode: TEXT, rsv1: true, payload: clientCompress(Buffer.alloc(1 << 20, 0x61)) }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1009);
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1009) }));
    peer.socket.end();
    // The handshake is complete: nothing is left to wait for, least of all closeTimeoutMs (5 s).
    const [code] = await within(closed, 1_000, "the server's close event");
    expect(code).toBe(1009);
  });

  it('closes with 1007 on corrupt compressed data and lets go of TCP as soon as the peer completes the handshake', async () => {
    const { peer, closed } = await open({ perMessageDeflate: true, closeTimeoutMs: 5_000 }, DEFLATE);
    peer.write(encodeClientFrame({ opcode: TEXT, rsv1: true, payload: Buffer.from('ff4c4a4e44450000', 'hex') }));
    expect(codeOf((await peer.readFrame()).payload)).toBe(1007);
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1007) }));
    peer.socket.end();
    const [code] = await within(closed, 1_000, "the server's close event");
    expect(code).toBe(1007);
  });

  it('closes with 1007 on a compressed text message that inflates to invalid UTF-8', async () => {
    const { peer } = await open({ perMessageDeflate: true }, DEFLATE);
    peer.write(
      encodeClientFrame({ opcode: TEXT, rsv1: true, payload: clientCompress(Buffer.from([0x61, 0xed, 0xa0, 0x80])) }),
    );
    expect(codeOf((await peer.readFrame()).payload)).toBe(1007);
  });

  it('delivers a compressed text message that inflates to valid UTF-8', async () => {
    const { peer, socket } = await open({ perMessageDeflate: true }, DEFLATE);
    const message = once<[Buffer, boolean]>(socket, 'message');
    peer.write(
      encodeClientFrame({ opcode: TEXT, rsv1: true, payload: clientCompress(Buffer.from('κόσμε '.repeat(100))) }),
    );
    const [data, isBinary] = await message;
    expect(isBinary).toBe(false);
    expect(data.toString()).toBe('κόσμε '.repeat(100));
  });
});
