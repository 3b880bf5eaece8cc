import { MAX_CONTROL_PAYLOAD_BYTES, OPCODES } from './constants.js';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';
import { applyMaskKey } from './mask.js';

/** What the parser reports, in wire order. It never does I/O itself. */
export interface FrameSink {
  /** The first frame of a text (1) or binary (2) message; `compressed` is its RSV1 bit. */
  onMessageStart(opcode: 1 | 2, compressed: boolean): void;
  /** Unmasked payload bytes of the current message, as soon as they arrive; `last`: they end it. */
  onMessageData(chunk: Buffer, last: boolean): void;
  /** The frame with FIN set has been fully delivered. */
  onMessageEnd(): void;
  /** A complete, unmasked control frame (close, ping or pong). */
  onControl(opcode: 0x8 | 0x9 | 0xa, payload: Buffer): void;
  /** The peer broke the protocol; the parser has stopped. */
  onProtocolError(error: ProtocolError): void;
}

/** What a FrameParser accepts; a WebSocketServer passes its own options' values. */
export interface FrameParserLimits {
  /**
   * Largest message, summed over its fragments (compressed size when compressed). No
   * default here: a WebSocketServer passes its `maxPayload` (default 1 MiB).
   */
  maxPayloadBytes: number;
  /** Most frames one message may be split into. No default here: a WebSocketServer passes its `maxFragments` (default 1024). */
  maxFragments: number;
  /** permessage-deflate was negotiated, so RSV1 may mark a compressed message. */
  compression: boolean;
}

type ParserState = 'header' | 'length16' | 'length64' | 'mask' | 'payload' | 'stopped';

const EMPTY = Buffer.alloc(0);
/**
 * The chunk list of a parser that holds no bytes: shared, and frozen so nothing is put in it.
 * An idle connection then keeps no array that once grew (about 150 bytes each).
 */
const NO_CHUNKS: Buffer[] = Object.freeze([]) as unknown as Buffer[];

/**
 *  bytes ──push()──▶ header ─▶ length16 | length64 ─▶ mask ─▶ payload ─┐
 *                      ▲                                              │
 *                      └──────────────── next frame ◀─────────────────┘
 *
 * RFC 6455 §5 frame parser: correct for any split of the byte stream, checks every
 * header before it buffers a payload byte, and streams data payloads to the sink as
 * they arrive so that UTF-8 can fail fast (§8.1) inside a frame.
 */
export class FrameParser {
  readonly #sink: FrameSink;
  readonly #limits: FrameParserLimits;
  #state: ParserState = 'header';
  #paused = false;
  #running = false;

  // Bytes received but not parsed yet: chunks[0] from offset #head on, then the rest.
  #chunks: Buffer[] = NO_CHUNKS;
  #head = 0;
  #buffered = 0;

  // The frame being parsed.
  #fin = false;
  #opcode = 0;
  #payloadLength = 0;
  #payloadRemaining = 0;
  #maskKey = 0;
  #maskOffset = 0;

  // The data message being assembled (opcode 0 when none).
  #messageOpcode = 0;
  #messageBytes = 0;
  #messageFragments = 0;

  /** A parser that hands what it reads to `sink`, within `limits`. */
  constructor(sink: FrameSink, limits: FrameParserLimits) {
    this.#sink = sink;
    this.#limits = limits;
  }

