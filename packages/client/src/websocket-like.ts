/** The part of the WHATWG WebSocket the client uses: the browser's, Node 22's, or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

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
