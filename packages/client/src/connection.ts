import { binaryMessage, CLOSE_CODES, MAX_BATCH_CHARS, type PingEnvelope, PROTOCOL } from '@switchboard/contract';
import { nodeWsMessages, OPEN, type WebSocketConstructor, type WebSocketLike } from './websocket-like.js';

/** Application-level ping/pong, to find a connection that died without a close. */
export interface HeartbeatOptions {
  /** Send an application-level ping after this much silence. @default 10 s */
  intervalMs: number;
  /** Declare the connection dead when nothing arrives this long after a ping. @default 5 s */
  timeoutMs: number;
}

export interface ConnectionHandlers {
  onOpen(): void;
  /** Every message as the socket gave it: a string for text, an ArrayBuffer or Buffer for binary. Unchecked. */
  onMessage(data: unknown): void;
  /** Once per connection, whatever ended it; `code` is undefined when no close frame was seen. */
  onClose(code: number | undefined, reason: string): void;
}

/** The application-level heartbeat's envelope, written once. */
const PING_TEXT = JSON.stringify({ type: 'ping' } satisfies PingEnvelope);

/** Close code we use when the heartbeat finds the connection dead (a private-use code). */
export const HEARTBEAT_TIMEOUT_CODE = CLOSE_CODES.heartbeatTimeout;

/**
 * One WebSocket: a bounded handshake, an application-level heartbeat (browsers cannot
 * send ping frames), and exactly one onClose however the socket ends.
 */
export class Connection {
  readonly #socket: WebSocketLike;
  readonly #handlers: ConnectionHandlers;
  readonly #heartbeat: HeartbeatOptions | false;
  #open = false;
  #ended = false;
  #heardSinceCheck = true;
  #pingSentAt = 0;
  /** Envelopes sent in this task, going out together once it ends (see #flush). */
  #batch: string[] = [];
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    WebSocketClass: WebSocketConstructor,
    url: string,
    options: { connectTimeoutMs: number; heartbeat: HeartbeatOptions | false },
    handlers: ConnectionHandlers,
  ) {
    this.#handlers = handlers;
    this.#heartbeat = options.heartbeat;
    const socket = new WebSocketClass(url, PROTOCOL);
    this.#socket = socket;
    // Some WebSockets report nothing when TCP drops mid-handshake: bound it.
    this.#handshakeTimer = setTimeout(() => this.#end(undefined, 'connect timeout'), options.connectTimeoutMs);
    socket.addEventListener('open', () => this.#onOpen());
    const onMessage = (data: unknown) => {
      if (this.#ended) return; // a closing socket's last frames belong to no one now
      this.#heardSinceCheck = true;
      this.#pingSentAt = 0;
      this.#handlers.onMessage(data);
    };
    const ws = nodeWsMessages(socket);
    if (ws !== undefined) ws.on('message', (data, isBinary) => onMessage(isBinary ? data : data.toString()));
    else {
      // Binary messages as an ArrayBuffer, read at once (a browser's default is a Blob).
      socket.binaryType = 'arraybuffer';
      socket.addEventListener('message', (event) => onMessage(event.data));
    }
    socket.addEventListener('close', (event) => this.#end(event.code, event.reason));
    // Some fire 'error' and never 'close' (Node's own WebSocket on a refused connection).
    socket.addEventListener('error', () => this.#end(undefined, 'error'));
  }

  get isOpen(): boolean {
    return this.#open && !this.#ended && this.#socket.readyState === OPEN;
  }

  /**
   * Sends one envelope. Envelopes sent in the same task leave together, as one message
   * holding a JSON array of them (up to MAX_BATCH_CHARS each), when the task ends: a burst
   * of calls costs one WebSocket message instead of one each, and nothing waits longer.
   */
  send(text: string, parts?: Uint8Array[]): void {
    if (parts === undefined) {
      if (this.#batch.push(text) === 1) queueMicrotask(this.#flush);
      return;
    }
    // With byte values: one binary message of its own, after what this task sent already.
    this.#flush();
    if (!this.#ended && this.#socket.readyState === OPEN) this.#socket.send(binaryMessage(text, parts));
  }

  /** Sends one envelope now, alone, after what this task sent already (a connection's credentials). */
  sendNow(text: string): void {
    this.#flush();
    if (!this.#ended && this.#socket.readyState === OPEN) this.#socket.send(text);
  }

  readonly #flush = (): void => {
    const texts = this.#batch;
    if (texts.length === 0) return;
    this.#batch = [];
    if (this.#ended || this.#socket.readyState !== OPEN) return; // what the socket would have dropped
    if (texts.length === 1) {
      this.#socket.send(texts[0] as string);
      return;
    }
    let part: string[] = [];
    let chars = 1;
    for (const text of texts) {
      if (part.length > 0 && chars + text.length + 1 > MAX_BATCH_CHARS) {
        this.#sendPart(part);
        part = [];
        chars = 1;
      }
      part.push(text);
      chars += text.length + 1;
    }
    this.#sendPart(part);
  };

  #sendPart(texts: string[]): void {
    this.#socket.send(texts.length === 1 ? (texts[0] as string) : `[${texts.join(',')}]`);
  }

  /**
   * Closes and reports the end at once, with `code`; the socket's own close event is then
   * ignored. The peer sees 1000 and `reason` (see #end) unless `code` is ours to send.
   */
  close(code: number, reason: string): void {
    this.#end(code, reason);
  }

  #onOpen(): void {
    clearTimeout(this.#handshakeTimer);
    if (this.#socket.protocol !== PROTOCOL) {
      // A server that does not speak our protocol version: terminal for the client.
      this.#end(1002, `expected the ${PROTOCOL} subprotocol`);
      return;
    }
    this.#open = true;
    this.#startHeartbeat();
    this.#handlers.onOpen();
  }

  #startHeartbeat(): void {
    const heartbeat = this.#heartbeat;
    if (heartbeat === false) return;
    const tickMs = Math.max(10, Math.floor(Math.min(heartbeat.intervalMs, heartbeat.timeoutMs) / 2));
    let quietSince = Date.now();
    this.#heartbeatTimer = setInterval(() => {
      const now = Date.now();
      if (this.#heardSinceCheck) {
        this.#heardSinceCheck = false;
        quietSince = now;
        return;
      }
      if (this.#pingSentAt !== 0) {
        if (now - this.#pingSentAt >= heartbeat.timeoutMs) this.#end(HEARTBEAT_TIMEOUT_CODE, 'heartbeat timeout');
      } else if (now - quietSince >= heartbeat.intervalMs && this.isOpen) {
        this.#pingSentAt = now;
        this.#socket.send(PING_TEXT);
      }
    }, tickMs);
  }

  #end(code: number | undefined, reason: string): void {
    if (this.#ended) return;
    if (this.#open) this.#flush(); // what this task sent goes before the close
    this.#ended = true;
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#heartbeatTimer);
    if (this.#socket.readyState <= OPEN) {
      try {
        // The WHATWG API sends only 1000 and 3000–4999 (close(1002) throws InvalidAccessError):
        // the client's 1002, 1003 or 1009 go out as 1000 with the reason; onClose gets the code.
        this.#socket.close(code === HEARTBEAT_TIMEOUT_CODE ? code : 1000, reason.slice(0, 120));
      } catch {
        // Closing already: it is going away anyway.
      }
    }
    this.#handlers.onClose(code, reason);
  }
}
