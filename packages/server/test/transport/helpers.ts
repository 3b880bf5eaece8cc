// Test helpers for the transport: a recording FrameSink, byte
// stream splitters, and raw TCP peers for the socket and server tests.
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { type ClientFrame, encodeClientFrame, toBytes } from '../../../tests/support/client-frame.js';
import { seededRandom } from '../../../tests/support/seeded-random.js';
import { once, until, within } from '../../../tests/support/wait.js';

export { type ClientFrame, encodeClientFrame, once, toBytes, until, within };

import type { ProtocolError } from '../../src/transport/errors.js';
import { FrameParser, type FrameParserLimits, type FrameSink } from '../../src/transport/frame-parser.js';
import type { WebSocketServerOptions } from '../../src/transport/options.js';
import type { ServerWebSocket } from '../../src/transport/socket.js';
import { WebSocketServer } from '../../src/transport/websocket-server.js';

// ── client frames ────────────────────────────────────────────────────────────

/** A Close frame payload: a 2-byte code and a reason. */
export function closeBody(code: number, reason: string | Uint8Array = ''): Buffer {
  const text = toBytes(reason);
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  out.set(text, 2);
  return out;
}

// ── recording sink ───────────────────────────────────────────────────────────

export type SinkEvent =
  | { type: 'start'; opcode: 1 | 2; compressed: boolean }
  | { type: 'data'; hex: string }
  | { type: 'end' }
  | { type: 'control'; opcode: number; hex: string }
  | { type: 'error'; code: string; closeCode: number };

/** Records what a FrameParser reports. Data chunks are merged, since their sizes depend on the split. */
export class RecordingSink implements FrameSink {
  readonly events: SinkEvent[] = [];
  readonly errors: ProtocolError[] = [];
  dataCalls = 0;
  /** Called after each event is recorded: lets a test pause or stop the parser from inside. */
  onEvent: ((event: SinkEvent) => void) | undefined;

  onMessageStart(opcode: 1 | 2, compressed: boolean): void {
    this.#record({ type: 'start', opcode, compressed });
  }

  onMessageData(chunk: Buffer): void {
    this.dataCalls++;
    const last = this.events.at(-1);
    if (last?.type === 'data') last.hex += chunk.toString('hex');
    else this.events.push({ type: 'data', hex: chunk.toString('hex') });
    this.onEvent?.(this.events.at(-1) as SinkEvent);
  }

  onMessageEnd(): void {
    this.#record({ type: 'end' });
  }

  onControl(opcode: 0x8 | 0x9 | 0xa, payload: Buffer): void {
    this.#record({ type: 'control', opcode, hex: payload.toString('hex') });
  }

  onProtocolError(error: ProtocolError): void {
    this.errors.push(error);
    this.#record({ type: 'error', code: error.code, closeCode: error.closeCode });
  }

  #record(event: SinkEvent): void {
    this.events.push(event);
    this.onEvent?.(event);
  }
}

// Seeded random numbers, so random splits are reproducible.
export { seededRandom };

export const LIMITS: FrameParserLimits = { maxPayloadBytes: 1 << 20, maxFragments: 1024, compression: false };

// ── splitting a byte stream ──────────────────────────────────────────────────

/** Cuts `bytes` at the given offsets; every piece is a fresh copy (the parser unmasks in place). */
export function splitAt(bytes: Uint8Array, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points)].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of [...sorted, bytes.length]) {
    pieces.push(Buffer.from(bytes.subarray(from, point)));
    from = point;
  }
  return pieces;
}

export function oneByteAtATime(bytes: Uint8Array): Buffer[] {
  return Array.from({ length: bytes.length }, (_, i) => Buffer.from(bytes.subarray(i, i + 1)));
}

export function randomSplits(bytes: Uint8Array, seed: number): Buffer[] {
  const random = seededRandom(seed);
  const points: number[] = [];
  const cuts = Math.floor(random() * Math.min(bytes.length, 12));
  for (let i = 0; i < cuts; i++) points.push(1 + Math.floor(random() * (bytes.length - 1)));
  return splitAt(bytes, points);
}

/** Feeds the pieces to a fresh parser; returns the sink and the parser. */
export function parsePieces(
  pieces: readonly Uint8Array[],
  limits: Partial<FrameParserLimits> = {},
): { sink: RecordingSink; parser: FrameParser } {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, { ...LIMITS, ...limits });
  for (const piece of pieces) parser.push(Buffer.from(piece));
  return { sink, parser };
}

/** The ways every parser input is fed: whole, one byte at a time, and in random splits. */
export function allSplits(bytes: Uint8Array): Array<{ name: string; pieces: Buffer[] }> {
  const ways = [
    { name: 'whole', pieces: [Buffer.from(bytes)] },
    { name: 'one byte at a time', pieces: oneByteAtATime(bytes) },
  ];
  for (let seed = 1; seed <= 8; seed++) ways.push({ name: `random split #${seed}`, pieces: randomSplits(bytes, seed) });
  return ways;
}

/**
 * Parses `bytes` whole, byte by byte and in random splits; throws unless every way
 * reports the same events. Returns those events.
 */
