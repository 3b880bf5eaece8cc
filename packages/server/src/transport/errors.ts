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
  /** Always `'ProtocolError'`. */
  override readonly name = 'ProtocolError';

  /** A breach with its stable `code` and the close code to send. */
  constructor(
    /** Which rule or limit was broken: stable, for programs to test. */
    readonly code: ProtocolErrorCode,
    /** The close code the socket sends: 1002, 1007 or 1009. */
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}
