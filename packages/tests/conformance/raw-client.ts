// A WebSocket client over raw TCP for conformance testing. It writes whatever frames a
// case asks for (chopped, delayed, batched), and records what the server does: frames,
// reassembled messages, pongs, the close frame, who closed TCP, and when.

import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  closePayload,
  encodeFrame,
  FrameReader,
  type FrameSpec,
  isControlOpcode,
  Opcode,
  type ParsedFrame,
  toBytes,
} from './frame-codec.js';
import {
  acceptResponse,
  DeflateCodec,
  type DeflateEnding,
  type DeflateOffer,
  formatOffers,
  type NegotiatedDeflate,
} from './permessage-deflate.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface RawClientOptions {
  host: string;
  port: number;
  path?: string;
  /** permessage-deflate offers, in preference order; omit to offer no extension. */
  deflate?: readonly DeflateOffer[];
  handshakeTimeoutMs?: number;
  /** How long to wait for the server's Close after we sent ours. */
  closeHandshakeTimeoutMs?: number;
  /** How long to wait for the server to close TCP once the closing handshake is done (RFC 6455 §7.1.1). */
  serverDropTimeoutMs?: number;
  /** Largest message we accept from the server. */
  maxMessageBytes?: number;
}

/** What the server did, in order, as Autobahn records it (plus our own 'timeout' markers). */
export type Observed =
  | { kind: 'message'; binary: boolean; data: Buffer; at: number }
  | { kind: 'ping'; data: Buffer; at: number }
  | { kind: 'pong'; data: Buffer; at: number }
  | { kind: 'timeout'; tag: string; at: number };

export interface ReceivedFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  length: number;
  at: number;
}

export interface CloseFrameInfo {
  /** Undefined when the close frame had an empty body. */
  code: number | undefined;
  reason: Buffer;
  at: number;
}

export interface WriteOptions {
  /** Split the bytes into writes of this size (Autobahn's `chopsize`). */
  chopSize?: number;
  /** Pause between chops; defaults to one event-loop turn. */
  chopDelayMs?: number;
  /** Flush this write on its own, not coalesced with neighbours (Autobahn's `sync`). */
  sync?: boolean;
}

export interface MessageOptions extends WriteOptions {
  binary?: boolean;
  /** Fragment the (possibly compressed) payload into frames of at most this many bytes. */
  fragmentSize?: number;
  /** Compress with permessage-deflate if negotiated (default true when negotiated). */
  compress?: boolean;
  /** How the compressed data ends: a sync flush (default) or a final block (RFC 7692 §7.2.3.4). */
  ending?: DeflateEnding;
}

export type ClientState = 'open' | 'closing' | 'closed';

export class HandshakeError extends Error {}

export class RawClient {
  readonly received: Observed[] = [];
  readonly frames: ReceivedFrame[] = [];
  /** Things the server did that RFC 6455 / 7692 forbid (masked frames, bad UTF-8 out, …). */
  readonly protocolErrors: string[] = [];
  state: ClientState = 'open';
  /** We sent the first Close frame. */
  closedByMe = false;
  closeSent: { code: number | undefined; at: number } | undefined;
  closeReceived: CloseFrameInfo | undefined;
  /** The server closed (FIN or RST) the TCP connection before we dropped it. */
  tcpClosedByServer = false;
  droppedByMe = false;
  wasCloseHandshakeTimeout = false;
  wasServerDropTimeout = false;
  tcpClosedAt: number | undefined;
  bytesSent = 0;
  bytesReceived = 0;
  readonly deflate: NegotiatedDeflate | undefined;
  /** Resolves once the TCP connection is gone, however that happened. */
  readonly finished: Promise<void>;

  private readonly reader = new FrameReader();
  private readonly codec: DeflateCodec | undefined;
  private readonly listeners = new Set<(e: Observed) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private writeChain: Promise<void> = Promise.resolve();
  private corked = false;
  private frameChain: Promise<void> = Promise.resolve();
  private fragments: { opcode: number; compressed: boolean; parts: Buffer[]; size: number } | undefined;
  private resolveFinished!: () => void;
  private readonly maxMessageBytes: number;
  private readonly closeHandshakeTimeoutMs: number;
  private readonly serverDropTimeoutMs: number;

