/**
 * The server's RFC 6455 WebSocket transport on its own: frames, sockets and a `WebSocketServer` for node:http.
 *
 * @module @switchboard/server/transport
 */
export { encodeClosePayload, readClosePayload } from './close-payload.js';
export { CLOSE_CODES, isValidCloseCode, OPCODES, type Opcode } from './constants.js';
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export { FrameParser, type FrameParserLimits, type FrameSink } from './frame-parser.js';
export { encodeFrame, encodeHeader, encodeTextFrame } from './frame-writer.js';
export { acceptKey } from './handshake.js';
export { applyMask } from './mask.js';
export {
  DEFAULTS,
  type HandleProtocols,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientInfo,
  type WebSocketServerOptions,
} from './options.js';
export type { PerMessageDeflateOptions } from './permessage-deflate.js';
export {
  type SendCallback,
  type SendOptions,
  ServerWebSocket,
  type ServerWebSocketEvents,
  type SocketState,
} from './socket.js';
export { Utf8Validator } from './utf8.js';
export { WebSocketServer, type WebSocketServerEvents, type WebSocketServerState } from './websocket-server.js';
