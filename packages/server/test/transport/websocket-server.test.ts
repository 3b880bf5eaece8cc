import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ProtocolError } from '../../src/transport/errors.js';
import type { VerifyClientInfo, WebSocketServerOptions } from '../../src/transport/options.js';
import type { ServerWebSocket } from '../../src/transport/socket.js';
import { WebSocketServer } from '../../src/transport/websocket-server.js';
import {
  closeBody,
  connectRaw,
  encodeClientFrame,
  once,
  RawPeer,
  type StartedServer,
  startServer,
  stopServer,
  within,
} from './helpers.js';

const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

let servers: WebSocketServer[] = [];
let httpServers: Server[] = [];
let peers: RawPeer[] = [];
let clients: WebSocket[] = [];

async function start(options: Omit<WebSocketServerOptions, 'port' | 'host'> = {}): Promise<StartedServer> {
  const server = await startServer({ pingIntervalMs: 0, ...options });
  servers.push(server.wss);
  return server;
}

async function upgrade(port: number, path = '/', headers: Record<string, string> = {}) {
  const [peer, head] = await RawPeer.upgrade(port, path, headers);
  peers.push(peer);
  return { peer, head };
}

async function listen(server: Server): Promise<number> {
  httpServers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function wsClient(url: string, protocols?: string | string[], options: WebSocket.ClientOptions = {}): WebSocket {
  const client = new WebSocket(url, protocols, options);
  client.on('error', () => {});
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const peer of peers) peer.destroy();
  for (const client of clients) client.terminate();
  await Promise.all(servers.map((wss) => stopServer(wss)));
  for (const server of httpServers) server.close();
  servers = [];
  httpServers = [];
  peers = [];
  clients = [];
  vi.restoreAllMocks();
});

