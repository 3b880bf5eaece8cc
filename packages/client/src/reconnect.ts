import { CLOSE_CODES, RpcError } from '@switchboard/contract';
import { backoffDelayMs, tryAgainLaterDelayMs } from './backoff.js';
import { Connection } from './connection.js';
import type { ResolvedClientOptions } from './options.js';
import type { ClientState } from './types.js';

//  connecting ──accepted──▶ open ──lost (retryable), or refused──▶ reconnecting ──delay, attempt──▶ open …
//      │                     │                                       │
//      │                     └──lost while navigator is offline──▶ offline ──'online'──▶ reconnecting
//      ├──credentials refused (4401, 4403, or auth() threw one)──▶ unauthorized ──reconnect()──▶ reconnecting
//      └──lost (terminal: 1002 protocol, 1008 policy) or reconnect off, or close()──▶ closed
//  ("accepted": the socket opened, the client sent its credentials and the server answered
//   `authenticated`; a 1013 "try again later" waits [maxDelayMs / 2, maxDelayMs) instead of
//   the current step; "refused": the client dropped the connection over a server message it
//   could not accept; its 1002, 1003 or 1009 is never terminal)

/** Every move the client's state may make; any other is a bug here and throws. */
const MOVES: Record<ClientState, readonly ClientState[]> = {
  connecting: ['open', 'reconnecting', 'offline', 'unauthorized', 'closed'],
  open: ['reconnecting', 'offline', 'unauthorized', 'closed'],
  reconnecting: ['reconnecting', 'open', 'offline', 'unauthorized', 'closed'],
  offline: ['reconnecting', 'closed'],
  unauthorized: ['reconnecting', 'closed'],
  closed: [],
};

/** Close codes of a refusal of the credentials (docs/protocol.md): no retry with the same ones. */
const REFUSAL_CODES = new Map<number, 'UNAUTHORIZED' | 'FORBIDDEN'>([
  [CLOSE_CODES.unauthorized, 'UNAUTHORIZED'],
  [CLOSE_CODES.forbidden, 'FORBIDDEN'],
] as const);

/** The RpcError of a refusal close: its reason is `CODE: message`, as the server writes it. */
function refusalError(code: 'UNAUTHORIZED' | 'FORBIDDEN', reason: string): RpcError {
  const prefix = `${code}: `;
  return new RpcError(code, reason.startsWith(prefix) ? reason.slice(prefix.length) : reason);
}

/**
 * How a connection ended: `closed` (by the server, the network, or the client's checks of
 * the connection itself: heartbeat, subprotocol), its close code deciding what follows; or
 * `refused` by the client over a message the server sent, always retried with backoff.
 */
export type Ending = 'closed' | 'refused';

/** A connection that has stayed open this long resets the backoff. */
const STABLE_AFTER_MS = 5_000;
/** Close codes after which reconnecting cannot help. */
const TERMINAL_CLOSE_CODES = new Set([1002, 1008]);
/** 1013 Try Again Later (IANA close code registry): the server is overloaded; back off further. */
const TRY_AGAIN_LATER = 1013;

/** What the client does at each step of a connection's life. */
export interface ReconnectHandlers {
  /** A socket opened: send the credentials; accept() follows the server's answer. */
  opened(connection: Connection): void;
  /** The server accepted the credentials: send what waits (before 'open' is announced). */
  ready(connection: Connection): void;
  /** The credentials were refused: what waits fails with `error`; nothing reconnects. */
  unauthorized(error: RpcError): void;
  /** A message on the current connection, unchecked. */
  message(data: unknown): void;
  /** The current connection is gone: what was in flight on it waits again (or is refused). */
  lost(code: number | undefined, ending: Ending): void;
  /** No connection will follow: everything pending fails with `error`. */
  ended(error: RpcError): void;
  /** The state changed, or another attempt was scheduled. */
  changed(state: ClientState): void;
}

interface OnlineTarget {
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}

/** The browser's online/offline signals, where there are any. */
function onlineTarget(): OnlineTarget | undefined {
  const target = globalThis as Partial<OnlineTarget> & { navigator?: { onLine?: boolean } };
  return typeof target.addEventListener === 'function' && target.navigator?.onLine !== undefined
    ? (target as OnlineTarget)
    : undefined;
}

