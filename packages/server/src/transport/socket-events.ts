// What a ServerWebSocket emits, and what send() takes.
import type { ProtocolError } from './errors.js';

/** The events of a ServerWebSocket, with their arguments. */
export interface ServerWebSocketEvents {
  /** A complete message: text arrives as UTF-8 bytes with `isBinary` false. */
  message: [data: Buffer, isBinary: boolean];
  /** The TCP connection is gone. `code` is the peer's close code, 1005 for none, 1006 if no Close arrived. */
  close: [code: number, reason: Buffer];
  /** The peer broke the protocol or a limit; emitted only when someone listens. */
  error: [error: ProtocolError];
  /** A ping arrived (it is answered with a pong already). */
  ping: [data: Buffer];
  /** A pong arrived. */
  pong: [data: Buffer];
  /** The send buffer has emptied. */
  drain: [];
}

/** How ServerWebSocket.send() frames a message. */
export interface SendOptions {
  /** Send as a binary message. @default true for buffers, false for strings */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated and the message reaches the threshold. @default true */
  compress?: boolean;
}
