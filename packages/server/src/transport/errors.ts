/** Stable codes for every way a peer can break the protocol. */
export type ProtocolErrorCode =
  | 'UNMASKED_FRAME'
  | 'RESERVED_BITS'
  | 'INVALID_OPCODE'
  | 'CONTROL_FRAME_FRAGMENTED'
  | 'CONTROL_FRAME_TOO_LARGE'
  | 'NON_MINIMAL_LENGTH'
  | 'LENGTH_MSB_SET'
  | 'UNEXPECTED_CONTINUATION'
  | 'EXPECTED_CONTINUATION'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_FRAGMENTS'
  | 'INVALID_UTF8'
  | 'INVALID_CLOSE_PAYLOAD'
  | 'INVALID_CLOSE_CODE'
  | 'INVALID_COMPRESSED_DATA'
  | 'SEND_BUFFER_FULL'
  | 'PONG_TIMEOUT';

/**
 * A peer broke RFC 6455 (or one of our limits). The socket closes with `closeCode`
 * and emits the error to its `error` listeners, if it has any.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ProtocolErrorCode,
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}
