import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { encodeClosePayload, readClosePayload } from './close-payload.js';
import { CLOSE_CODES, OPCODES } from './constants.js';
import { DeferredReads } from './deferred-reads.js';
import { ProtocolError } from './errors.js';
import { FrameParser, type FrameSink } from './frame-parser.js';
import { FrameSender, type SendCallback, type SenderHost } from './frame-sender.js';
import { encodeTextFrame, type Sendable, toBuffer, toControlPayload } from './frame-writer.js';
import { Heartbeat } from './heartbeat.js';
import { MessageReceiver, type ReceiverHost } from './message-receiver.js';
import type { Negotiated, SocketConfig } from './options.js';
import type { PerMessageDeflate } from './permessage-deflate.js';
import type { SendOptions, ServerWebSocketEvents } from './socket-events.js';

//  open ──close()──────────▶ closing ──peer Close + TCP closed──▶ closed
//   │  ──peer Close (echoed)─▶ closing ──TCP closed──────────────▶ closed
//   │  ──protocol error (Close with its code)─▶ closing ─────────▶ closed
//   └──terminate(), TCP lost, pong timeout, send buffer full ───▶ closed
// In `closing` a timer destroys the TCP socket if the peer does not finish the handshake.
// Data messages are received by a MessageReceiver (with its own states: reading, inflating)
// and sent by a FrameSender (ordered behind compression, bounded by maxBufferedBytes).

/** A socket's lifecycle: `closing` from the first Close frame until the TCP connection is gone. */
export type SocketState = 'open' | 'closing' | 'closed';

export type { SendCallback } from './frame-sender.js';

export type { SendOptions, ServerWebSocketEvents } from './socket-events.js';

const READY_STATES = { open: 1, closing: 2, closed: 3 } as const;
/** Text up to this many bytes (a slice of Node's Buffer pool) is encoded straight into its frame; longer, framed unjoined. */
const TEXT_IN_FRAME_BYTES = 4 * 1024;
const EMPTY = Buffer.alloc(0);
const kSocket = Symbol('switchboard.socket');
type TcpWithSocket = Socket & { [kSocket]: ServerWebSocket };
type TcpListener<A extends unknown[] = []> = (this: TcpWithSocket, ...args: A) => void;

// TCP listeners shared by every socket (assigned in ServerWebSocket's static block).
let onTcpData: TcpListener<[Buffer]>;
let readChunk: (socket: ServerWebSocket, chunk: Buffer) => void;
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

/**
 * One accepted WebSocket connection (RFC 6455), server side. Created by
 * `WebSocketServer`; applications only use its events and `send`/`close`.
 */
