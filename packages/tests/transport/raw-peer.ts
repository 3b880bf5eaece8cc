import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type ClientFrame, encodeClientFrame } from '../support/client-frame.js';
import { once, within } from '../support/wait.js';

export { type ClientFrame, encodeClientFrame };

// A WebSocket client small enough to misbehave on purpose: it writes whatever
// frames (or bytes) a test asks for and records every frame the server sends.

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One server-to-client frame as it arrived. */
export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Incremental parser for server frames; copes with any split and with 16 MiB payloads. */
export class ServerFrameDecoder {
  #chunks: Buffer[] = [];
  #total = 0;

  /** Feeds bytes; returns the frames completed by them. */
  push(chunk: Buffer): ServerFrame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#total += chunk.length;
    }
    const frames: ServerFrame[] = [];
    for (;;) {
      const frame = this.#next();
      if (frame === undefined) return frames;
      frames.push(frame);
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.#total;
  }

  #next(): ServerFrame | undefined {
    if (this.#total < 2) return undefined;
    const head = this.#peek(Math.min(this.#total, 14));
    const b0 = head[0] as number;
    const b1 = head[1] as number;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (head.length < headerLength) return undefined;
    const length =
      lengthBytes === 0 ? length7 : lengthBytes === 2 ? head.readUInt16BE(2) : Number(head.readBigUInt64BE(2));
    if (this.#total < headerLength + length) return undefined;
    const bytes = this.#take(headerLength + length);
    const payload = Buffer.from(bytes.subarray(headerLength));
    if (masked) {
      const key = bytes.subarray(2 + lengthBytes, 6 + lengthBytes);
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number);
    }
    return {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode: b0 & 0x0f,
      masked,
      payload,
    };
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first;
    const merged = Buffer.concat(this.#chunks, this.#total);
    this.#chunks = [merged];
    return merged;
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#total);
    this.#chunks = all.length > n ? [all.subarray(n)] : [];
    this.#total -= n;
    return all.subarray(0, n);
  }
}

/** A close frame's code (undefined for an empty payload) and UTF-8 reason. */
export function readClose(frame: ServerFrame): { code: number | undefined; reason: string } {
  if (frame.payload.length < 2) return { code: undefined, reason: '' };
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString('utf8') };
}

export interface UpgradeRequestOptions {
  path?: string;
  /** @default a fresh random key */
  key?: string;
  /** Extra header lines, verbatim (`Name: value`). */
  headers?: readonly string[];
  /** Standard headers (lower-case names) to leave out. */
  omit?: readonly string[];
}

/** A fresh Sec-WebSocket-Key. */
export function newKey(): string {
  return randomBytes(16).toString('base64');
}

/** RFC 6455 §4.2.2 Sec-WebSocket-Accept for `key`. */
export function expectedAccept(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** The text of an opening handshake, ending with the blank line. */
export function upgradeRequest(options: UpgradeRequestOptions = {}): string {
  const omit = new Set(options.omit ?? []);
  const standard: Array<[string, string]> = [
    ['host', 'Host: 127.0.0.1'],
    ['upgrade', 'Upgrade: websocket'],
    ['connection', 'Connection: Upgrade'],
    ['sec-websocket-key', `Sec-WebSocket-Key: ${options.key ?? newKey()}`],
    ['sec-websocket-version', 'Sec-WebSocket-Version: 13'],
  ];
  const lines = [`GET ${options.path ?? '/'} HTTP/1.1`];
  for (const [name, line] of standard) if (!omit.has(name)) lines.push(line);
  lines.push(...(options.headers ?? []));
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export interface HttpResponseHead {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Map<string, string>;
  raw: string;
}

/** Parses an HTTP/1.1 response head (without the blank line). */
export function parseResponseHead(raw: string): HttpResponseHead {
  const [statusLine = '', ...lines] = raw.split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  return { status, headers, raw };
}

/** `halfOpen`: keep our side of TCP open after the server ends its side (as a slow or hostile peer may). */
function connectTo(port: number, timeoutMs: number, halfOpen = false): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: halfOpen });
  socket.on('error', () => {
    // A reset after the server fails the connection is expected; 'close' follows.
  });
  return once(socket, 'connect', timeoutMs).then(() => socket);
}

/**
 * A raw TCP WebSocket peer after its handshake (any status). Frames the server
 * sends are decoded and queued; `nextFrame` hands them out in order.
 */
export class RawPeer extends EventEmitter {
  readonly socket: Socket;
  readonly response: HttpResponseHead;
  /** Every frame received so far, in order. */
  readonly frames: ServerFrame[] = [];
  /** Every byte after the response head, as received. */
  readonly received: Buffer[] = [];
  #cursor = 0;
  #tcpClosed = false;
  readonly #decoder = new ServerFrameDecoder();