describe('WebSocketServer: the opening handshake', () => {
  it('answers a valid upgrade with 101 and the RFC 6455 accept value', async () => {
    const { port } = await start();
    const { head } = await upgrade(port);
    expect(head.status).toBe(101);
    expect(head.headers.upgrade).toBe('websocket');
    expect(head.headers.connection).toBe('Upgrade');
    expect(head.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(head.headers['sec-websocket-protocol']).toBeUndefined();
    expect(head.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('refuses a request without a key with 400 and closes the connection', async () => {
    const { port } = await start();
    const { peer, head } = await upgrade(port, '/', { 'Sec-WebSocket-Key': '' });
    expect(head.status).toBe(400);
    expect(head.headers.connection).toBe('close');
    await peer.waitClosed();
  });

  it('refuses an unknown Sec-WebSocket-Version with 426 naming version 13', async () => {
    const { port } = await start();
    const { head } = await upgrade(port, '/', { 'Sec-WebSocket-Version': '8' });
    expect(head.status).toBe(426);
    expect(head.headers['sec-websocket-version']).toBe('13');
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const { port } = await start();
    const peer = await RawPeer.connect(port);
    peers.push(peer);
    peer.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const head = await peer.readHead();
    expect(head.status).toBe(426);
    expect(head.headers.upgrade).toBe('websocket');
  });

  it('lets a headers listener add response headers', async () => {
    const { port, wss } = await start();
    wss.on('headers', (headers) => headers.push('X-Served-By: switchboard'));
    const { head } = await upgrade(port);
    expect(head.headers['x-served-by']).toBe('switchboard');
  });

  it('negotiates permessage-deflate when enabled and offered', async () => {
    const { port, wss } = await start({ perMessageDeflate: true });
    const connection = once<[ServerWebSocket]>(wss, 'connection');
    const { head } = await upgrade(port, '/', {
      'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    });
    expect(head.headers['sec-websocket-extensions']).toBe('permessage-deflate');
    expect((await connection)[0].extensions).toBe('permessage-deflate');
  });

  it('ignores a permessage-deflate offer when compression is off', async () => {
    const { port } = await start();
    const { head } = await upgrade(port, '/', { 'Sec-WebSocket-Extensions': 'permessage-deflate' });
    expect(head.status).toBe(101);
    expect(head.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('cuts off a client whose request headers never finish, at about handshakeTimeoutMs', async () => {
    const { port } = await start({ handshakeTimeoutMs: 300 });
    const peer = await RawPeer.connect(port);
    peers.push(peer);
    peer.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await peer.waitClosed(3_000);
  });
});

describe('WebSocketServer: path', () => {
  it('refuses an upgrade for another path with 400', async () => {
    const { port } = await start({ path: '/ws' });
    expect((await upgrade(port, '/other')).head.status).toBe(400);
    expect((await upgrade(port, '/ws/')).head.status).toBe(400);
  });

  it('accepts its path, ignoring the query string', async () => {
    const { port } = await start({ path: '/ws' });
    expect((await upgrade(port, '/ws')).head.status).toBe(101);
    expect((await upgrade(port, '/ws?token=abc')).head.status).toBe(101);
  });

  it('reports which requests it handles', () => {
    const wss = new WebSocketServer({ noServer: true, path: '/ws' });
    expect(wss.shouldHandle({ url: '/ws?x=1' } as IncomingMessage)).toBe(true);
    expect(wss.shouldHandle({ url: '/other' } as IncomingMessage)).toBe(false);
  });
});

describe('WebSocketServer: origins', () => {
  it('accepts an allowed origin with 101', async () => {
    const { port } = await start({ origins: ['https://good.example'] });
    expect((await upgrade(port, '/', { Origin: 'https://good.example' })).head.status).toBe(101);
  });

  it('refuses any other origin with 403', async () => {
    const { port } = await start({ origins: ['https://good.example'] });
    expect((await upgrade(port, '/', { Origin: 'https://evil.example' })).head.status).toBe(403);
    expect((await upgrade(port, '/', { Origin: 'https://good.example.evil' })).head.status).toBe(403);
  });

  it('refuses a request without an Origin header when an allowlist is set', async () => {
    const { port } = await start({ origins: ['https://good.example'] });
    expect((await upgrade(port)).head.status).toBe(403);
  });
});

describe('WebSocketServer: verifyClient', () => {
  it('refuses with 401 when a synchronous verifyClient returns false', async () => {
    const { port } = await start({ verifyClient: () => false });
    const { head } = await upgrade(port);
    expect(head.status).toBe(401);
  });

  it('accepts when a synchronous verifyClient returns true, and tells it the origin and request', async () => {
    const seen: Array<{ origin: string | undefined; secure: boolean; url: string | undefined }> = [];
    const { port } = await start({
      verifyClient: (info: VerifyClientInfo) => {
        seen.push({ origin: info.origin, secure: info.secure, url: info.req.url });
        return true;
      },
    });
    expect((await upgrade(port, '/chat?room=1', { Origin: 'https://app.example' })).head.status).toBe(101);
    expect(seen).toEqual([{ origin: 'https://app.example', secure: false, url: '/chat?room=1' }]);
  });

  it('waits for an asynchronous verifyClient', async () => {
    const { port } = await start({
      verifyClient: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return true;
      },
    });
    expect((await upgrade(port)).head.status).toBe(101);
  });

  it('refuses with 401 when an asynchronous verifyClient resolves false, and 500 when it rejects', async () => {
    const { port } = await start({
      verifyClient: async (info: VerifyClientInfo) => (info.origin === 'x' ? Promise.reject(new Error('boom')) : false),
    });
    expect((await upgrade(port)).head.status).toBe(401);
    expect((await upgrade(port, '/', { Origin: 'x' })).head.status).toBe(500);
  });

  it('refuses with the code, message and headers a callback-style verifyClient gives', async () => {
    const { port } = await start({
      verifyClient: (_info, callback) =>
        setTimeout(() => callback(false, 403, 'not on the list', { 'X-Reason': 'policy' }), 10),
    });
    const { peer, head } = await upgrade(port);
    expect(head.status).toBe(403);
    expect(head.headers['x-reason']).toBe('policy');
    expect((await peer.readToEnd()).toString()).toBe('not on the list');
  });

  it('accepts when a callback-style verifyClient calls back true', async () => {
    const { port } = await start({ verifyClient: (_info, callback) => callback(true) });
    expect((await upgrade(port)).head.status).toBe(101);
  });

  it('refuses with 500 when verifyClient throws', async () => {
    const { port } = await start({
      verifyClient: () => {
        throw new Error('bug in the app');
      },
    });
    expect((await upgrade(port)).head.status).toBe(500);
  });

  it('refuses with 408 when verifyClient never answers within handshakeTimeoutMs', async () => {
    const { port } = await start({ handshakeTimeoutMs: 200, verifyClient: (_info, _callback) => {} });
    const started = Date.now();
    expect((await upgrade(port)).head.status).toBe(408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe('WebSocketServer: subprotocols', () => {
  it('selects the first offered subprotocol by default', async () => {
    const { port, wss } = await start();
    const connection = once<[ServerWebSocket]>(wss, 'connection');
    const { head } = await upgrade(port, '/', { 'Sec-WebSocket-Protocol': 'chat.v2, chat.v1' });
    expect(head.headers['sec-websocket-protocol']).toBe('chat.v2');
    expect((await connection)[0].protocol).toBe('chat.v2');
  });

  it('selects what handleProtocols returns, given the offers as a Set', async () => {
    const offered: string[][] = [];
    const { port, wss } = await start({
      handleProtocols: (protocols) => {
        offered.push([...protocols]);
        return 'chat.v1';
      },
    });
    const connection = once<[ServerWebSocket]>(wss, 'connection');
    const { head } = await upgrade(port, '/', { 'Sec-WebSocket-Protocol': 'chat.v2, chat.v1' });
    expect(offered).toEqual([['chat.v2', 'chat.v1']]);
    expect(head.headers['sec-websocket-protocol']).toBe('chat.v1');
    expect((await connection)[0].protocol).toBe('chat.v1');
  });

  it('selects no subprotocol when handleProtocols returns false', async () => {
    const { port } = await start({ handleProtocols: () => false });
    const { head } = await upgrade(port, '/', { 'Sec-WebSocket-Protocol': 'chat' });
    expect(head.status).toBe(101);
    expect(head.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('refuses with 500 when handleProtocols returns a subprotocol that was not offered', async () => {
    const { port } = await start({ handleProtocols: () => 'other' });
    expect((await upgrade(port, '/', { 'Sec-WebSocket-Protocol': 'chat' })).head.status).toBe(500);
  });

  it('does not call handleProtocols when no subprotocol is offered', async () => {
    const handleProtocols = vi.fn(() => false as const);
    const { port } = await start({ handleProtocols });
    expect((await upgrade(port)).head.status).toBe(101);
    expect(handleProtocols).not.toHaveBeenCalled();
  });

  it('agrees on a subprotocol with a ws client', async () => {
    const { url } = await start({ handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false) });
    const client = wsClient(url, ['a', 'b']);
    await once(client, 'open');
    expect(client.protocol).toBe('b');
  });
});

describe('WebSocketServer: clients', () => {
  it('tracks open sockets in clients and forgets closed ones', async () => {
    const server = await start();
    const { socket, peer } = await connectRaw(server);
    peers.push(peer);
    expect([...server.wss.clients]).toEqual([socket]);
    const closed = once(socket, 'close');
    peer.destroy();
    await closed;
    expect(server.wss.clients.size).toBe(0);
  });

  it('keeps clients empty with clientTracking false', async () => {
    const server = await start({ clientTracking: false });
    const { peer } = await connectRaw(server);
    peers.push(peer);
    expect(server.wss.clients.size).toBe(0);
  });

  it('throws a TypeError for bad options before listening', () => {
    expect(() => new WebSocketServer({ port: 0, maxPayload: -1 })).toThrow(TypeError);
    expect(() => new WebSocketServer({})).toThrow(TypeError);
  });
});

describe('WebSocketServer: close()', () => {
  it('sends 1001 to every client, then calls back once all have closed', async () => {
    const { wss, url } = await start();
    const one = wsClient(url);
    const two = wsClient(url);
    await Promise.all([once(one, 'open'), once(two, 'open')]);
    const closes = [once<[number, Buffer]>(one, 'close'), once<[number, Buffer]>(two, 'close')];
    const done = new Promise<void>((resolve) => wss.close(() => resolve()));
    expect(wss.state).toBe('closing');
    for (const [code, reason] of await Promise.all(closes)) {
      expect(code).toBe(1001);
      expect(reason.toString()).toBe('server shutting down');
    }
    await within(done, 3_000, 'the close callback');
    expect(wss.state).toBe('closed');
    expect(wss.clients.size).toBe(0);
  });

  it('calls back at once when there are no clients', async () => {
    const { wss } = await start();
    await within(new Promise<void>((resolve) => wss.close(() => resolve())), 1_000, 'the close callback');
    expect(wss.state).toBe('closed');
  });

  it('calls the callback of a close() made after the server has already closed', async () => {
    const { wss } = await start();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    const again = new Promise<void>((resolve) => wss.close(() => resolve()));
    await within(again, 1_000, 'the second close callback');
  });

  it('refuses a new upgrade during closing with 503 and Retry-After', async () => {
    const http = createServer((_request, response) => response.end('app'));
    const port = await listen(http);
    const wss = new WebSocketServer({ server: http, pingIntervalMs: 0, closeTimeoutMs: 3_000 });
    servers.push(wss);
    // A peer that ignores our 1001 keeps the server closing.
    const { peer } = await connectRaw({ wss, port, url: '' });
    peers.push(peer);
    const closed = once(wss, 'close', 5_000);
    wss.close();
    const goingAway = await peer.readFrame();
    expect([goingAway.opcode, goingAway.payload.readUInt16BE(0)]).toEqual([CLOSE, 1001]);
    expect(wss.state).toBe('closing');
    const { head } = await upgrade(port);
    expect(head.status).toBe(503);
    expect(head.headers['retry-after']).toBe('5');
    peer.write(encodeClientFrame({ opcode: CLOSE, payload: closeBody(1001) }));
    await closed;
    expect(wss.state).toBe('closed');
  });

  it('stops listening when it owns the HTTP server', async () => {
    const { wss, port } = await start();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await expect(RawPeer.connect(port)).rejects.toThrow();
  });
});

describe('WebSocketServer: modes', () => {
  it('works with noServer and handleUpgrade from an application upgrade handler', async () => {
    const wss = new WebSocketServer({ noServer: true, pingIntervalMs: 0 });
    servers.push(wss);
    expect(wss.address()).toBeNull();
    const http = createServer();
    http.on('upgrade', (request, socket, head) => {
      if (request.url === '/app') wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      else socket.destroy();
    });
    const port = await listen(http);
    wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
    const client = wsClient(`ws://127.0.0.1:${port}/app`);
    await once(client, 'open');
    const reply = once<[Buffer, boolean]>(client, 'message');
    client.send('echo through noServer');
    const [data, isBinary] = await reply;
    expect([String(data), isBinary]).toEqual(['echo through noServer', false]);
  });

  it('attaches to an existing http.Server that keeps serving plain requests', async () => {
    const http = createServer((_request, response) => response.end('plain http'));
    const port = await listen(http);
    const wss = new WebSocketServer({ server: http, pingIntervalMs: 0 });
    servers.push(wss);
    expect(wss.address()).toEqual(http.address());
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(await response.text()).toBe('plain http');
    const client = wsClient(`ws://127.0.0.1:${port}/`);
    await once(client, 'open');
  });

  it('leaves other paths to another upgrade listener on a shared server', async () => {
    const http = createServer();
    const port = await listen(http);
    const wss = new WebSocketServer({ server: http, path: '/ws', pingIntervalMs: 0 });
    servers.push(wss);
    const other = vi.fn((_request: IncomingMessage, socket: Duplex) => {
      socket.end("HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    http.on('upgrade', other);
    expect((await upgrade(port, '/elsewhere')).head.status).toBe(418);
    expect((await upgrade(port, '/ws')).head.status).toBe(101);
    expect(other).toHaveBeenCalledTimes(2); // it sees every upgrade; it only answers its own path here
  });

  it('stops handling upgrades on a shared server once closed', async () => {
    const http = createServer();
    const port = await listen(http);
    const wss = new WebSocketServer({ server: http, pingIntervalMs: 0 });
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    expect(http.listenerCount('upgrade')).toBe(0);
    expect(http.listening).toBe(true);
    expect(port).toBeGreaterThan(0);
  });
});

describe('WebSocketServer: heartbeat', () => {
  it('pings a quiet peer after pingIntervalMs and terminates it pongTimeoutMs later (deterministic clock)', async () => {
    const server = await start({ pingIntervalMs: 0 });
    const { peer, socket } = await connectRaw(server);
    peers.push(peer);
    const errors: ProtocolError[] = [];
    socket.on('error', (error) => errors.push(error));
    const closed = once<[number]>(socket, 'close');
    socket.checkHeartbeat(1_000, 100, 100); // first look: the peer was just heard
    socket.checkHeartbeat(1_099, 100, 100); // quiet for 99 ms: nothing yet
    socket.pong('marker');
    socket.checkHeartbeat(1_100, 100, 100); // quiet for 100 ms: ping
    const marker = await peer.readFrame();
    const ping = await peer.readFrame();
    expect([marker.opcode, marker.payload.toString()]).toEqual([PONG, 'marker']);
    expect(ping.opcode).toBe(PING);
    socket.checkHeartbeat(1_199, 100, 100); // 99 ms without a pong: still waiting
    expect(socket.state).toBe('open');
    socket.checkHeartbeat(1_200, 100, 100); // 100 ms: terminated
    expect((await closed)[0]).toBe(1006);
    expect(errors.map((error) => [error.code, error.closeCode])).toEqual([['PONG_TIMEOUT', 1006]]);
  });

  it('counts the pong that answers the ping as alive, and pings again after the next quiet interval', async () => {
    const server = await start({ pingIntervalMs: 0 });
    const { peer, socket } = await connectRaw(server);
    peers.push(peer);
    socket.checkHeartbeat(1_000, 100, 100);
    socket.checkHeartbeat(1_100, 100, 100);
    const ping = await peer.readFrame();
    expect(ping.opcode).toBe(PING);
    const pong = once(socket, 'pong');
    peer.write(encodeClientFrame({ opcode: PONG, payload: ping.payload }));
    await pong;
    socket.checkHeartbeat(1_250, 100, 100); // heard: the clock restarts here
    socket.checkHeartbeat(1_300, 100, 100);
    expect(socket.state).toBe('open');
    socket.checkHeartbeat(1_350, 100, 100);
    expect((await peer.readFrame()).opcode).toBe(PING);
    expect(socket.state).toBe('open');
  });

  it('terminates a raw peer that never answers pings within interval + timeout + slack', async () => {
    const server = await start({ pingIntervalMs: 100, pongTimeoutMs: 100 });
    const started = Date.now();
    const { peer, socket } = await connectRaw(server);
    peers.push(peer);
    const [code] = await once<[number]>(socket, 'close', 2_000);
    const elapsed = Date.now() - started;
    expect(code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(100 + 100 + 2 * 25 + 400);
    expect((await peer.readFrame()).opcode).toBe(PING);
  });

  it('keeps a ws client, which answers pings, connected for several intervals', async () => {
    const { url, wss } = await start({ pingIntervalMs: 100, pongTimeoutMs: 100 });
    const connection = once<[ServerWebSocket]>(wss, 'connection');
    const client = wsClient(url);
    let pings = 0;
    client.on('ping', () => pings++);
    await once(client, 'open');
    const [socket] = await connection;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(socket.state).toBe('open');
  });

  it('uses one timer for all connections', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const server = await start({ pingIntervalMs: 1_000, pongTimeoutMs: 1_000 });
    for (let i = 0; i < 4; i++) peers.push((await connectRaw(server)).peer);
    const heartbeatTimers = setIntervalSpy.mock.calls.filter(([, delay]) => delay === 250);
    expect(heartbeatTimers).toHaveLength(1);
  });
});

describe('WebSocketServer: heartbeat, on a fake clock', () => {
  const PING_INTERVAL_MS = 1_000;
  const PONG_TIMEOUT_MS = 500;
  /** The shared timer ticks every quarter of the smaller of the two. */
  const TICK_MS = 125;

  beforeEach(() => {
    // Only the heartbeat's clock is fake; sockets and the helpers' timeouts run on real time.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
  });

  afterEach(async () => {
    await Promise.all(servers.map((wss) => stopServer(wss)));
    vi.useRealTimers();
  });

  async function connect() {
    const server = await start({ pingIntervalMs: PING_INTERVAL_MS, pongTimeoutMs: PONG_TIMEOUT_MS });
    const { peer, socket } = await connectRaw(server);
    peers.push(peer);
    const errors: ProtocolError[] = [];
    socket.on('error', (error) => errors.push(error));

    /** Writes a ping or pong and waits until the server has read it. */
    const sendControl = async (opcode: number, payload: Buffer | string) => {
      const heard = once(socket, opcode === PING ? 'ping' : 'pong');
      peer.write(encodeClientFrame({ opcode, payload }));
      await heard;
    };

    /** Sends a control frame before every tick until the server gives up on the peer; returns the time taken. */
    const sendEveryTickUntilTerminated = async (opcode: number, payload: (tick: number) => Buffer | string) => {
      let elapsedMs = 0;
      for (let tick = 0; errors.length === 0 && elapsedMs < 3 * (PING_INTERVAL_MS + PONG_TIMEOUT_MS); tick++) {
        await sendControl(opcode, payload(tick));
        vi.advanceTimersByTime(TICK_MS);
        elapsedMs += TICK_MS;
      }
      return elapsedMs;
    };

    return { peer, socket, errors, sendControl, sendEveryTickUntilTerminated };
  }

  it('keeps a peer that answers every ping with its payload, a new random one each time', async () => {
    const { peer, socket, sendControl } = await connect();
    const payloads = new Set<string>();
    for (let round = 0; round < 4; round++) {
      // Each round is longer than pongTimeoutMs: an unanswered ping would end the connection.
      vi.advanceTimersByTime(PING_INTERVAL_MS + TICK_MS);
      const ping = await peer.readFrame();
      expect(ping.opcode).toBe(PING);
      payloads.add(ping.payload.toString('hex'));
      await sendControl(PONG, ping.payload);
    }
    vi.advanceTimersByTime(PONG_TIMEOUT_MS + TICK_MS);
    expect(socket.state).toBe('open');
    expect([...payloads].map((hex) => hex.length / 2)).toEqual([8, 8, 8, 8]);
  });

  it.each([
    ['unsolicited pongs', PONG],
    ['pings', PING],
  ])(
    'terminates a peer that sends only %s within pingIntervalMs + pongTimeoutMs (plus a tick)',
    async (_name, opcode) => {
      const { socket, errors, sendEveryTickUntilTerminated } = await connect();
      const closed = once<[number]>(socket, 'close');
      // Empty, a guess, and eight zero bytes: nothing the peer could send without reading our ping.
      const guesses = ['', 'guess', Buffer.alloc(8)];
      const elapsedMs = await sendEveryTickUntilTerminated(opcode, (tick) => guesses[tick % 3] as Buffer | string);
      expect((await closed)[0]).toBe(1006);
      expect(errors.map((error) => error.code)).toEqual(['PONG_TIMEOUT']);
      expect(elapsedMs).toBeLessThanOrEqual(PING_INTERVAL_MS + PONG_TIMEOUT_MS + TICK_MS);
    },
  );

  it('does not count a pong that answers an older ping', async () => {
    const { peer, socket, errors, sendControl, sendEveryTickUntilTerminated } = await connect();
    vi.advanceTimersByTime(PING_INTERVAL_MS + TICK_MS);
    const first = await peer.readFrame();
    await sendControl(PONG, first.payload);
    vi.advanceTimersByTime(PING_INTERVAL_MS + TICK_MS);
    const second = await peer.readFrame();
    expect([first.opcode, second.opcode]).toEqual([PING, PING]);
    expect(second.payload.equals(first.payload)).toBe(false);
    const closed = once<[number]>(socket, 'close');
    const elapsedMs = await sendEveryTickUntilTerminated(PONG, () => first.payload);
    expect((await closed)[0]).toBe(1006);
    expect(errors.map((error) => error.code)).toEqual(['PONG_TIMEOUT']);
    expect(elapsedMs).toBe(PONG_TIMEOUT_MS);
  });

  it('counts data frames as signs of life: a peer that keeps sending messages is never pinged', async () => {
    const { peer, socket } = await connect();
    const bytesBefore = peer.socket.bytesRead;
    for (let elapsedMs = 0; elapsedMs < 3 * (PING_INTERVAL_MS + PONG_TIMEOUT_MS); elapsedMs += TICK_MS) {
      const message = once(socket, 'message');
      peer.write(encodeClientFrame({ opcode: TEXT, payload: 'still here' }));
      await message;
      vi.advanceTimersByTime(TICK_MS);
    }
    expect(socket.state).toBe('open');
    expect(peer.socket.bytesRead - bytesBefore).toBe(0);
  });
});