export class ServerWebSocket
  extends EventEmitter<ServerWebSocketEvents>
  implements FrameSink, ReceiverHost, SenderHost
{
  /** `readyState` of an open socket, as in the WHATWG WebSocket. */
  static readonly OPEN = 1;
  /** `readyState` once a Close frame was sent or received. */
  static readonly CLOSING = 2;
  /** `readyState` once the TCP connection is gone. */
  static readonly CLOSED = 3;

  /** The subprotocol agreed in the handshake, or ''. */
  readonly protocol: string;
  /** The Sec-WebSocket-Extensions response value, or ''. */
  readonly extensions: string;

  readonly #tcp: Socket;
  readonly #config: SocketConfig;
  readonly #parser: FrameParser;
  readonly #deflate: PerMessageDeflate | undefined;
  readonly #receiver: MessageReceiver;
  readonly #sender: FrameSender;
  #deferred: DeferredReads | undefined; // a peer that is no TCP socket: see deferred-reads.ts
  #state: SocketState = 'open';

  // Closing.
  /** The peer's close code, or the code we failed the connection with. */
  #closeCode: number | undefined;
  #closeReason: Buffer = EMPTY;
  #closeTimer: NodeJS.Timeout | undefined;

  /** Driven by the server's one shared timer. */
  readonly #heartbeat = new Heartbeat();

  /** @internal Created by WebSocketServer after a successful handshake. */
  constructor(tcp: Socket, head: Buffer, config: SocketConfig, negotiated: Negotiated) {
    super();
    this.#tcp = tcp;
    this.#config = config;
    this.#deflate = negotiated.deflate;
    this.protocol = negotiated.protocol;
    this.extensions = negotiated.extensions;
    this.#parser = new FrameParser(this, negotiated.deflate ? config.parserLimitsCompressed : config.parserLimits);
    this.#receiver = new MessageReceiver(this, tcp, this.#parser, config.maxPayloadBytes, negotiated.deflate);
    this.#sender = new FrameSender(tcp, config.maxBufferedBytes, this);
    // A Duplex handed to handleUpgrade need not be a net.Socket.
    (tcp as Partial<Socket>).setTimeout?.(0);
    (tcp as Partial<Socket>).setNoDelay?.(true);
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
    readChunk = (socket: ServerWebSocket, chunk: Buffer): void => {
      // What the messages of this read answer at once leaves in one write when they are done.
      socket.#sender.beginBatch();
      try {
        socket.#parser.push(chunk);
      } finally {
        socket.#sender.endBatch();
      }
    };
    onTcpData = function (this: TcpWithSocket, chunk: Buffer): void {
      const socket = this[kSocket];
      if (socket.#sender.writing || socket.#deferred?.pending === true) socket.#defer(chunk);
      else readChunk(socket, chunk);
    };
    onTcpEnd = function (this: TcpWithSocket): void {
      const socket = this[kSocket];
      if (socket.#deferred?.pending === true) socket.#deferred.endAfter();
      else socket.#handleTcpEnd();
    };
    onTcpClose = function (this: TcpWithSocket): void {
      this[kSocket].#handleTcpClose();
    };
    onTcpDrain = function (this: TcpWithSocket): void {
      this[kSocket].emit('drain');
    };
  }

  /** Bytes delivered inside our own write (a peer that is no TCP socket): read on the next tick. */
  #defer(chunk: Buffer): void {
    this.#deferred ??= new DeferredReads(
      (later) => readChunk(this, later),
      () => this.#handleTcpEnd(),
    );
    this.#deferred.push(chunk);
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
    return this.#sender.bufferedAmount;
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
    if (!this.#openFor(callback)) return;
    const deflate = this.#deflate;
    if (typeof data === 'string' && deflate === undefined) {
      const length = Buffer.byteLength(data);
      if (length <= TEXT_IN_FRAME_BYTES) {
        this.#sender.sendEncoded(encodeTextFrame(opcode, data, length), callback);
        return;
      }
    }
    const payload = toBuffer(data);
    if (deflate !== undefined && options?.compress !== false && payload.length >= deflate.threshold) {
      this.#sender.sendCompressed(deflate, opcode, payload, callback);
      return;
    }
    this.#sender.send(opcode, payload, false, callback);
  }

  /**
   * Sends one binary message made of `parts` in order, unjoined (joined only to be compressed):
   * big byte values go to the TCP socket as they are, so they must not change until `callback`.
   * @example socket.sendParts([header, bytes], done)
   */
  sendParts(parts: readonly Uint8Array[], callback?: SendCallback): void {
    if (!this.#openFor(callback)) return;
    if (this.#deflate !== undefined) this.send(Buffer.concat(parts), { binary: true }, callback);
    else this.#sender.sendGathered(OPCODES.binary, parts, callback);
  }

  /**
   * Sends a frame already encoded with `encodeFrame` (unmasked, RSV1 clear), as fan-out does. Returns false
   * once the socket holds more than its high-water mark (16 KiB): only then is `bufferedAmount` worth reading.
   */
  sendFrame(frame: Buffer, callback?: SendCallback): boolean {
    if (!this.#openFor(callback)) return true;
    return this.#sender.sendEncoded(frame, callback);
  }

  /** Sends a ping; `data` is at most 125 bytes. */
  ping(data?: Sendable | number, callback?: SendCallback): void {
    this.#sendControl(OPCODES.ping, data, callback);
  }

  /** Sends an unsolicited pong (RFC 6455 §5.5.3: a unidirectional heartbeat). */
  pong(data?: Sendable | number, callback?: SendCallback): void {
    this.#sendControl(OPCODES.pong, data, callback);
  }

  /** Starts the closing handshake (RFC 6455 §7.1.2); throws for a code that may not be sent or a reason over 123 bytes. */
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
    this.#heartbeat.heard();
    this.#receiver.start(opcode === OPCODES.binary, compressed);
  }

  /** @internal */
  onMessageData(chunk: Buffer, last: boolean): void {
    // Data is a sign of life as it arrives (not that the peer reads: maxBufferedBytes deals with
    // that), and the pong to our ping cannot overtake a large frame still arriving on a slow link.
    this.#heartbeat.heard();
    this.#receiver.data(chunk, last);
  }

  /** @internal */
  onMessageEnd(): void {
    this.#receiver.end();
  }

  /** @internal A complete message, from the receiver. */
  deliverMessage(data: Buffer, binary: boolean): void {
    this.emit('message', data, binary);
  }

  /** @internal */
  onControl(opcode: 0x8 | 0x9 | 0xa, payload: Buffer): void {
    if (opcode === OPCODES.ping) {
      // RFC 6455 §5.5.2: answer a ping with a pong carrying the same payload.
      if (this.#state === 'open') this.#sender.send(OPCODES.pong, payload, false, undefined);
      this.emit('ping', payload);
    } else if (opcode === OPCODES.pong) {
      // RFC 6455 §5.5.3: a pong sent in response carries the ping's application data.
      this.#heartbeat.pong(payload);
      this.emit('pong', payload);
    } else {
      this.#onCloseFrame(payload);
    }
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    this.#fail(error);
  }

  /** @internal A tick of the shared heartbeat: ping a peer silent for pingIntervalMs, end one unanswered for pongTimeoutMs. */
  checkHeartbeat(nowMs: number, pingIntervalMs: number, pongTimeoutMs: number): void {
    if (this.#state !== 'open') return;
    const due = this.#heartbeat.tick(nowMs, pingIntervalMs, pongTimeoutMs);
    if (due === undefined) return;
    if (due !== 'dead') {
      this.#sender.send(OPCODES.ping, due, false, undefined);
      return;
    }
    this.#emitError(new ProtocolError('PONG_TIMEOUT', CLOSE_CODES.abnormal, `no pong within ${pongTimeoutMs} ms`));
    this.terminate();
  }

  // ── closing ──────────────────────────────────────────────────────────────

  #onCloseFrame(payload: Buffer): void {
    this.#parser.stop(); // RFC 6455 §5.5.1: nothing after a Close frame is data.
    const read = readClosePayload(payload);
    if (read instanceof ProtocolError) {
      this.#fail(read);
      return;
    }
    const { code, reason } = read;
    this.#closeCode = code;
    this.#closeReason = reason;

    if (this.#state === 'open') {
      // RFC 6455 §5.5.1: reply with a Close frame, echoing the status code.
      this.#startClosing(code === CLOSE_CODES.noStatus ? EMPTY : encodeClosePayload(code));
    }
    // RFC 6455 §7.1.1: the server closes the TCP connection first.
    this.#sender.endWhenFlushed();
  }

  #startClosing(payload: Buffer): void {
    this.#state = 'closing';
    // Behind any message still being compressed: nothing may follow a Close frame.
    this.#sender.send(OPCODES.close, payload, false, undefined);
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
    this.#sender.drop(new Error('the connection failed'), false);
    if (!this.#sender.closeFrameSent) {
      if (this.#state === 'open') this.#startClosing(encodeClosePayload(error.closeCode));
      else this.#sender.sendNow(OPCODES.close, encodeClosePayload(error.closeCode), false, undefined);
    }
    // Reading may be paused for an inflation; the peer's FIN must still be seen.
    this.#tcp.resume();
    this.#tcp.end();
  }

  #handleTcpEnd(): void {
    if (this.#state === 'closed') return;
    // Frames behind a message being inflated (often its Close) are still to be read.
    if (!this.#receiver.peerEnded()) return;
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
    this.#receiver.clear();
    const code = this.#closeCode ?? CLOSE_CODES.abnormal;
    const reason = this.#closeReason;
    this.#sender.drop(new Error('the WebSocket closed before the message was sent'), true);
    this.#config.onClosed?.(this);
    this.emit('close', code, reason);
  }

  #emitError(error: ProtocolError): void {
    // Peer mistakes are reported, never thrown: no listener, no exception.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #sendControl(opcode: number, data: Sendable | number | undefined, callback: SendCallback | undefined): void {
    const payload = toControlPayload(data);
    if (this.#openFor(callback)) this.#sender.send(opcode, payload, false, callback);
  }

  /** Whether the socket is open; if not, `callback` gets the error. */
  #openFor(callback: SendCallback | undefined): boolean {
    if (this.#state === 'open') return true;
    callback?.(new Error(`the WebSocket is ${this.#state}`));
    return false;
  }

  /** @internal A write would have passed maxBufferedBytes: a peer that does not read is dropped. */
  overflowed(): void {
    const message = `over ${this.#config.maxBufferedBytes} bytes queued for a peer that does not read`;
    this.#emitError(new ProtocolError('SEND_BUFFER_FULL', CLOSE_CODES.policyViolation, message));
    this.terminate();
  }
}
