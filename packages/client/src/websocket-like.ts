/** The part of the WHATWG WebSocket the client uses: the browser's, Node 22's, or `ws`'s. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The subprotocol the server chose. */
  readonly protocol: string;
  /** Sends a text message, or a binary one. */
  send(data: string | Uint8Array): void;
  /** How binary messages arrive; the client sets 'arraybuffer' (except on `ws`, whose Buffers it reads). */
  binaryType?: string;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** The connection opened. */
  addEventListener(type: 'open', listener: () => void): void;
  /** A message arrived: a string, or bytes. */
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** The connection closed, with the close code and reason. */
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  /** The connection failed; a `close` follows. */
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** A WebSocket class: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `ws`'s own event API beside its WHATWG one: a message without an event object made for it. */
interface NodeWsMessages {
  on(event: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): unknown;
}

/**
 * `socket`'s own message events when it is `ws`'s WebSocket handing over Buffers (its
 * default), else undefined: the WHATWG `addEventListener` of `ws` makes a MessageEvent per
 * message, which a process holding thousands of clients pays for on every delivery.
 */
export function nodeWsMessages(socket: WebSocketLike): NodeWsMessages | undefined {
  const candidate = socket as Partial<NodeWsMessages> & { binaryType?: unknown };
  return typeof candidate.on === 'function' && candidate.binaryType === 'nodebuffer'
    ? (candidate as NodeWsMessages)
    : undefined;
}

/** WHATWG readyState values. */
export const OPEN = 1;