  private constructor(socket: Socket, response: HttpResponseHead, rest: Buffer) {
    super();
    this.socket = socket;
    this.response = response;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.once('close', () => {
      this.#tcpClosed = true;
      this.emit('update');
    });
    if (rest.length > 0) this.#onData(rest);
  }

  /**
   * Connects, sends `request` (an opening handshake by default) plus `after`
   * in the same write, and resolves once the response head has arrived.
   */
  static async open(
    port: number,
    options: UpgradeRequestOptions & { request?: string; after?: Buffer; timeoutMs?: number; halfOpen?: boolean } = {},
  ): Promise<RawPeer> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    const socket = await connectTo(port, timeoutMs, options.halfOpen);
    const request = Buffer.from(options.request ?? upgradeRequest(options), 'latin1');
    socket.write(options.after ? Buffer.concat([request, options.after]) : request);
    const chunks: Buffer[] = [];
    const head = new Promise<{ head: string; rest: Buffer }>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve({ head: all.subarray(0, end).toString('latin1'), rest: all.subarray(end + 4) });
      };
      const onClose = () => reject(new Error(`connection closed before a response: ${Buffer.concat(chunks)}`));
      socket.on('data', onData);
      socket.once('close', onClose);
    });
    try {
      const { head: text, rest } = await within(head, timeoutMs, 'the handshake response');
      return new RawPeer(socket, parseResponseHead(text), rest);
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  /** Opens a connection and insists on 101. */
  static async upgrade(
    port: number,
    options: UpgradeRequestOptions & { timeoutMs?: number; halfOpen?: boolean } = {},
  ): Promise<RawPeer> {
    const key = options.key ?? newKey();
    const peer = await RawPeer.open(port, { ...options, key });
    if (peer.response.status !== 101 || peer.response.headers.get('sec-websocket-accept') !== expectedAccept(key)) {
      peer.destroy();
      throw new Error(`handshake refused:\n${peer.response.raw}`);
    }
    return peer;
  }

  get tcpClosed(): boolean {
    return this.#tcpClosed;
  }

  /** Writes frames and raw byte strings, in one write. */
  send(...parts: Array<ClientFrame | Buffer>): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(
      Buffer.concat(parts.map((part) => (Buffer.isBuffer(part) ? part : encodeClientFrame(part)))),
    );
  }

  /** The next frame not handed out yet. Rejects on timeout or if TCP closes first. */
  async nextFrame(timeoutMs: number): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames[this.#cursor];
      if (frame !== undefined) {
        this.#cursor++;
        return frame;
      }
      if (this.#tcpClosed) throw new Error('TCP closed before the next frame');
      await once(this, 'update', Math.max(1, deadline - Date.now()));
    }
  }

  /**
   * Skips data and ping/pong frames until a Close frame; `code` is undefined when
   * the TCP connection closed without one (or the Close payload was empty).
   */
  async closeFrame(timeoutMs: number): Promise<{ code: number | undefined; reason: string; gotFrame: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#cursor >= this.frames.length && this.#tcpClosed)
        return { code: undefined, reason: '', gotFrame: false };
      const frame = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (frame.opcode === OP.close) return { ...readClose(frame), gotFrame: true };
    }
  }

  /** Resolves once the server has closed (or reset) the TCP connection. */
  async tcpClose(timeoutMs: number): Promise<void> {
    if (this.#tcpClosed) return;
    await once(this.socket, 'close', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.received.push(chunk);
    const frames = this.#decoder.push(chunk);
    if (frames.length === 0) return;
    this.frames.push(...frames);
    this.emit('update');
  }
}

export interface RawHttpResult {
  /** Everything the server wrote, as latin1 text. */
  text: string;
  /** Status codes of every response found in `text`, in order. */
  statuses: number[];
  /** The server closed (or reset) the connection within the time allowed. */
  closed: boolean;
  elapsedMs: number;
}

/**
 * Writes `request` on a fresh TCP connection and collects what comes back until the
 * server closes the connection or `timeoutMs` passes (then `closed` is false).
 */
export async function rawHttp(port: number, request: string | Buffer, timeoutMs: number): Promise<RawHttpResult> {
  const socket = await connectTo(port, timeoutMs);
  const started = performance.now();
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
  let closed = true;
  try {
    await once(socket, 'close', timeoutMs);
  } catch {
    closed = false;
  }
  const elapsedMs = performance.now() - started;
  socket.destroy();
  const text = Buffer.concat(chunks).toString('latin1');
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
  return { text, statuses, closed, elapsedMs };
}

/** Connects without writing anything yet; for tests that dribble bytes. */
export function rawConnect(port: number, timeoutMs = 2_000): Promise<Socket> {
  return connectTo(port, timeoutMs);
}
