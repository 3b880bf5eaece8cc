import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { CLOSE_CODES, isValidCloseCode, MAX_CONTROL_PAYLOAD_BYTES, OPCODES } from './constants.js';
import { ProtocolError } from './errors.js';
import { FrameParser, type FrameParserLimits, type FrameSink } from './frame-parser.js';
import {
  COPY_THRESHOLD_BYTES,
  encodeClosePayload,
  encodeFrame,
  encodeHeader,
  encodeTextFrame,
} from './frame-writer.js';
import { MessageAssembly } from './message-assembly.js';
import type { PerMessageDeflate } from './permessage-deflate.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

//  open ──close()──────────▶ closing ──peer Close + TCP closed──▶ closed
//   │  ──peer Close (echoed)─▶ closing ──TCP closed──────────────▶ closed
//   │  ──protocol error (Close with its code)─▶ closing ─────────▶ closed
//   └──terminate(), TCP lost, pong timeout, send buffer full ───▶ closed
// In `closing` a timer destroys the TCP socket if the peer does not finish the handshake.

export type SocketState = 'open' | 'closing' | 'closed';

export interface ServerWebSocketEvents {
  /** A complete message: text arrives as UTF-8 bytes with `isBinary` false. */
  message: [data: Buffer, isBinary: boolean];
  /** The TCP connection is gone. `code` is the peer's close code, 1005 for none, 1006 if no Close arrived. */
  close: [code: number, reason: Buffer];
  /** The peer broke the protocol or a limit; emitted only when someone listens. */
  error: [error: ProtocolError];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** The send buffer has emptied. */
  drain: [];
}

/** Settings shared by every socket of a server, resolved once. */
export interface SocketConfig {
  maxPayloadBytes: number;
  /** Parser limits without and with permessage-deflate, shared by all sockets. */
  parserLimits: FrameParserLimits;
  parserLimitsCompressed: FrameParserLimits;
  maxBufferedBytes: number;
  closeTimeoutMs: number;
  /** Called once when a socket has closed, before its 'close' event. */
  onClosed: ((socket: ServerWebSocket) => void) | undefined;
}

/** What one handshake agreed on. */
export interface Negotiated {
  protocol: string;
  extensions: string;
  deflate: PerMessageDeflate | undefined;
}

export interface SendOptions {
  /** Send as a binary message. @default true for buffers, false for strings */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated and the message reaches the threshold. @default true */
  compress?: boolean;
}

export type SendCallback = (error?: Error | null) => void;

type Sendable = string | Buffer | ArrayBuffer | ArrayBufferView;

/** A frame waiting behind a message that is still being compressed. */
interface PendingFrame {
  opcode: number;
  payload: Buffer;
  rsv1: boolean;
  callback: SendCallback | undefined;
  /** False while the payload is still being compressed. */
  ready: boolean;
}

const READY_STATES = { open: 1, closing: 2, closed: 3 } as const;
/** Random bytes in each heartbeat ping: a pong can carry them only if the peer read the ping. */
const HEARTBEAT_PAYLOAD_BYTES = 8;
const EMPTY = Buffer.alloc(0);
/** PendingFrame.opcode of a frame that sendFrame() received already encoded. */
const ENCODED = -1;
const kSocket = Symbol('switchboard.socket');
type TcpWithSocket = Socket & { [kSocket]: ServerWebSocket };
type TcpListener<A extends unknown[] = []> = (this: TcpWithSocket, ...args: A) => void;

// TCP listeners shared by every socket (assigned in ServerWebSocket's static block).
let onTcpData: TcpListener<[Buffer]>;
let onTcpEnd: TcpListener;
let onTcpClose: TcpListener;
let onTcpDrain: TcpListener;

function onTcpError(): void {
  // 'close' follows; a reset by the peer is not our error to throw.
}

/**
 * What a dropped connection's unsent writes fail with. One shared error: destroyed without
 * one, Node makes an error (with its stack) for every buffered write — thousands for a
 * peer that stopped reading, which stalls the event loop.
 */
const DROPPED = new Error('the WebSocket connection was dropped');

