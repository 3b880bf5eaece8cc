/** RFC 6455 §1.3: the GUID concatenated with Sec-WebSocket-Key. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §5.2 opcodes. */
export const OPCODES = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** A frame opcode of OPCODES. */
export type Opcode = (typeof OPCODES)[keyof typeof OPCODES];

/** RFC 6455 §7.4.1 status codes the transport sends itself. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
} as const;

/**
 * RFC 6455 §7.4: may this code appear in a Close frame on the wire?
 * 1004, 1005, 1006 and 1015 are reserved and MUST NOT be sent; 1000–2999 other
 * than the registered ones are reserved; 3000–4999 belong to libraries and apps.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** RFC 6455 §5.5: control frames carry at most 125 bytes of payload. */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;
