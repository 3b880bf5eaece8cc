import { parseJson, RpcError, readBinaryMessage } from '@switchboard/contract';
import { isLongerThan } from './utf8.js';

/** 1002 Protocol Error (RFC 6455 §7.4.1): a message that is not a protocol v1 envelope. */
export const PROTOCOL_ERROR = 1002;
/** 1003 Unsupported Data (RFC 6455 §7.4.1): a message neither text nor bytes (a Blob: binaryType was changed). */
const UNSUPPORTED_DATA = 1003;
/** 1009 Message Too Big (RFC 6455 §7.4.1): a message refused for its size, by either side. */
export const MESSAGE_TOO_BIG = 1009;

/** Why a server message is refused, and the close code the connection is dropped with. */
export class Refusal {
  readonly error: RpcError;
  readonly code: number;
  constructor(error: RpcError, code: number) {
    this.error = error;
    this.code = code;
  }
}

/**
 * One message from the server as the socket gave it (a string; an ArrayBuffer, or `ws`'s
 * Buffer, for binary) read into JSON, or the Refusal to drop the connection with. Its size
 * is checked first: JSON.parse of a huge text costs a multiple of its size. A binary
 * message is checked as the contract's readBinaryMessage does (its byte values are then in
 * the envelope's meta.b, for decodeValue).
 */
export function readServerMessage(data: unknown, maxMessageBytes: number): unknown {
  if (typeof data === 'string') {
    if (isLongerThan(data, maxMessageBytes)) return tooBig(maxMessageBytes);
    try {
      return parseJson(data);
    } catch {
      return new Refusal(
        new RpcError('BAD_REQUEST', 'bad server message: not JSON, or a __proto__ key'),
        PROTOCOL_ERROR,
      );
    }
  }
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  if (!(bytes instanceof Uint8Array)) {
    return new Refusal(new RpcError('BAD_REQUEST', 'bad server message: neither text nor bytes'), UNSUPPORTED_DATA);
  }
  if (bytes.byteLength > maxMessageBytes) return tooBig(maxMessageBytes);
  try {
    return readBinaryMessage(bytes);
  } catch (error) {
    const { message } = error as RpcError;
    return new Refusal(new RpcError('BAD_REQUEST', `bad server message: ${message}`), PROTOCOL_ERROR);
  }
}

function tooBig(maxMessageBytes: number): Refusal {
  const error = new RpcError(
    'PAYLOAD_TOO_LARGE',
    `bad server message: over maxMessageBytes (${maxMessageBytes} bytes)`,
  );
  return new Refusal(error, MESSAGE_TOO_BIG);
}
