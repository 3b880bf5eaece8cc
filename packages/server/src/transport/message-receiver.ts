// The receiving half of a socket, for data: one message at a time, from its first frame to
// its delivery — UTF-8 checked as it arrives, a compressed one inflated first.
//
//   reading ──compressed message ends──▶ inflating ──inflated, delivered──▶ reading
//                                           │  ▲
//                          peer's FIN ──────▼  │ (the next message may inflate at once)
//                                    inflating, then end ──delivered──▶ end TCP
//
// While inflating, the parser and TCP are paused, so that messages keep their order and an
// inflating connection holds one message; a FIN that arrives meanwhile waits for the frames
// before it (often a Close).
import type { Socket } from 'node:net';
import { ProtocolError } from './errors.js';
import type { FrameParser } from './frame-parser.js';
import { MessageAssembly } from './message-assembly.js';
import type { PerMessageDeflate } from './permessage-deflate.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

type ReceiveState = 'reading' | 'inflating' | 'inflating, then end';

const EMPTY = Buffer.alloc(0);

/** What the receiver needs from its socket. */
export interface ReceiverHost {
  /** A complete, valid message. */
  deliverMessage(data: Buffer, binary: boolean): void;
  /** The message broke RFC 6455 (UTF-8, compression): fail the connection. */
  onProtocolError(error: ProtocolError): void;
  /** 'closed': an inflation that finishes now is dropped. */
  readonly state: 'open' | 'closing' | 'closed';
}

export class MessageReceiver {
  readonly #host: ReceiverHost;
  readonly #tcp: Socket;
  readonly #parser: FrameParser;
  readonly #deflate: PerMessageDeflate | undefined;
  readonly #assembly: MessageAssembly;
  #state: ReceiveState = 'reading';
  #binary = false;
  #compressed = false;
  /** Made on the first text message: a connection that sends none never pays for it. */
  #utf8: Utf8Validator | undefined;

  constructor(
    host: ReceiverHost,
    tcp: Socket,
    parser: FrameParser,
    maxPayloadBytes: number,
    deflate: PerMessageDeflate | undefined,
  ) {
    this.#host = host;
    this.#tcp = tcp;
    this.#parser = parser;
    this.#deflate = deflate;
    this.#assembly = new MessageAssembly(maxPayloadBytes);
  }

  start(binary: boolean, compressed: boolean): void {
    this.#binary = binary;
    this.#compressed = compressed;
  }

  /** `last`: this piece ends the message. */
  data(chunk: Buffer, last: boolean): void {
    if (!this.#binary && !this.#compressed && !this.#isText(chunk, last)) {
      // RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection (1007), at the first bad byte.
      this.#host.onProtocolError(new ProtocolError('INVALID_UTF8', 1007, 'text message is not valid UTF-8'));
      return;
    }
    this.#assembly.keep(chunk);
  }

  /**
   * A text message's piece checked as it arrives. A message that comes whole (most do) is
   * checked in one call, with no validator: one is made only for a message in pieces.
   */
  #isText(chunk: Buffer, last: boolean): boolean {
    if (last && this.#assembly.empty && (this.#utf8 === undefined || this.#utf8.idle)) return isValidUtf8(chunk);
    return this.#validator().push(chunk);
  }

  end(): void {
    const parts = this.#assembly.take();
    if (this.#compressed && this.#deflate !== undefined) {
      this.#inflate(this.#deflate, parts, this.#binary);
      return;
    }
    if (!this.#binary && this.#utf8 !== undefined && !this.#utf8.end()) {
      this.#host.onProtocolError(new ProtocolError('INVALID_UTF8', 1007, 'text message ends inside a UTF-8 sequence'));
      return;
    }
    this.#deliver(parts, this.#binary);
  }

  /** The peer half-closed TCP: true when our side may end now, false to wait for an inflation. */
  peerEnded(): boolean {
    if (this.#state === 'reading') return true;
    this.#state = 'inflating, then end';
    return false;
  }

  /** Lets go of an unfinished message (the connection closed). */
  clear(): void {
    this.#assembly.clear();
  }

  #deliver(parts: Buffer[], binary: boolean): void {
    this.#host.deliverMessage(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), binary);
  }

  #inflate(deflate: PerMessageDeflate, parts: Buffer[], binary: boolean): void {
    this.#parser.pause();
    this.#tcp.pause();
    this.#state = 'inflating';
    deflate.decompress(parts, (error, inflated) => {
      const peerEnded = this.#state === 'inflating, then end';
      this.#state = 'reading';
      if (this.#closed()) return;
      if (error || inflated === undefined) {
        this.#host.onProtocolError(
          error instanceof ProtocolError ? error : new ProtocolError('INVALID_COMPRESSED_DATA', 1007, String(error)),
        );
        return;
      }
      if (!binary && !this.#isUtf8(inflated)) return;
      this.#deliver(inflated.length === 0 ? [EMPTY] : inflated, binary);
      if (this.#closed()) return; // a message listener may have terminated the socket
      this.#tcp.resume();
      this.#parser.resume(); // may start inflating the next message
      if (!peerEnded || this.#closed()) return;
      if (this.#state === 'reading') this.#tcp.end();
      else this.#state = 'inflating, then end';
    });
  }

  /** Checks an inflated text message whole; fails the connection if it is not UTF-8. */
  #isUtf8(pieces: Buffer[]): boolean {
    const utf8 = this.#validator();
    for (const piece of pieces) {
      if (!utf8.push(piece)) {
        utf8.reset();
        this.#host.onProtocolError(new ProtocolError('INVALID_UTF8', 1007, 'text message is not valid UTF-8'));
        return false;
      }
    }
    if (utf8.end()) return true;
    this.#host.onProtocolError(new ProtocolError('INVALID_UTF8', 1007, 'text message ends inside a UTF-8 sequence'));
    return false;
  }

  /** The socket has closed (a message listener may close it, so this is read afresh each time). */
  #closed(): boolean {
    return this.#host.state === 'closed';
  }

  #validator(): Utf8Validator {
    this.#utf8 ??= new Utf8Validator();
    return this.#utf8;
  }
}
