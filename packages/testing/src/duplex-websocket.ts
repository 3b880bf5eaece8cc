import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocketLike } from '@switchboard/client';
import { acceptKey, applyMask, encodeHeader, OPCODES } from '@switchboard/server/transport';
import { FrameSplitter } from './frames.js';

/** Any of the WHATWG listeners (each takes its own event). */
type Listener = (event: never) => void;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The client end of a test pair's connection: the WHATWG WebSocket the client expects,
 * over any Duplex (an in-memory socket, or a TCP socket to the loopback proxy). It speaks
 * just what the client needs of RFC 6455: the opening handshake (§4.1, its accept key
 * checked), masked frames out (§5.3), whole frames in, pings answered (§5.5.2), the closing
 * handshake (§7). The server side is the real transport.
 */
export class DuplexWebSocket implements WebSocketLike {
  readyState = CONNECTING;
  protocol = '';
  readonly #socket: Duplex;
  readonly #key = randomBytes(16).toString('base64');
  readonly #splitter = new FrameSplitter();
  readonly #listeners = new Map<string, Listener[]>();
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  #closeCode: number | undefined;
  #closeReason = '';
  #closeSent = false;

  constructor(url: string, protocols: string | string[] | undefined, open: () => Duplex) {
    const { pathname, search, host } = new URL(url);
    const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
    this.#socket = open();
    this.#socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    this.#socket.on('error', () => {
      if (this.readyState === CONNECTING) this.#emit('error', new Error('the connection failed'));
    });
    this.#socket.on('close', () => this.#closed());
    this.#socket.write(
      `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n` +
        (offered.length > 0 ? `Sec-WebSocket-Protocol: ${offered.join(', ')}\r\n` : '') +
        '\r\n',
    );
  }

  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== OPEN) return;
    if (typeof data === 'string') this.#write(OPCODES.text, Buffer.from(data));
    else this.#write(OPCODES.binary, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === CONNECTING) {
      this.readyState = CLOSING;
      this.#socket.destroy();
    } else if (this.readyState === OPEN) {
      this.readyState = CLOSING;
      this.#sendClose(code, reason);
    }
  }

  #emit(type: string, event?: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) (listener as (event: unknown) => void)(event);
  }

  /** A client frame: masked with a fresh key (RFC 6455 §5.3). */
  #write(opcode: number, payload: Buffer): void {
    const header = encodeHeader(opcode, payload.length);
    header[1] = (header[1] as number) | 0x80;
    const mask = randomBytes(4);
    const masked = Buffer.from(payload);
    applyMask(masked, mask, 0);
    this.#socket.write(Buffer.concat([header, mask, masked]));
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.#write(OPCODES.close, body);
  }

  #receive(chunk: Buffer): void {
    for (const { bytes } of this.#splitter.push(chunk)) {
      if (this.readyState === CONNECTING) this.#handshake(bytes);
      else this.#frame(bytes);
    }
  }

  #handshake(head: Buffer): void {
    const [status = '', ...lines] = head.toString('latin1').split('\r\n');
    const headers = new Map(
      lines
        .filter((line) => line.includes(':'))
        .map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
        }),
    );
    if (!/^HTTP\/1\.1 101\b/.test(status) || headers.get('sec-websocket-accept') !== acceptKey(this.#key)) {
      this.#emit('error', new Error(`the upgrade was refused: ${status}`));
      this.#socket.destroy();
      return;
    }
    this.protocol = headers.get('sec-websocket-protocol') ?? '';
    this.readyState = OPEN;
    this.#emit('open');
  }

  /** A server frame: unmasked (RFC 6455 §5.1), whole (the splitter cut it). */
  #frame(frame: Buffer): void {
    const opcode = (frame[0] as number) & 0x0f;
    const fin = ((frame[0] as number) & 0x80) !== 0;
    const length7 = (frame[1] as number) & 0x7f;
    const payload = frame.subarray(length7 === 126 ? 4 : length7 === 127 ? 10 : 2);
    if (opcode === OPCODES.ping) {
      if (this.readyState === OPEN) this.#write(OPCODES.pong, Buffer.from(payload));
    } else if (opcode === OPCODES.close) {
      this.#closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.#closeReason = payload.subarray(2).toString('utf8');
      this.readyState = CLOSING;
      // §5.5.1: answer with a Close; the server then closes the TCP connection (§7.1.1).
      this.#sendClose(this.#closeCode === 1005 ? 1000 : this.#closeCode, '');
    } else if (opcode !== OPCODES.pong) {
      if (opcode !== 0) this.#fragmentOpcode = opcode;
      this.#fragments.push(payload);
      if (!fin) return;
      const message = Buffer.concat(this.#fragments);
      this.#fragments = [];
      if (this.readyState === OPEN) {
        this.#emit('message', { data: this.#fragmentOpcode === OPCODES.text ? message.toString('utf8') : message });
      }
    }
  }

  #closed(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    // No Close frame from the server: the connection dropped (1006, RFC 6455 §7.1.5).
    this.#emit('close', { code: this.#closeCode ?? 1006, reason: this.#closeReason });
  }
}
