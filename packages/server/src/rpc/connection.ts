import type { IncomingMessage } from 'node:http';
import type { RpcError } from '@switchboard/contract';

/** A client connection as the application sees it: in hooks, handlers, authorize and snapshot. */
export interface Connection<Ctx = unknown> {
  /** Random and unique: safe to log, and to tell one tab of a user from another. */
  readonly id: string;
  /** What `context` made from the connection's credentials; replaced by a refresh. */
  readonly ctx: Ctx;
  /** The client's IP address as the TCP connection shows it (a proxy's, behind one). */
  readonly remoteAddress: string | undefined;
  /** When `context` accepted it (ms since the epoch). */
  readonly connectedAt: number;
}

/** How a connection ended: the close code and reason (1006 and '' when TCP dropped without one). */
export interface DisconnectInfo {
  /** The WebSocket close code. */
  readonly code: number;
  /** The close reason, '' when none. */
  readonly reason: string;
}

/** A connection `context` refused: the error its client got (close 4401 or 4403). */
export interface RefusedInfo {
  /** UNAUTHORIZED or FORBIDDEN, as `context` threw it. */
  readonly error: RpcError;
  /** The peer's IP address, when the socket still knows it. */
  readonly remoteAddress: string | undefined;
  /** The HTTP upgrade request: its headers, its URL. */
  readonly request: IncomingMessage;
}
