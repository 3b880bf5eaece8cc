import { isValidCloseCode, MAX_CONTROL_PAYLOAD_BYTES } from './constants.js';

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

/**
 * RFC 6455 §5.5.1: the payload of a Close frame, a 2-byte code then a UTF-8 reason.
 * Programmer mistakes (an unsendable code, a reason that is not a string or is too long)
 * throw here, before anything reaches the wire.
 */
export function encodeClosePayload(code?: number, reason?: string): Buffer {
  if (code === undefined) {
    if (reason !== undefined && reason !== '') throw new TypeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent (RFC 6455 §7.4)`);
  }
  if (reason !== undefined && typeof reason !== 'string') throw new TypeError('the close reason must be a string');
  const reasonLength = reason === undefined ? 0 : Buffer.byteLength(reason);
  if (reasonLength > MAX_CONTROL_PAYLOAD_BYTES - 2) {
    throw new RangeError(`the close reason is ${reasonLength} bytes; at most 123 fit in a close frame`);
  }
  const payload = Buffer.alloc(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  if (reason) payload.write(reason, 2, 'utf8');
  return payload;
}