  private constructor(
    private readonly socket: net.Socket,
    leftover: Buffer,
    readonly openedAt: number,
    readonly handshake: { request: string; response: string },
    deflate: NegotiatedDeflate | undefined,
    options: RawClientOptions,
  ) {
    this.deflate = deflate;
    this.codec = deflate ? new DeflateCodec(deflate) : undefined;
    this.maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.closeHandshakeTimeoutMs = options.closeHandshakeTimeoutMs ?? 2000;
    this.serverDropTimeoutMs = options.serverDropTimeoutMs ?? 2000;
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      if (!this.droppedByMe) this.tcpClosedByServer = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.droppedByMe && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) this.tcpClosedByServer = true;
    });
    socket.on('close', () => this.onTcpClosed());
    if (leftover.length > 0) this.onData(leftover);
  }

  /** Opening handshake, RFC 6455 §4.1 / §4.2.2; RFC 7692 §5 for the extension. */
  static connect(options: RawClientOptions): Promise<RawClient> {
    const key = randomBytes(16).toString('base64');
    const hostHeader = options.host.includes(':')
      ? `[${options.host}]:${options.port}`
      : `${options.host}:${options.port}`;
    const lines = [
      `GET ${options.path ?? '/'} HTTP/1.1`,
      `Host: ${hostHeader}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      'User-Agent: switchboard-conformance',
    ];
    if (options.deflate && options.deflate.length > 0)
      lines.push(`Sec-WebSocket-Extensions: ${formatOffers(options.deflate)}`);
    const request = `${lines.join('\r\n')}\r\n\r\n`;

    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: options.host, port: options.port });
      socket.setNoDelay(true);
      let buffered = Buffer.alloc(0);
      let settled = false;
      const fail = (message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new HandshakeError(message));
      };
      const timer = setTimeout(() => fail('opening handshake timed out'), options.handshakeTimeoutMs ?? 5000);
      socket.once('connect', () => socket.write(request));
      socket.on('error', (err) => fail(`TCP error during handshake: ${err.message}`));
      socket.on('close', () => fail('server closed the connection during the opening handshake'));
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buffered.length > 16 * 1024) fail('handshake response headers too large');
          return;
        }
        const head = buffered.subarray(0, end).toString('latin1');
        const leftover = buffered.subarray(end + 4);
        let deflate: NegotiatedDeflate | undefined;
        try {
          deflate = checkHandshakeResponse(head, key, options.deflate);
        } catch (err) {
          fail((err as Error).message);
          return;
        }
        settled = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        resolve(new RawClient(socket, leftover, performance.now(), { request, response: head }, deflate, options));
      };
      socket.on('data', onData);
    });
  }

  // ---------------------------------------------------------------- observing

  onEvent(listener: (e: Observed) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Autobahn's `("timeout", tag)` marker: recorded only while the connection is still open. */
  mark(tag: string): boolean {
    if (this.state !== 'open') return false;
    this.record({ kind: 'timeout', tag, at: performance.now() });
    return true;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Closing handshake finished and the server (not we) closed TCP — Autobahn's `wasClean`. */
  get wasClean(): boolean {
    return this.closeSent !== undefined && this.closeReceived !== undefined && this.tcpClosedByServer;
  }

  /** Waits for the next message event after the `from`-th received event. */
  async nextMessage(from: number, timeoutMs: number): Promise<Extract<Observed, { kind: 'message' }> | undefined> {
    const found = await this.waitFor(() => this.received.slice(from).some((e) => e.kind === 'message'), timeoutMs);
    if (!found) return undefined;
    return this.received.slice(from).find((e): e is Extract<Observed, { kind: 'message' }> => e.kind === 'message');
  }

  /** Resolves true once `predicate` holds, false on timeout or when the connection ends first. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    if (this.state === 'closed') return Promise.resolve(false);
    return new Promise((resolve) => {
      let settled = false;
      const done = (value: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        off();
        resolve(value);
      };
      const timer = setTimeout(() => done(predicate()), timeoutMs);
      const off = this.onEvent(() => {
        if (predicate()) done(true);
      });
      void this.finished.then(() => done(predicate()));
    });
  }

  // ---------------------------------------------------------------- sending

  /** Sends one frame (see FrameSpec); ordered after every earlier send. */
  sendFrame(spec: FrameSpec, opts: WriteOptions = {}): Promise<void> {
    return this.sendRaw(encodeFrame(spec), opts);
  }

  /** Sends several frames in one TCP write (unless chopped). */
  sendFrames(specs: readonly FrameSpec[], opts: WriteOptions = {}): Promise<void> {
    return this.sendRaw(Buffer.concat(specs.map(encodeFrame)), opts);
  }

  /**
   * Writes bytes as they are. Plain writes issued in the same event-loop turn are
   * coalesced into one TCP write (like Autobahn's unsynced frames); `sync` and chopped
   * writes go out on their own, each chop in a separate write.
   */
  sendRaw(bytes: Buffer, opts: WriteOptions = {}): Promise<void> {
    const chop = opts.chopSize && opts.chopSize > 0 ? opts.chopSize : bytes.length;
    const chopped = chop < bytes.length;
    let written: Promise<void> = Promise.resolve();
    const run = async (): Promise<void> => {
      if (this.socket.destroyed || this.socket.writableEnded) return;
      if (!chopped && !opts.sync) {
        // Do not wait for the kernel here, so the next plain write can join this one.
        written = this.writeCorked(bytes);
        return;
      }
      this.uncork();
      for (let off = 0; off < bytes.length; off += chop) {
        if (this.socket.destroyed || this.socket.writableEnded) return;
        await this.writeNow(bytes.subarray(off, off + chop));
        if (opts.chopDelayMs && opts.chopDelayMs > 0 && off + chop < bytes.length) await sleep(opts.chopDelayMs);
        else await new Promise((r) => setImmediate(r));
      }
    };
    const p = this.writeChain.then(run, run);
    this.writeChain = p.catch(() => undefined);
    return p.then(() => written);
  }

  /** Sends a data message, compressed when permessage-deflate is active, fragmented if asked. */
  async sendMessage(data: Uint8Array | string, opts: MessageOptions = {}): Promise<void> {
    const raw = toBytes(data);
    const binary = opts.binary ?? typeof data !== 'string';
    const compress = this.codec !== undefined && opts.compress !== false;
    // Compression must happen in send order, so it runs inside the write chain.
    const prepared = this.writeChain.then(async () =>
      compress && this.codec ? await this.codec.compress(raw, opts.ending) : raw,
    );
    this.writeChain = prepared.then(
      () => undefined,
      () => undefined,
    );
    const payload = await prepared;
    const size = opts.fragmentSize && opts.fragmentSize > 0 ? opts.fragmentSize : payload.length || 1;
    const frames: FrameSpec[] = [];
    for (let off = 0; off < payload.length || frames.length === 0; off += size) {
      const first = off === 0;
      frames.push({
        opcode: first ? (binary ? Opcode.BINARY : Opcode.TEXT) : Opcode.CONTINUATION,
        payload: payload.subarray(off, off + size),
        fin: off + size >= payload.length,
        // RFC 7692 §6: RSV1 marks a compressed message, on its first frame only.
        rsv: first && compress ? 4 : 0,
      });
    }
    const writeOpts: WriteOptions = {};
    if (opts.chopSize !== undefined) writeOpts.chopSize = opts.chopSize;
    if (opts.chopDelayMs !== undefined) writeOpts.chopDelayMs = opts.chopDelayMs;
    if (opts.sync !== undefined) writeOpts.sync = opts.sync;
    await this.sendFrames(frames, writeOpts);
  }

  /**
   * Starts the closing handshake (RFC 6455 §5.5.1, §7.1.2). `payload` overrides the body
   * (for malformed closes). Only the first close changes state; later ones are raw frames.
   */
  sendClose(opts: { code?: number; reason?: Uint8Array | string; payload?: Buffer } = {}): Promise<void> {
    const body = opts.payload ?? closePayload(opts.code, opts.reason);
    if (this.state === 'open') {
      this.state = 'closing';
      this.closedByMe = true;
      this.closeSent = { code: body.length >= 2 ? body.readUInt16BE(0) : undefined, at: performance.now() };
      this.after(this.closeHandshakeTimeoutMs, () => {
        if (!this.closeReceived && this.state !== 'closed') {
          this.wasCloseHandshakeTimeout = true;
          this.drop();
        }
      });
    }
    return this.sendFrame({ opcode: Opcode.CLOSE, payload: body });
  }

  /** Autobahn's killAfter: drop TCP if the connection still exists then. */
  killAfter(ms: number): void {
    this.after(ms, () => this.drop());
  }

  /** Autobahn's closeAfter: start a closing handshake (empty close body) if still open then. */
  closeAfter(ms: number): void {
    this.after(ms, () => {
      if (this.state === 'open') void this.sendClose();
    });
  }

  /** Tears the TCP connection down from our side. */
  drop(): void {
    if (this.socket.destroyed) return;
    if (!this.tcpClosedByServer) this.droppedByMe = true;
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- internals

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.state !== 'closed') fn();
    }, ms);
    this.timers.add(t);
  }

  private writeCorked(part: Buffer): Promise<void> {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => this.uncork());
    }
    return this.writeNow(part);
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private writeNow(part: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) return resolve();
      this.bytesSent += part.length;
      this.socket.write(part, () => resolve());
    });
  }

  private record(e: Observed): void {
    this.received.push(e);
    for (const l of [...this.listeners]) l(e);
  }

  private serverError(message: string): void {
    this.protocolErrors.push(message);
    // We fail the connection ourselves (RFC 6455 §7.1.7).
    if (this.state === 'open') void this.sendClose({ code: 1002 });
    this.after(200, () => this.drop());
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    let frames: ParsedFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.serverError(`unreadable frame: ${(err as Error).message}`);
      return;
    }
    for (const frame of frames) {
      this.frames.push({
        opcode: frame.opcode,
        fin: frame.fin,
        rsv: frame.rsv,
        length: frame.payload.length,
        at: performance.now(),
      });
      // Frames are handled strictly in order; inflating makes this asynchronous.
      this.frameChain = this.frameChain
        .then(() => this.onFrame(frame))
        .catch((err: unknown) => this.serverError(String(err)));
    }
  }

  private async onFrame(f: ParsedFrame): Promise<void> {
    if (this.closeReceived) {
      this.protocolErrors.push(`frame (opcode ${f.opcode}) received after the server's Close (RFC 6455 §5.5.1)`);
      return;
    }
    // RFC 6455 §5.1: a server MUST NOT mask frames.
    if (f.masked) return this.serverError('server sent a masked frame (RFC 6455 §5.1)');
    const compressedFlag = (f.rsv & 0x4) !== 0;
    if (f.rsv & 0x3) return this.serverError(`server set RSV2/RSV3 (RSV=${f.rsv}) (RFC 6455 §5.2)`);
    if (isControlOpcode(f.opcode)) {
      if (compressedFlag) return this.serverError('RSV1 on a control frame (RFC 7692 §6.1)');
      if (!f.fin) return this.serverError('fragmented control frame (RFC 6455 §5.5)');
      if (f.payload.length > 125) return this.serverError('control frame payload > 125 bytes (RFC 6455 §5.5)');
      const at = performance.now();
      if (f.opcode === Opcode.PING) {
        this.record({ kind: 'ping', data: f.payload, at });
        if (this.state === 'open') void this.sendFrame({ opcode: Opcode.PONG, payload: f.payload });
        return;
      }
      if (f.opcode === Opcode.PONG) {
        this.record({ kind: 'pong', data: f.payload, at });
        return;
      }
      if (f.opcode === Opcode.CLOSE) return this.onCloseFrame(f.payload, at);
      return this.serverError(`reserved control opcode ${f.opcode} (RFC 6455 §5.2)`);
    }
    if (f.opcode === Opcode.CONTINUATION) {
      if (!this.fragments) return this.serverError('continuation frame with nothing to continue (RFC 6455 §5.4)');
      if (compressedFlag) return this.serverError('RSV1 on a continuation frame (RFC 7692 §6.1)');
    } else if (f.opcode === Opcode.TEXT || f.opcode === Opcode.BINARY) {
      if (this.fragments) return this.serverError('new data frame inside a fragmented message (RFC 6455 §5.4)');
      if (compressedFlag && !this.codec) return this.serverError('RSV1 set without permessage-deflate (RFC 6455 §5.2)');
      this.fragments = { opcode: f.opcode, compressed: compressedFlag, parts: [], size: 0 };
    } else {
      return this.serverError(`reserved data opcode ${f.opcode} (RFC 6455 §5.2)`);
    }
    const msg = this.fragments;
    msg.parts.push(f.payload);
    msg.size += f.payload.length;
    if (msg.size > this.maxMessageBytes) return this.serverError(`message exceeds ${this.maxMessageBytes} bytes`);
    if (!f.fin) return;
    this.fragments = undefined;
    let data: Buffer = Buffer.concat(msg.parts, msg.size);
    if (msg.compressed && this.codec) {
      try {
        data = await this.codec.decompress(data, this.maxMessageBytes);
      } catch (err) {
        return this.serverError(`cannot inflate message: ${(err as Error).message} (RFC 7692 §7.2.2)`);
      }
    }
    const binary = msg.opcode === Opcode.BINARY;
    // RFC 6455 §8.1: text messages carry valid UTF-8 — from the server too.
    if (!binary && !isUtf8(data))
      return this.serverError('server sent a text message that is not valid UTF-8 (RFC 6455 §8.1)');
    this.record({ kind: 'message', binary, data, at: performance.now() });
  }

  private onCloseFrame(body: Buffer, at: number): void {
    const code = body.length >= 2 ? body.readUInt16BE(0) : undefined;
    this.closeReceived = { code, reason: body.subarray(2), at };
    if (body.length === 1) this.protocolErrors.push('server Close frame with a 1-byte body (RFC 6455 §5.5.1)');
    if (body.length > 2 && !isUtf8(body.subarray(2)))
      this.protocolErrors.push('server close reason is not UTF-8 (RFC 6455 §5.5.1)');
    if (this.state === 'open') {
      // Server-initiated: echo its code (RFC 6455 §5.5.1), then expect it to close TCP (§7.1.1).
      this.state = 'closing';
      void this.sendFrame({ opcode: Opcode.CLOSE, payload: code === undefined ? Buffer.alloc(0) : closePayload(code) });
    }
    this.after(this.serverDropTimeoutMs, () => {
      this.wasServerDropTimeout = true;
      this.drop();
    });
  }

  private onTcpClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.tcpClosedAt = performance.now();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Let in-flight frame handling (inflate) settle before announcing the end.
    void this.frameChain.finally(() => {
      this.codec?.close();
      this.resolveFinished();
    });
  }
}

