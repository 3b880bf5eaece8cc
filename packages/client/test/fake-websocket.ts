import type { WebSocketLike } from '../src/websocket-like.js';

type Listener = (event: never) => void;

/**
 * An in-memory WHATWG-like WebSocket for unit tests: the test opens, feeds and closes
 * it by hand, and reads what the client sent. Every instance is kept in `created`.
 */
export class FakeWebSocket implements WebSocketLike {
  static created: FakeWebSocket[] = [];
  readyState = 0;
  protocol = '';
  /** Set by the client: how binary messages should arrive. */
  binaryType = 'blob';
  /** The binary messages the client sent. */
  readonly sentBinary: Uint8Array[] = [];
  /** What the client sent after its credentials. */
  readonly sent: string[] = [];
  /** The `auth` envelopes the client sent (its credentials: the first message, and refreshes). */
  readonly auths: Array<{ type: 'auth'; id: number; data?: unknown; contract?: unknown }> = [];
  /** What the client passed to close(), if it closed the socket itself. */
  closedWith: { code: number; reason: string } | undefined;
  readonly url: string;
  readonly #listeners = new Map<string, Listener[]>();

  constructor(url: string) {
    this.url = url;
    FakeWebSocket.created.push(this);
  }

  static reset(): void {
    FakeWebSocket.created = [];
  }

  static last(): FakeWebSocket {
    const socket = FakeWebSocket.created.at(-1);
    if (socket === undefined) throw new Error('no socket was created');
    return socket;
  }

  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  send(data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      this.sentBinary.push(data);
      return;
    }
    const auth = data.startsWith('{"type":"auth"') ? (JSON.parse(data) as FakeWebSocket['auths'][number]) : undefined;
    if (auth === undefined) this.sent.push(data);
    else this.auths.push(auth);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.closedWith = { code, reason };
    this.readyState = 3;
    this.#emit('close', { code, reason });
  }

  // ── driven by the test ──

  /**
   * The handshake succeeds; with `authenticate` (the default), the server accepts the
   * credentials the client sent first at once, as a server without `context` would.
   */
  open(protocol = 'switchboard.v1', { authenticate = true } = {}): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.#emit('open', {});
    if (authenticate) this.authenticate();
  }

  /** Answers the client's last `auth` with `authenticated`, if it sent one. */
  authenticate(): void {
    const auth = this.auths.at(-1);
    if (auth !== undefined) this.receive({ type: 'authenticated', id: auth.id });
  }

  receive(message: unknown): void {
    this.#emit('message', { data: JSON.stringify(message) });
  }

  /** A text message exactly as given, JSON or not. */
  receiveText(text: string): void {
    this.#emit('message', { data: text });
  }

  /** A binary message (a browser hands it over as a Blob or an ArrayBuffer, `ws` as a Buffer). */
  receiveBinary(data: ArrayBuffer | Uint8Array): void {
    this.#emit('message', { data });
  }

  /** A message event carrying anything (a Blob, when binaryType was left as a browser's default). */
  receiveRaw(data: unknown): void {
    this.#emit('message', { data });
  }

  /** The server (or the network) ended the connection. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.#emit('close', { code, reason: '' });
  }

  /** Every envelope sent, in order, with batches (JSON arrays of envelopes) taken apart. */
  envelopes(): Array<Record<string, unknown>> {
    return this.sent.flatMap((text): Array<Record<string, unknown>> => {
      const message = JSON.parse(text) as Record<string, unknown> | Array<Record<string, unknown>>;
      return Array.isArray(message) ? message : [message];
    });
  }

  sentOfType(type: string): Array<Record<string, unknown>> {
    return this.envelopes().filter((m) => m.type === type);
  }

  #emit(type: string, event: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event as never);
  }
}
