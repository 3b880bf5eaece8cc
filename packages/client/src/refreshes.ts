import { type AuthEnvelope, type ContractFingerprint, RpcError } from '@switchboard/contract';
import type { ResolvedClientOptions } from './options.js';
import type { Reconnector } from './reconnect.js';
import type { ClientState } from './types.js';

/** The text of an `auth` envelope: a connection's first message (with the contract's fingerprint), or a refresh. */
export function authText(id: number, data: unknown, contract?: ContractFingerprint): string {
  const envelope: AuthEnvelope = data === undefined ? { type: 'auth', id } : { type: 'auth', id, data };
  if (contract !== undefined) envelope.contract = contract;
  return JSON.stringify(envelope);
}

interface Waiter {
  resolve(): void;
  reject(error: RpcError): void;
}

/** Credentials that expire are refreshed once this share of their life has passed. */
export const REFRESH_AT_SHARE = 0.9;
/** The longest delay a timer keeps (2^31 - 1 ms); a longer life is refreshed no sooner than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * reauthenticate(). On the open connection: `auth()` again, sent as an `auth` the server
 * answers with `authenticated` or an `error` of the same id (bounded by timeoutMs). Without
 * one (or when it is lost meanwhile): a new connection, whose first message carries fresh
 * credentials; the wait ends with the next 'open', 'unauthorized' or 'closed'.
 */
export class Refreshes {
  readonly #options: ResolvedClientOptions;
  readonly #nextId: () => number;
  /** Refreshes sent on the open connection, by id. */
  readonly #sent = new Map<number, Waiter & { timer: ReturnType<typeof setTimeout> }>();
  /** Refreshes waiting for the next connection to be accepted or refused. */
  #nextOpen: Waiter[] = [];
  /** The automatic refresh ahead of the credentials' expiry. */
  #autoTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the current credentials expire (Date.now() ms), if they do. */
  #deadline: number | undefined;

  constructor(options: ResolvedClientOptions, nextId: () => number) {
    this.#options = options;
    this.#nextId = nextId;
  }

  /** The refresh running on the open connection: the next waits for it (the server runs one at a time). */
  #running: Promise<void> = Promise.resolve();

  start(link: Reconnector): Promise<void> {
    const next = this.#running.then(
      () => this.#start(link),
      () => this.#start(link),
    );
    this.#running = next.catch(() => {});
    return next;
  }

  async #start(link: Reconnector): Promise<void> {
    if (link.state === 'closed') throw new RpcError('UNAVAILABLE', 'the client is closed');
    const connection = link.open;
    if (connection === undefined) {
      // Whatever attempt is under way may carry the old credentials: start one afresh.
      const opened = this.#waitForNextOpen();
      link.reconnect();
      return opened;
    }
    const data = await this.#options.auth?.();
    if (link.open !== connection) {
      // Lost while auth() ran: a closed or refused client will not connect by itself.
      const now = link.state as ClientState;
      if (now === 'closed') throw new RpcError('UNAVAILABLE', 'the client is closed');
      if (now === 'unauthorized') throw link.error ?? new RpcError('UNAUTHORIZED', 'the credentials were refused');
      // Otherwise the next connection calls auth() again and carries its result.
      return this.#waitForNextOpen();
    }
    const id = this.#nextId();
    const { timeoutMs } = this.#options;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#sent.delete(id);
        reject(new RpcError('TIMEOUT', `no answer to the credentials within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#sent.set(id, { resolve, reject, timer });
      connection.send(authText(id, data));
    });
  }

  /** The server's answer to refresh `id`; false when `id` is no refresh. */
  settle(id: number, error: RpcError | undefined): boolean {
    const sent = this.#sent.get(id);
    if (sent === undefined) return false;
    this.#sent.delete(id);
    clearTimeout(sent.timer);
    if (error === undefined) sent.resolve();
    else sent.reject(error);
    return true;
  }

  /**
   * The server said the credentials expire in `expiresInMs` (or never, undefined): refresh
   * when REFRESH_AT_SHARE of that has passed, by calling `refresh` (reauthenticate()).
   */
  expiresIn(expiresInMs: number | undefined, refresh: () => void): void {
    clearTimeout(this.#autoTimer);
    this.#autoTimer = undefined;
    this.#deadline = expiresInMs === undefined ? undefined : Date.now() + expiresInMs;
    if (expiresInMs === undefined) return;
    this.#autoTimer = setTimeout(refresh, Math.min(MAX_TIMER_MS, Math.floor(expiresInMs * REFRESH_AT_SHARE)));
  }

  /**
   * The automatic refresh failed (no answer in time, busy, unreachable): try again halfway
   * to the deadline, while more than a second is left.
   */
  retryAhead(refresh: () => void): void {
    if (this.#deadline === undefined) return;
    const leftMs = this.#deadline - Date.now();
    if (leftMs <= 1_000) return;
    clearTimeout(this.#autoTimer);
    this.#autoTimer = setTimeout(refresh, Math.floor(leftMs / 2));
  }

  /** The client's state moved: the waits for the next connection may end. */
  changed(state: ClientState, error: RpcError | undefined): void {
    // A new connection authenticates afresh and says when its credentials expire.
    if (state !== 'open') this.expiresIn(undefined, () => {});
    if (state === 'open') {
      for (const waiter of this.#takeNextOpen()) waiter.resolve();
    } else if (state === 'unauthorized') {
      const refusal = error ?? new RpcError('UNAUTHORIZED', 'the credentials were refused');
      for (const waiter of this.#takeSent()) waiter.reject(refusal);
      for (const waiter of this.#takeNextOpen()) waiter.reject(refusal);
    } else if (state === 'reconnecting' || state === 'offline') {
      // The connection they were sent on is gone: the next one authenticates afresh.
      this.#nextOpen.push(...this.#takeSent());
    }
  }

  failAll(error: RpcError): void {
    this.expiresIn(undefined, () => {});
    for (const waiter of this.#takeSent()) waiter.reject(error);
    for (const waiter of this.#takeNextOpen()) waiter.reject(error);
  }

  /** The refreshes sent on the open connection, their timers stopped; none is left. */
  #takeSent(): Waiter[] {
    const sent = [...this.#sent.values()];
    for (const waiter of sent) clearTimeout(waiter.timer);
    this.#sent.clear();
    return sent;
  }

  #waitForNextOpen(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#nextOpen.push({ resolve, reject }));
  }

  #takeNextOpen(): Waiter[] {
    const waiters = this.#nextOpen;
    this.#nextOpen = [];
    return waiters;
  }
}