function checkHandshakeResponse(
  head: string,
  key: string,
  offers: readonly DeflateOffer[] | undefined,
): NegotiatedDeflate | undefined {
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  // RFC 6455 §4.1: status 101, Upgrade: websocket, Connection: Upgrade, matching Accept.
  if (!/^HTTP\/1\.1 101\b/.test(statusLine))
    throw new HandshakeError(`expected 101 Switching Protocols, got "${statusLine}"`);
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket')
    throw new HandshakeError('missing "Upgrade: websocket"');
  const connection = (headers.get('connection') ?? '')
    .toLowerCase()
    .split(',')
    .map((s) => s.trim());
  if (!connection.includes('upgrade')) throw new HandshakeError('missing "Connection: Upgrade"');
  const expected = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  if (headers.get('sec-websocket-accept') !== expected)
    throw new HandshakeError('Sec-WebSocket-Accept does not match the key');
  if (headers.has('sec-websocket-protocol')) throw new HandshakeError('server selected a subprotocol we did not offer');
  const ext = headers.get('sec-websocket-extensions');
  if (ext === undefined || ext.trim() === '') return undefined;
  if (!offers || offers.length === 0) throw new HandshakeError(`server sent extensions we did not offer: "${ext}"`);
  try {
    return acceptResponse(ext, offers);
  } catch (err) {
    throw new HandshakeError(`bad permessage-deflate response: ${(err as Error).message}`);
  }
}