  /** Feeds bytes from the socket. */
  push(chunk: Buffer): void {
    if (this.#state === 'stopped' || chunk.length === 0) return;
    if (this.#chunks === NO_CHUNKS) this.#chunks = [chunk];
    else this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#run();
  }

  /** Holds parsing (while a message inflates); bytes keep being buffered. */
  pause(): void {
    this.#paused = true;
  }

  /** Goes on parsing what was buffered while paused. */
  resume(): void {
    this.#paused = false;
    this.#run();
  }

  /** Stops for good and drops what is buffered (after a close frame or an error). */
  stop(): void {
    this.#state = 'stopped';
    this.#chunks = NO_CHUNKS;
    this.#buffered = 0;
    this.#head = 0;
  }

  /** Bytes received and not yet parsed. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  #run(): void {
    if (this.#running) return;
    this.#running = true;
    try {
      let progressed = true;
      while (progressed && !this.#paused) {
        switch (this.#state) {
          case 'header':
            progressed = this.#readHeader();
            break;
          case 'length16':
            progressed = this.#readLength16();
            break;
          case 'length64':
            progressed = this.#readLength64();
            break;
          case 'mask':
            progressed = this.#readMask();
            break;
          case 'payload':
            progressed = this.#readPayload();
            break;
          case 'stopped':
            progressed = false;
            break;
        }
      }
    } finally {
      this.#running = false;
      if (this.#buffered === 0) this.#chunks = NO_CHUNKS;
    }
  }

  #readHeader(): boolean {
    if (this.#buffered < 2) return false;
    const b0 = this.#byte();
    const b1 = this.#byte();

    const opcode = b0 & 0x0f;
    const rsv1 = (b0 & 0x40) !== 0;
    this.#fin = (b0 & 0x80) !== 0;
    this.#opcode = opcode;

    // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame.
    if ((b1 & 0x80) === 0) return this.#fail('UNMASKED_FRAME', 1002, 'client frames must be masked');
    // RFC 6455 §5.2: RSV2/RSV3 MUST be 0 (no extension we negotiate defines them).
    if ((b0 & 0x30) !== 0) return this.#fail('RESERVED_BITS', 1002, 'RSV2 and RSV3 must be clear');

    if (opcode >= 0x8) {
      // RFC 6455 §5.5: control frames MUST NOT be fragmented.
      if (opcode > 0xa) return this.#fail('INVALID_OPCODE', 1002, `reserved opcode 0x${opcode.toString(16)}`);
      if (!this.#fin) return this.#fail('CONTROL_FRAME_FRAGMENTED', 1002, 'control frames must not be fragmented');
      // RFC 7692 §6: RSV1 belongs to the first frame of a data message only.
      if (rsv1) return this.#fail('RESERVED_BITS', 1002, 'RSV1 must be clear on a control frame');
    } else if (opcode === OPCODES.continuation) {
      // RFC 6455 §5.4: a continuation frame needs a message to continue.
      if (this.#messageOpcode === 0)
        return this.#fail('UNEXPECTED_CONTINUATION', 1002, 'continuation frame without a message to continue');
      if (rsv1) return this.#fail('RESERVED_BITS', 1002, 'RSV1 must be clear on a continuation frame');
      if (++this.#messageFragments > this.#limits.maxFragments) {
        return this.#fail(
          'TOO_MANY_FRAGMENTS',
          1009,
          `message split into more than ${this.#limits.maxFragments} frames`,
        );
      }
    } else if (opcode === OPCODES.text || opcode === OPCODES.binary) {
      // RFC 6455 §5.4: fragments of one message are not interleaved with another message.
      if (this.#messageOpcode !== 0)
        return this.#fail('EXPECTED_CONTINUATION', 1002, 'new message started before the previous one ended');
      // RFC 6455 §5.2: RSV1 MUST be 0 unless an extension defines it.
      if (rsv1 && !this.#limits.compression)
        return this.#fail('RESERVED_BITS', 1002, 'RSV1 set without a negotiated extension');
      this.#messageOpcode = opcode;
      this.#messageBytes = 0;
      this.#messageFragments = 1;
      this.#sink.onMessageStart(opcode, rsv1);
      if (this.#state === 'stopped') return false;
    } else {
      return this.#fail('INVALID_OPCODE', 1002, `reserved opcode 0x${opcode.toString(16)}`);
    }

    const length7 = b1 & 0x7f;
    if (length7 === 126) {
      this.#state = 'length16';
      return true;
    }
    if (length7 === 127) {
      this.#state = 'length64';
      return true;
    }
    return this.#setLength(length7);
  }

  #readLength16(): boolean {
    if (this.#buffered < 2) return false;
    const length = (this.#byte() << 8) | this.#byte();
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    if (length < 126) return this.#fail('NON_MINIMAL_LENGTH', 1002, 'length not minimally encoded');
    return this.#setLength(length);
  }

  #readLength64(): boolean {
    if (this.#buffered < 8) return false;
    const high = this.#uint32();
    const low = this.#uint32();
    // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
    if (high >= 0x80000000)
      return this.#fail('LENGTH_MSB_SET', 1002, 'most significant bit of the 64-bit length is set');
    if (high === 0 && low < 0x10000) return this.#fail('NON_MINIMAL_LENGTH', 1002, 'length not minimally encoded');
    // Past 2^53 the number is no longer exact, but any such length is over the limit anyway.
    return this.#setLength(high * 0x100000000 + low);
  }

  #setLength(length: number): boolean {
    if (this.#opcode >= 0x8) {
      // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
      if (length > MAX_CONTROL_PAYLOAD_BYTES) {
        return this.#fail('CONTROL_FRAME_TOO_LARGE', 1002, 'control frame payload over 125 bytes');
      }
    } else {
      // Checked against the declared length, before a single payload byte is held.
      this.#messageBytes += length;
      if (this.#messageBytes > this.#limits.maxPayloadBytes) {
        return this.#fail('PAYLOAD_TOO_LARGE', 1009, `message over ${this.#limits.maxPayloadBytes} bytes`);
      }
    }
    this.#payloadLength = length;
    this.#payloadRemaining = length;
    this.#state = 'mask';
    return true;
  }

  #readMask(): boolean {
    if (this.#buffered < 4) return false;
    this.#maskKey = this.#uint32();
    this.#maskOffset = 0;
    this.#state = 'payload';
    return true;
  }

  #readPayload(): boolean {
    if (this.#opcode >= 0x8) {
      if (this.#buffered < this.#payloadLength) return false;
      const payload = this.#take(this.#payloadLength, true);
      applyMaskKey(payload, this.#maskKey, 0);
      this.#state = 'header';
      this.#sink.onControl(this.#opcode as 0x8 | 0x9 | 0xa, payload);
      return true;
    }

    // Data: hand over whatever part of the payload has arrived.
    while (this.#payloadRemaining > 0) {
      if (this.#buffered === 0) return false;
      const piece = this.#take(Math.min(this.#payloadRemaining, this.#firstChunkBytes()), false);
      applyMaskKey(piece, this.#maskKey, this.#maskOffset);
      this.#maskOffset = (this.#maskOffset + piece.length) & 3;
      this.#payloadRemaining -= piece.length;
      this.#sink.onMessageData(piece, this.#fin && this.#payloadRemaining === 0);
      if (this.#state === 'stopped') return false;
    }

    this.#state = 'header';
    if (this.#fin) {
      this.#messageOpcode = 0;
      this.#sink.onMessageEnd();
    }
    return true;
  }

  #fail(code: ProtocolErrorCode, closeCode: number, message: string): false {
    this.stop();
    this.#sink.onProtocolError(new ProtocolError(code, closeCode, message));
    return false;
  }

  // ── reading from the chunk list ────────────────────────────────────────────

  #firstChunkBytes(): number {
    return (this.#chunks[0] as Buffer).length - this.#head;
  }

  #byte(): number {
    const chunk = this.#chunks[0] as Buffer;
    const byte = chunk[this.#head++] as number;
    this.#buffered--;
    if (this.#head === chunk.length) {
      this.#chunks.shift();
      this.#head = 0;
    }
    return byte;
  }

  #uint32(): number {
    return ((this.#byte() << 24) | (this.#byte() << 16) | (this.#byte() << 8) | this.#byte()) >>> 0;
  }

  /**
   * Removes `length` bytes from the front. A slice of one chunk is returned as a view;
   * bytes spanning chunks (or `copy`) are copied, so the result never aliases later input.
   */
  #take(length: number, copy: boolean): Buffer {
    if (length === 0) return EMPTY;
    this.#buffered -= length;
    const first = this.#chunks[0] as Buffer;
    const available = first.length - this.#head;
    if (length <= available) {
      const view = first.subarray(this.#head, this.#head + length);
      this.#head += length;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
      return copy ? Buffer.from(view) : view;
    }
    const out = Buffer.allocUnsafe(length);
    let written = 0;
    while (written < length) {
      const chunk = this.#chunks[0] as Buffer;
      const n = Math.min(chunk.length - this.#head, length - written);
      chunk.copy(out, written, this.#head, this.#head + n);
      written += n;
      this.#head += n;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    return out;
  }
}