function isOffline(): boolean {
  return (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false;
}

/**
 * The client's connection over time: one Connection at a time, reconnects with full-jitter
 * backoff, the browser's offline/online signals, and the state those make, changed in one
 * place (#setState) along MOVES.
 */
export class Reconnector {
  readonly #options: ResolvedClientOptions;
  readonly #handlers: ReconnectHandlers;
  #state: ClientState = 'connecting';
  #connection: Connection | undefined;
  /** The server accepted the current connection's credentials. */
  #accepted = false;
  /** While 'unauthorized': why. */
  #error: RpcError | undefined;
  #acceptTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #nextDelayMs: number | undefined;
  #closeCode: number | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  /** Between the start of an attempt and its Connection (the url function may be async). */
  #connecting = false;
  readonly #onOnline = () => this.#connectNow();
  readonly #onOffline = () => this.#goOffline();

  constructor(options: ResolvedClientOptions, handlers: ReconnectHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    const target = onlineTarget();
    target?.addEventListener('online', this.#onOnline);
    target?.addEventListener('offline', this.#onOffline);
    void this.#connect();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The current connection when it is open and its credentials were accepted. */
  get open(): Connection | undefined {
    return this.#accepted && this.#connection?.isOpen === true ? this.#connection : undefined;
  }

  /** The current connection, accepted or not. */
  get current(): Connection | undefined {
    return this.#connection;
  }

  /** While 'unauthorized': the server's refusal. */
  get error(): RpcError | undefined {
    return this.#error;
  }

  /** The server accepted `connection`'s credentials: it is open. */
  accept(connection: Connection): void {
    if (this.#connection !== connection || this.#accepted || this.#state === 'closed') return;
    this.#accepted = true;
    clearTimeout(this.#acceptTimer);
    this.#nextDelayMs = undefined;
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, STABLE_AFTER_MS);
    this.#handlers.ready(connection);
    this.#setState('open');
  }

  /** The client has no credentials to give (auth() threw UNAUTHORIZED or FORBIDDEN): stop, 'unauthorized'. */
  unauthorize(error: RpcError): void {
    const connection = this.#connection;
    if (connection === undefined || this.#state === 'closed') return;
    this.#connection = undefined;
    connection.close(1000, 'no credentials');
    this.#lost(1000, 'refused', error);
  }

  /** Drops the connection now (or the wait for the next attempt) and connects again. */
  reconnect(): void {
    if (this.#state === 'closed') return;
    const connection = this.#connection;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#acceptTimer);
    clearTimeout(this.#stableTimer);
    this.#error = undefined;
    this.#attempt = 0;
    if (connection !== undefined) {
      this.#connection = undefined;
      connection.close(1000, 'reconnect');
      this.#handlers.lost(1000, 'closed');
    }
    this.#nextDelayMs = 0;
    this.#setState('reconnecting');
    void this.#connect();
  }

  /** Connection attempts since the client was last open long enough (STABLE_AFTER_MS). */
  get attempt(): number {
    return this.#attempt;
  }

  get nextDelayMs(): number | undefined {
    return this.#nextDelayMs;
  }

  /** The close code of the last connection, if it closed. */
  get closeCode(): number | undefined {
    return this.#closeCode;
  }

  /**
   * Drops the current connection over something the server sent (`code`, `reason`): it is
   * lost as `refused`, retried with the usual backoff. What it still delivers is ignored.
   * `tell` runs once it is dropped and before anything follows (a listener may close the client).
   */
  refuse(code: number, reason: string, tell: () => void): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#connection = undefined; // its onClose is no longer ours: #lost below says how it ended
    connection.close(code, reason);
    tell();
    this.#lost(code, 'refused');
  }

  /** Closes for good: `last` runs on the open connection first (to cancel what runs there). */
  close(last: (connection: Connection) => void): void {
    if (this.#state === 'closed') return;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection?.isOpen) last(connection);
    this.#terminate(new RpcError('UNAVAILABLE', 'the client is closed'), this.#closeCode);
    connection?.close(1000, 'client closed');
  }

  async #connect(): Promise<void> {
    this.#reconnectTimer = undefined;
    // One attempt at a time: an 'online' event during `await url()` must not start another.
    if (this.#connecting) return;
    this.#connecting = true;
    let url: string;
    try {
      url = typeof this.#options.url === 'function' ? await this.#options.url() : this.#options.url;
    } catch {
      this.#connecting = false;
      this.#lost(undefined, 'closed');
      return;
    } finally {
      this.#connecting = false;
    }
    if (this.#state === 'closed' || this.#connection !== undefined) return;
    let connection: Connection;
    try {
      connection = new Connection(
        this.#options.WebSocket,
        url,
        { connectTimeoutMs: this.#options.connectTimeoutMs, heartbeat: this.#options.heartbeat },
        {
          onOpen: () => this.#opened(connection),
          onMessage: (data) => {
            if (this.#connection === connection) this.#handlers.message(data);
          },
          onClose: (code, reason) => {
            if (this.#connection !== connection) return;
            const refusal = code === undefined ? undefined : REFUSAL_CODES.get(code);
            this.#lost(code, 'closed', refusal === undefined ? undefined : refusalError(refusal, reason));
          },
        },
      );
    } catch {
      // The URL is malformed: no attempt can succeed.
      this.#terminate(new RpcError('UNAVAILABLE', 'invalid url'), undefined);
      return;
    }
    this.#connection = connection;
    this.#accepted = false;
  }

  #opened(connection: Connection): void {
    if (this.#connection !== connection) return;
    if (this.#state === 'closed') {
      connection.close(1000, 'client closed');
      return;
    }
    // The credentials' answer is bounded like the handshake: a server that never answers is retried.
    this.#acceptTimer = setTimeout(
      () => this.refuse(1000, 'no answer to the credentials', () => {}),
      this.#options.connectTimeoutMs,
    );
    this.#handlers.opened(connection);
  }

  /** `refusal`: the credentials were refused (by the server, or auth() had none): no reconnect. */
  #lost(code: number | undefined, ending: Ending, refusal?: RpcError): void {
    this.#connection = undefined;
    this.#accepted = false;
    clearTimeout(this.#stableTimer);
    clearTimeout(this.#acceptTimer);
    if (this.#state === 'closed') return;
    this.#closeCode = code ?? 1006;
    this.#handlers.lost(code, ending);
    if (refusal !== undefined) {
      this.#error = refusal;
      this.#nextDelayMs = undefined;
      this.#handlers.unauthorized(refusal);
      this.#setState('unauthorized');
      return;
    }
    const reconnect = this.#options.reconnect;
    const terminal = ending === 'closed' && code !== undefined && TERMINAL_CLOSE_CODES.has(code);
    if (reconnect === false || terminal) {
      this.#terminate(new RpcError('UNAVAILABLE', 'the connection was lost'), code);
      return;
    }
    if (isOffline()) {
      this.#nextDelayMs = undefined;
      this.#setState('offline');
      return;
    }
    const delay = code === TRY_AGAIN_LATER ? tryAgainLaterDelayMs(reconnect) : backoffDelayMs(this.#attempt, reconnect);
    this.#attempt++;
    this.#nextDelayMs = delay;
    this.#reconnectTimer = setTimeout(() => void this.#connect(), delay);
    this.#setState('reconnecting');
  }

  /** The browser went offline: drop the connection, or stop waiting to retry. */
  #goOffline(): void {
    if (this.#connection !== undefined) {
      this.#connection.close(1000, 'offline');
      return;
    }
    if (this.#state !== 'reconnecting' || this.#connecting) return;
    clearTimeout(this.#reconnectTimer);
    this.#nextDelayMs = undefined;
    this.#setState('offline');
  }

  /** The browser came back online: skip the wait. */
  #connectNow(): void {
    if (this.#state !== 'reconnecting' && this.#state !== 'offline') return;
    if (this.#connection !== undefined || this.#connecting) return;
    clearTimeout(this.#reconnectTimer);
    this.#nextDelayMs = 0;
    this.#setState('reconnecting');
    void this.#connect();
  }

  /** The end: every timer and global listener goes, everything pending fails. */
  #terminate(error: RpcError, code: number | undefined): void {
    this.#closeCode = code;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#stableTimer);
    clearTimeout(this.#acceptTimer);
    const target = onlineTarget();
    target?.removeEventListener('online', this.#onOnline);
    target?.removeEventListener('offline', this.#onOffline);
    this.#handlers.ended(error);
    this.#setState('closed');
  }

  /** One change per state, and one per reconnect attempt (attempt and delay change). */
  #setState(next: ClientState): void {
    if (this.#state === next && next !== 'reconnecting') return;
    if (this.#state !== next && !MOVES[this.#state].includes(next)) throw new Error(`${this.#state} -> ${next}`);
    this.#state = next;
    this.#handlers.changed(next);
  }
}