function toBuffer(data: Sendable): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError('data must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}

function toControlPayload(data: Sendable | number | undefined): Buffer {
  if (data === undefined) return EMPTY;
  // Numbers are sent as their decimal text, never as an allocation size (ws 1.0.1 advisory).
  const payload = toBuffer(typeof data === 'number' ? String(data) : data);
  if (payload.length > MAX_CONTROL_PAYLOAD_BYTES) {
    throw new RangeError('control frame payloads are at most 125 bytes (RFC 6455 §5.5)');
  }
  return payload;
}

function uncork(socket: ServerWebSocket): void {
  socket.uncorkNow();
}

/**
 * One accepted WebSocket connection (RFC 6455), server side. Created by
 * `WebSocketServer`; applications only use its events and `send`/`close`.
 */
export class ServerWebSocket extends EventEmitter<ServerWebSocketEvents> implements FrameSink {
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  /** The subprotocol agreed in the handshake, or ''. */
  readonly protocol: string;
  /** The Sec-WebSocket-Extensions response value, or ''. */
  readonly extensions: string;

  readonly #tcp: Socket;
  readonly #config: SocketConfig;
  readonly #parser: FrameParser;
  readonly #deflate: PerMessageDeflate | undefined;
  #state: SocketState = 'open';
  #corked = false;

  // The message being received.
  #messageBinary = false;
  #messageCompressed = false;
  readonly #assembly: MessageAssembly;
  #utf8: Utf8Validator | undefined;
  #inflating = false;
  /** The peer's FIN arrived while a message was inflating. */
  #peerEnded = false;

  // Sending: frames queue here only while a compressed message is being produced.
  readonly #pending: PendingFrame[] = [];
  #endAfterPending = false;

  // Closing.
  /** Our Close frame has been written (not merely queued behind a compression). */
  #closeFrameSent = false;
  /** The peer's close code, or the code we failed the connection with. */
  #closeCode: number | undefined;
  #closeReason: Buffer = EMPTY;
  #closeTimer: NodeJS.Timeout | undefined;

  // Heartbeat, driven by the server's one shared timer.
  /** A data frame, or the pong that answers our ping, arrived since the last tick. */
  #heard = true;
  #quietSinceMs = 0;
  /** The payload of our heartbeat ping awaiting its pong; undefined when none is out. */
  #pingPayload: Buffer | undefined;
  #pingSentAtMs = 0;

  /** @internal Created by WebSocketServer after a successful handshake. */
  constructor(tcp: Socket, head: Buffer, config: SocketConfig, negotiated: Negotiated) {
    super();
    this.#tcp = tcp;
    this.#config = config;
    this.#assembly = new MessageAssembly(config.maxPayloadBytes);
    this.#deflate = negotiated.deflate;
    this.protocol = negotiated.protocol;
    this.extensions = negotiated.extensions;
    this.#parser = new FrameParser(this, negotiated.deflate ? config.parserLimitsCompressed : config.parserLimits);

    tcp.setTimeout(0);
    tcp.setNoDelay(true);
    if (head.length > 0) tcp.unshift(head);
    // Listeners are shared functions, not closures: an idle connection stays small.
    (tcp as TcpWithSocket)[kSocket] = this;
    tcp.on('data', onTcpData);
    tcp.on('end', onTcpEnd);
    tcp.on('close', onTcpClose);
    tcp.on('error', onTcpError);
    tcp.on('drain', onTcpDrain);
  }

  static {
    // Defined here so that they may reach private state; `this` is the TCP socket.
    onTcpData = function (this: TcpWithSocket, chunk: Buffer): void {
      this[kSocket].#parser.push(chunk);
    };
    onTcpEnd = function (this: TcpWithSocket): void {
      this[kSocket].#handleTcpEnd();
    };
    onTcpClose = function (this: TcpWithSocket): void {
      this[kSocket].#handleTcpClose();
    };
    onTcpDrain = function (this: TcpWithSocket): void {
      this[kSocket].emit('drain');
    };
  }

  /** 'open' | 'closing' | 'closed'. */
  get state(): SocketState {
    return this.#state;
  }

  /** WHATWG-style readyState: 1 open, 2 closing, 3 closed. */
  get readyState(): 1 | 2 | 3 {
    return READY_STATES[this.#state];
  }

  /** Bytes accepted by `send` and not yet handed to the kernel. */
  get bufferedAmount(): number {
    let pending = 0;
    for (const frame of this.#pending) pending += frame.payload.length;
    return this.#tcp.writableLength + pending;
  }

  /** The peer's address, as the TCP socket reports it. */
  get remoteAddress(): string | undefined {
    return this.#tcp.remoteAddress;
  }

  /**
   * Sends a message. Never throws for a closed socket: `callback` gets the error.
   * @example socket.send(JSON.stringify(value)); socket.send(bytes, { binary: true }, done)
   */
  send(data: Sendable, options?: SendOptions | SendCallback, callback?: SendCallback): void {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const binary = options?.binary ?? typeof data !== 'string';
    const opcode = binary ? OPCODES.binary : OPCODES.text;
    if (this.#state !== 'open') {
      this.#notOpen(callback);
      return;
    }
    const deflate = this.#deflate;
    if (typeof data === 'string' && deflate === undefined && this.#pending.length === 0) {
      // Short text goes straight into its frame: no intermediate Buffer.
      const length = Buffer.byteLength(data);
      if (length <= COPY_THRESHOLD_BYTES) {
        this.#writeEncoded(encodeTextFrame(opcode, data, length), callback);
        return;
      }
    }
    const payload = toBuffer(data);
    if (deflate !== undefined && options?.compress !== false && payload.length >= deflate.threshold) {
      this.#sendCompressed(deflate, opcode, payload, callback);
      return;
    }
    this.#sendFrame(opcode, payload, false, callback);
  }

  /**
   * Sends a frame already encoded with `encodeFrame` (unmasked, RSV1 clear): fan-out
   * encodes a message once and hands the same bytes to every subscriber. Returns false
   * once the socket holds more than Node's high-water mark (16 KiB), as `Writable.write`
   * does: only then is `bufferedAmount` worth reading.
   */
  sendFrame(frame: Buffer, callback?: SendCallback): boolean {
    if (this.#state !== 'open') {
      this.#notOpen(callback);
      return true;
    }
    if (this.#pending.length > 0) {
      this.#pending.push({ opcode: ENCODED, payload: frame, rsv1: false, callback, ready: true });
      return false;
    }
    return this.#writeEncoded(frame, callback);
  }

  /** Sends a ping; `data` is at most 125 bytes. */
  ping(data?: Sendable | number, callback?: SendCallback): void {
    const payload = toControlPayload(data);
    if (this.#state !== 'open') {
      this.#notOpen(callback);
      return;
    }
    this.#sendFrame(OPCODES.ping, payload, false, callback);
  }

  /** Sends an unsolicited pong (RFC 6455 §5.5.3: a unidirectional heartbeat). */
  pong(data?: Sendable | number, callback?: SendCallback): void {
    const payload = toControlPayload(data);
    if (this.#state !== 'open') {
      this.#notOpen(callback);
      return;
    }
    this.#sendFrame(OPCODES.pong, payload, false, callback);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). Throws a RangeError/TypeError
   * for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string): void {
    const payload = encodeClosePayload(code, reason);
    if (this.#state !== 'open') return;
    this.#startClosing(payload);
  }

  /** Destroys the TCP connection at once, without a closing handshake. */
  terminate(): void {
    if (this.#state === 'closed') return;
    this.#tcp.destroy(DROPPED);
  }

  // ── receiving (FrameSink) ────────────────────────────────────────────────

  /** @internal */
  onMessageStart(opcode: 1 | 2, compressed: boolean): void {
    this.#heard = true;
    this.#messageBinary = opcode === OPCODES.binary;
    this.#messageCompressed = compressed;
  }

  /** @internal */
  onMessageData(chunk: Buffer): void {
    // Data counts as a sign of life as it arrives: it proves the peer is alive, not that it
    // reads (maxBufferedBytes deals with peers that do not read), and the pong to our ping
    // cannot overtake a large frame still arriving on a slow link.
    this.#heard = true;
    if (!this.#messageBinary && !this.#messageCompressed && !this.#utf8Validator().push(chunk)) {
      // RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection (1007), at the first bad byte.
      this.#fail(new ProtocolError('INVALID_UTF8', 1007, 'text message is not valid UTF-8'));
      return;
    }
    this.#assembly.keep(chunk);
  }

  /** @internal */
  onMessageEnd(): void {
    const parts = this.#assembly.take();
    if (this.#messageCompressed && this.#deflate !== undefined) {
      this.#inflate(this.#deflate, parts, this.#messageBinary);
      return;
    }
    if (!this.#messageBinary && this.#utf8 !== undefined && !this.#utf8.end()) {
      this.#fail(new ProtocolError('INVALID_UTF8', 1007, 'text message ends inside a UTF-8 sequence'));
      return;
    }
    this.#deliver(parts, this.#messageBinary);
  }

  /** @internal */
  onControl(opcode: 0x8 | 0x9 | 0xa, payload: Buffer): void {
    // Neither a ping nor an unsolicited pong (RFC 6455 §5.5.3) counts as a sign of life:
    // a peer that never reads could send one now and then and stay connected for ever.
    if (opcode === OPCODES.ping) {
      // RFC 6455 §5.5.2: answer a ping with a pong carrying the same payload.
      if (this.#state === 'open') this.#sendFrame(OPCODES.pong, payload, false, undefined);
      this.emit('ping', payload);
    } else if (opcode === OPCODES.pong) {
      // RFC 6455 §5.5.3: a pong sent in response carries the ping's application data.
      if (this.#pingPayload?.equals(payload)) this.#heard = true;
      this.emit('pong', payload);
    } else {
      this.#onCloseFrame(payload);
    }
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    this.#fail(error);
  }

  /**
   * @internal One tick of the server's shared heartbeat timer: ping a peer that has sent
   * no data for `pingIntervalMs`, terminate one that has not answered within `pongTimeoutMs`.
   */
  checkHeartbeat(nowMs: number, pingIntervalMs: number, pongTimeoutMs: number): void {
    if (this.#state !== 'open') return;
    if (this.#heard) {
      this.#heard = false;
      this.#quietSinceMs = nowMs;
      this.#pingPayload = undefined;
      return;
    }
    if (this.#pingPayload !== undefined) {
      if (nowMs - this.#pingSentAtMs >= pongTimeoutMs) {
        this.#emitError(new ProtocolError('PONG_TIMEOUT', CLOSE_CODES.abnormal, `no pong within ${pongTimeoutMs} ms`));
        this.terminate();
      }
    } else if (nowMs - this.#quietSinceMs >= pingIntervalMs) {
      // Random, not a counter: a peer that does not read could guess the next few counts.
      this.#pingPayload = randomBytes(HEARTBEAT_PAYLOAD_BYTES);
      this.#pingSentAtMs = nowMs;
      this.#sendFrame(OPCODES.ping, this.#pingPayload, false, undefined);
    }
  }

  #deliver(parts: Buffer[], binary: boolean): void {
    const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    this.emit('message', data, binary);
  }

  #inflate(deflate: PerMessageDeflate, parts: Buffer[], binary: boolean): void {
    // Hold parsing and reading until this message is inflated, to keep order and memory.
    this.#parser.pause();
    this.#tcp.pause();
    this.#inflating = true;
    deflate.decompress(parts, (error, inflated) => {
      this.#inflating = false;
      if (this.#state === 'closed') return;
      if (error || inflated === undefined) {
        this.#fail(
          error instanceof ProtocolError ? error : new ProtocolError('INVALID_COMPRESSED_DATA', 1007, String(error)),
        );
        return;
      }
      if (!binary) {
        const utf8 = this.#utf8Validator();
        for (const piece of inflated) {
          if (!utf8.push(piece)) {
            utf8.reset();
            this.#fail(new ProtocolError('INVALID_UTF8', 1007, 'text message is not valid UTF-8'));
            return;
          }
        }
        if (!utf8.end()) {
          this.#fail(new ProtocolError('INVALID_UTF8', 1007, 'text message ends inside a UTF-8 sequence'));
          return;
        }
      }
      this.#deliver(inflated.length === 0 ? [EMPTY] : inflated, binary);
      if (this.#isClosed()) return; // a message listener may have terminated us
      this.#tcp.resume();
      this.#parser.resume();
      if (this.#peerEnded && !this.#inflating && !this.#isClosed()) this.#tcp.end();
    });
  }

  // ── closing ──────────────────────────────────────────────────────────────

  #onCloseFrame(payload: Buffer): void {
    this.#parser.stop(); // RFC 6455 §5.5.1: nothing after a Close frame is data.
    if (payload.length === 1) {
      this.#fail(new ProtocolError('INVALID_CLOSE_PAYLOAD', 1002, 'close frame payload of 1 byte'));
      return;
    }
    let code: number = CLOSE_CODES.noStatus;
    let reason: Buffer = EMPTY;
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      // RFC 6455 §7.4: reserved or unassigned codes are a protocol error.
      if (!isValidCloseCode(code)) {
        this.#fail(new ProtocolError('INVALID_CLOSE_CODE', 1002, `invalid close code ${code}`));
        return;
      }
      reason = payload.subarray(2);
      // RFC 6455 §5.5.1: the reason is UTF-8.
      if (!isValidUtf8(reason)) {
        this.#fail(new ProtocolError('INVALID_UTF8', 1007, 'close reason is not valid UTF-8'));
        return;
      }
    }
    this.#closeCode = code;
    this.#closeReason = reason;

    if (this.#state === 'open') {
      // RFC 6455 §5.5.1: reply with a Close frame, echoing the status code.
      this.#startClosing(code === CLOSE_CODES.noStatus ? EMPTY : encodeClosePayload(code));
    }
    // RFC 6455 §7.1.1: the server closes the TCP connection first.
    this.#endWhenFlushed();
  }

  /** Ends TCP once frames waiting behind a compression have been written. */
  #endWhenFlushed(): void {
    if (this.#pending.length === 0) this.#tcp.end();
    else this.#endAfterPending = true;
  }

  #startClosing(payload: Buffer): void {
    this.#state = 'closing';
    // Behind any message still being compressed: nothing may follow a Close frame.
    this.#sendFrame(OPCODES.close, payload, false, undefined);
    this.#closeTimer = setTimeout(() => this.#tcp.destroy(DROPPED), this.#config.closeTimeoutMs);
    this.#closeTimer.unref();
  }

  /** RFC 6455 §7.1.7 "Fail the WebSocket Connection": Close with the error's code, then drop TCP. */
  #fail(error: ProtocolError): void {
    this.#parser.stop();
    this.#emitError(error);
    if (this.#state === 'closed') return;
    this.#closeCode ??= error.closeCode;
    // Failing: messages still being compressed (and a Close queued behind them) are
    // dropped, and our Close goes out now.
    for (const frame of this.#pending.splice(0)) frame.callback?.(new Error('the connection failed'));
    if (!this.#closeFrameSent) {
      if (this.#state === 'open') this.#startClosing(encodeClosePayload(error.closeCode));
      else this.#sendFrameNow(OPCODES.close, encodeClosePayload(error.closeCode), false, undefined);
    }
    // Reading may be paused for an inflation; the peer's FIN must still be seen.
    this.#tcp.resume();
    this.#tcp.end();
  }

  #handleTcpEnd(): void {
    if (this.#state === 'closed') return;
    // Frames behind a message being inflated (often its Close) are still to be read.
    if (this.#inflating) {
      this.#peerEnded = true;
      return;
    }
    // The peer half-closed. Without a Close frame this is an abnormal closure.
    this.#tcp.end();
  }

  #handleTcpClose(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#closeTimer);
    this.#parser.stop();
    this.#deflate?.close();
    // An unfinished message goes now, whoever still holds this socket object.
    this.#assembly.clear();
    const code = this.#closeCode ?? CLOSE_CODES.abnormal;
    const reason = this.#closeReason;
    for (const frame of this.#pending.splice(0))
      frame.callback?.(new Error('the WebSocket closed before the message was sent'));
    this.#config.onClosed?.(this);
    this.emit('close', code, reason);
  }

  /** Created on the first text message: a connection that sends none never pays for it. */
  #utf8Validator(): Utf8Validator {
    this.#utf8 ??= new Utf8Validator();
    return this.#utf8;
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #emitError(error: ProtocolError): void {
    // Peer mistakes are reported, never thrown: no listener, no exception.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #notOpen(callback: SendCallback | undefined): void {
    callback?.(new Error(`the WebSocket is ${this.#state}`));
  }

  // ── sending ──────────────────────────────────────────────────────────────

  #sendCompressed(
    deflate: PerMessageDeflate,
    opcode: number,
    payload: Buffer,
    callback: SendCallback | undefined,
  ): void {
    // Frames sent after this one wait in #pending until it is compressed, to keep their order.
    const slot: PendingFrame = { opcode, payload, rsv1: true, callback, ready: false };
    this.#pending.push(slot);
    deflate.compress(payload, (error, compressed) => {
      if (error || compressed === undefined) {
        this.#pending.splice(this.#pending.indexOf(slot), 1);
        callback?.(error ?? new Error('compression failed'));
      } else {
        slot.payload = compressed;
        slot.ready = true;
      }
      this.#flushPending();
    });
  }

  #flushPending(): void {
    while (this.#pending.length > 0 && (this.#pending[0] as PendingFrame).ready) {
      const frame = this.#pending.shift() as PendingFrame;
      if (frame.opcode === ENCODED) this.#writeEncoded(frame.payload, frame.callback);
      else this.#sendFrameNow(frame.opcode, frame.payload, frame.rsv1, frame.callback);
    }
    if (this.#pending.length === 0 && this.#endAfterPending) this.#tcp.end();
  }

  #sendFrame(opcode: number, payload: Buffer, rsv1: boolean, callback: SendCallback | undefined): void {
    if (this.#pending.length > 0) {
      this.#pending.push({ opcode, payload, rsv1, callback, ready: true });
      return;
    }
    this.#sendFrameNow(opcode, payload, rsv1, callback);
  }

  #sendFrameNow(opcode: number, payload: Buffer, rsv1: boolean, callback: SendCallback | undefined): void {
    if (opcode === OPCODES.close) this.#closeFrameSent = true;
    if (payload.length <= COPY_THRESHOLD_BYTES) {
      this.#writeEncoded(encodeFrame(opcode, payload, rsv1), callback);
      return;
    }
    if (!this.#mayQueue(payload.length, callback)) return;
    this.#cork();
    this.#tcp.write(encodeHeader(opcode, payload.length, rsv1));
    this.#tcp.write(payload, callback);
  }

  /** False once the TCP socket holds more than Node's high-water mark (then see bufferedAmount). */
  #writeEncoded(frame: Buffer, callback: SendCallback | undefined): boolean {
    if (!this.#mayQueue(frame.length, callback)) return true;
    this.#cork();
    return this.#tcp.write(frame, callback);
  }

  /**
   * A peer that does not read cannot make us hold more than maxBufferedBytes (one
   * message larger than the cap may still be sent into an empty buffer).
   */
  #mayQueue(bytes: number, callback: SendCallback | undefined): boolean {
    if (this.#state === 'closed') {
      callback?.(new Error('the WebSocket is closed'));
      return false;
    }
    const queued = this.#tcp.writableLength;
    if (queued > 0 && queued + bytes > this.#config.maxBufferedBytes) {
      this.#emitError(
        new ProtocolError(
          'SEND_BUFFER_FULL',
          CLOSE_CODES.policyViolation,
          `over ${this.#config.maxBufferedBytes} bytes queued for a peer that does not read`,
        ),
      );
      callback?.(new Error('send buffer full: the connection was terminated'));
      this.terminate();
      return false;
    }
    return true;
  }

  /** Frames written in the same tick leave in one write (writev) on the next. */
  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#tcp.cork();
    process.nextTick(uncork, this);
  }

  /** @internal */
  uncorkNow(): void {
    this.#corked = false;
    this.#tcp.uncork();
  }
}