export function parseEveryWay(bytes: Uint8Array, limits: Partial<FrameParserLimits> = {}): SinkEvent[] {
  let expected: SinkEvent[] | undefined;
  let expectedName = '';
  for (const { name, pieces } of allSplits(bytes)) {
    const { events } = parsePieces(pieces, limits).sink;
    if (expected === undefined) {
      expected = events;
      expectedName = name;
      continue;
    }
    if (JSON.stringify(events) !== JSON.stringify(expected)) {
      throw new Error(
        `fed ${name}, the parser reported\n${JSON.stringify(events)}\nbut fed ${expectedName}\n${JSON.stringify(expected)}`,
      );
    }
  }
  return expected ?? [];
}

export const hex = (data: Uint8Array | string): string => toBytes(data).toString('hex');

// ── waiting, with bounds ─────────────────────────────────────────────────────

// ── servers and raw peers over loopback TCP ──────────────────────────────────

export interface StartedServer {
  wss: WebSocketServer;
  port: number;
  url: string;
}

/** A WebSocketServer on 127.0.0.1 and a free port. */
export async function startServer(options: Omit<WebSocketServerOptions, 'port' | 'host'> = {}): Promise<StartedServer> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return { wss, port: address.port, url: `ws://127.0.0.1:${address.port}` };
}

/** Closes the server and waits for it, bounded (sockets that ignore 1001 are terminated). */
export async function stopServer(wss: WebSocketServer): Promise<void> {
  if (wss.state === 'closed') return;
  const closed = once(wss, 'close', 5_000);
  wss.close();
  for (const socket of wss.clients) socket.terminate();
  await closed;
}

export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

export function upgradeRequest(path = '/', headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': SAMPLE_KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export interface HttpHead {
  status: number;
  headers: IncomingHttpHeaders;
  /** Bytes received after the head (a body, or the first frames). */
  rest: Buffer;
}

function parseHead(text: string): Omit<HttpHead, 'rest'> {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers };
}

/**
 * A peer on raw TCP: writes whatever bytes a test gives it and reads the server's
 * frames (unmasked) with a small parser of its own.
 */
export class RawPeer {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #ended = false;
  closedAt: number | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.closedAt = Date.now();
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.removeAllListeners('error');
    return new RawPeer(socket);
  }

  /** Connects, sends an upgrade request and reads the response head. */
  static async upgrade(port: number, path = '/', headers: Record<string, string> = {}): Promise<[RawPeer, HttpHead]> {
    const peer = await RawPeer.connect(port);
    peer.write(upgradeRequest(path, headers));
    const head = await peer.readHead();
    return [peer, head];
  }

  get ended(): boolean {
    return this.#ended;
  }

  write(data: Uint8Array | string): void {
    this.socket.write(data);
  }

  /** Reads an HTTP response head; the bytes after it stay buffered. */
  async readHead(timeoutMs = 3_000): Promise<HttpHead> {
    await this.#until(() => this.#buffer.indexOf('\r\n\r\n') !== -1, timeoutMs, 'an HTTP response');
    const end = this.#buffer.indexOf('\r\n\r\n');
    const head = parseHead(this.#buffer.subarray(0, end).toString('latin1'));
    this.#buffer = this.#buffer.subarray(end + 4);
    return { ...head, rest: this.#buffer };
  }

  /** Reads everything until the server closes TCP. */
  async readToEnd(timeoutMs = 3_000): Promise<Buffer> {
    await this.#until(() => this.#ended, timeoutMs, 'the server to close TCP');
    const all = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return all;
  }

  /** Reads the next server frame (servers never mask). */
  async readFrame(timeoutMs = 3_000): Promise<ServerFrame> {
    let frame: ServerFrame | undefined;
    await this.#until(
      () => {
        frame = readServerFrame(this.#buffer);
        return frame !== undefined;
      },
      timeoutMs,
      'a frame from the server',
    );
    const got = frame as ServerFrame;
    this.#buffer = this.#buffer.subarray(got.size);
    return got;
  }

  /** Waits until the server has closed the TCP connection. */
  async waitClosed(timeoutMs = 3_000): Promise<void> {
    await this.#until(() => this.closedAt !== undefined, timeoutMs, 'the TCP connection to close', false);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  async #until(condition: () => boolean, timeoutMs: number, what: string, failOnEnd = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (failOnEnd && this.#ended) throw new Error(`connection ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Upgrades a raw peer and returns it with the server's side of the connection. */
export async function connectRaw(
  server: StartedServer,
  headers: Record<string, string> = {},
  path = '/',
): Promise<{ peer: RawPeer; socket: ServerWebSocket; head: HttpHead }> {
  const connection = once<[ServerWebSocket]>(server.wss, 'connection');
  const [peer, head] = await RawPeer.upgrade(server.port, path, headers);
  if (head.status !== 101) throw new Error(`upgrade refused with ${head.status}`);
  const [socket] = await connection;
  return { peer, socket, head };
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
  /** Bytes the frame took on the wire. */
  size: number;
}

/** Parses one server-to-client frame from the front of `bytes`, or undefined if incomplete. */
export function readServerFrame(bytes: Buffer): ServerFrame | undefined {
  if (bytes.length < 2) return undefined;
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  let offset = 2;
  let length = b1 & 0x7f;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = bytes.readUInt32BE(2) * 0x100000000 + bytes.readUInt32BE(6);
    offset = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  if (masked) offset += 4;
  if (bytes.length < offset + length) return undefined;
  return {
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    opcode: b0 & 0x0f,
    masked,
    payload: Buffer.from(bytes.subarray(offset, offset + length)),
    size: offset + length,
  };
}
