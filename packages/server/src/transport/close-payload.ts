// The payload of a Close frame (RFC 6455 §5.5.1): a 2-byte status code, then a UTF-8 reason.
import { CLOSE_CODES, isValidCloseCode, MAX_CONTROL_PAYLOAD_BYTES } from './constants.js';
import { ProtocolError } from './errors.js';
import { isValidUtf8 } from './utf8.js';

const EMPTY = Buffer.alloc(0);

/**
 * RFC 6455 §5.5.1: the payload of a Close frame, a 2-byte code then a UTF-8 reason.
 * Programmer mistakes (an unsendable code, a reason that is not a string or is too long)
 * throw here, before anything reaches the wire.
 */
export function encodeClosePayload(code?: number, reason?: string): Buffer {
  if (code === undefined) {
    if (reason !== undefined && reason !== '') throw new TypeError('a close reason needs a close code');
    return EMPTY;
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

/**
 * Reads a peer's Close payload: its code (1005 when it has none) and reason, or the
 * ProtocolError to fail the connection with.
 */
export function readClosePayload(payload: Buffer): { code: number; reason: Buffer } | ProtocolError {
  if (payload.length === 0) return { code: CLOSE_CODES.noStatus, reason: EMPTY };
  if (payload.length === 1) return new ProtocolError('INVALID_CLOSE_PAYLOAD', 1002, 'close frame payload of 1 byte');
  const code = payload.readUInt16BE(0);
  // RFC 6455 §7.4: reserved or unassigned codes are a protocol error.
  if (!isValidCloseCode(code)) return new ProtocolError('INVALID_CLOSE_CODE', 1002, `invalid close code ${code}`);
  const reason = payload.subarray(2);
  // RFC 6455 §5.5.1: the reason is UTF-8.
  if (!isValidUtf8(reason)) return new ProtocolError('INVALID_UTF8', 1007, 'close reason is not valid UTF-8');
  return { code, reason };
}
