import { MAX_CONTROL_PAYLOAD_BYTES } from './constants.js';

/** What `send` takes: text, or bytes in any of the usual containers. */
export type Sendable = string | Buffer | ArrayBuffer | ArrayBufferView;

const EMPTY = Buffer.alloc(0);

export function toBuffer(data: Sendable): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError('data must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}

/** A ping or pong payload; RFC 6455 §5.5: at most 125 bytes. */
export function toControlPayload(data: Sendable | number | undefined): Buffer {
  if (data === undefined) return EMPTY;
  // Numbers are sent as their decimal text, never as an allocation size (ws 1.0.1 advisory).
  const payload = toBuffer(typeof data === 'number' ? String(data) : data);
  if (payload.length > MAX_CONTROL_PAYLOAD_BYTES) {
    throw new RangeError('control frame payloads are at most 125 bytes (RFC 6455 §5.5)');
  }
  return payload;
}

/** Payloads up to this size are copied behind their header so a frame is one buffer. */
export const COPY_THRESHOLD_BYTES = 1024;

/** Length of the header of an unmasked (server-to-client) frame. */
export function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
}

/**
 * Writes an unmasked frame header into `target` at `offset`; returns the next offset.
 * RFC 6455 §5.1: a server MUST NOT mask the frames it sends.
 */
export function writeHeader(
  target: Buffer,
  offset: number,
  opcode: number,
  payloadLength: number,
  fin: boolean,
  rsv1: boolean,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  // RFC 6455 §5.2: the minimal number of bytes encodes the length.
  if (payloadLength < 126) {
    target[offset + 1] = payloadLength;
    return offset + 2;
  }
  if (payloadLength < 0x10000) {
    target[offset + 1] = 126;
    target.writeUInt16BE(payloadLength, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  target.writeUInt32BE(Math.floor(payloadLength / 0x100000000), offset + 2);
  target.writeUInt32BE(payloadLength >>> 0, offset + 6);
  return offset + 10;
}

/** A complete frame in one buffer: header then payload. */
export function encodeFrame(opcode: number, payload: Uint8Array, rsv1 = false, fin = true): Buffer {
  const frame = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
  const offset = writeHeader(frame, 0, opcode, payload.length, fin, rsv1);
  frame.set(payload, offset);
  return frame;
}

/**
 * A complete frame whose payload is `text`, encoded straight into the frame (`byteLength`
 * given). `allocate` may give it memory of its own (`Buffer.allocUnsafeSlow`) where it is
 * kept long: a small Buffer from Node's shared pool holds the whole 8 KiB slab around it.
 */
export function encodeTextFrame(
  opcode: number,
  text: string,
  byteLength: number,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const frame = allocate(headerLength(byteLength) + byteLength);
  const offset = writeHeader(frame, 0, opcode, byteLength, true, false);
  frame.write(text, offset, 'utf8');
  return frame;
}

/** A frame header alone, for payloads large enough to be written without a copy. */
export function encodeHeader(opcode: number, payloadLength: number, rsv1 = false, fin = true): Buffer {
  const header = Buffer.allocUnsafe(headerLength(payloadLength));
  writeHeader(header, 0, opcode, payloadLength, fin, rsv1);
  return header;
}
