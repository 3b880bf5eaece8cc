import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  type AuthenticatedEnvelope,
  CLOSE_CODES,
  type ContractSkew,
  isEnvelopeProblem,
  type RequestId,
  RpcError,
  readClientEnvelope,
  readMessage,
  type ServerEnvelope,
} from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import { makeContext, refusalReason } from './admission.js';
import { sendServerMessage } from './binary-buffer.js';
import { CallRunner } from './call-runner.js';
import type { Connection } from './connection.js';
import type { SkewedNames } from './contract-skew.js';
import { Outbox } from './outbox.js';
import { MessageCharge, type PeerHost, type PeerLink } from './peer-link.js';
import { PeerSubscriptions } from './peer-subscriptions.js';
import { StreamRunner } from './stream-runner.js';

export type { PeerHost } from './peer-link.js';

/** The longest delay a Node timer keeps (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Refreshes a connection may make at once, before limits.maxRefreshesPerSecond paces them. */
const REFRESH_BURST = 10;

/**
 * One client connection: its messages read and each envelope handed to its calls
 * (call-runner.ts) or subscriptions (peer-subscriptions.ts), within one budget of bytes in
 * flight. Nothing a client sends can throw out of here; every problem becomes an error reply.
 */
export class Peer implements PeerLink {
  readonly socket: ServerWebSocket;
  /** Channel messages, held per the channel's delivery policy while the connection is slow. */
  readonly outbox: Outbox;
  readonly host: PeerHost;
  /** What `context` made; replaced by a refresh (calls already running keep theirs). */
  ctx: unknown;
  readonly connection: Connection;
  /** Where the client's contract differs from the server's (docs/deploy-skew.md); usually undefined. */
  readonly skew: SkewedNames | undefined;
  /** The upgrade request, for `context` again on a refresh (kept only where there is a `context`). */
  readonly #request: IncomingMessage | undefined;
  /** A refresh is running: the next waits (gets TOO_MANY_REQUESTS). */
  #refreshing = false;
  /** Refreshes this connection may still make now (a bucket of REFRESH_BURST, refilled at maxRefreshesPerSecond). */
  #refreshTokens = REFRESH_BURST;
  #refreshTokensAt = 0;
  /** Closes the connection when its credentials expire (options.expiresAt), unless refreshed. */
  #expiry: NodeJS.Timeout | undefined;
  /** The idempotency scope of this connection's ctx: a refresh may not change it. */
  readonly #scope: string | undefined;
  /** Its calls and its subscriptions, each made with the first (an idle connection holds neither). */
  #calls: CallRunner | undefined;
  #subscriptions: PeerSubscriptions | undefined;
  #streams: StreamRunner | undefined;
  /** Bytes of messages whose calls or subscribes still run. */
  #inFlightBytes = 0;
  /** The message being dispatched. */
  #charge: MessageCharge | undefined;

  constructor(
    socket: ServerWebSocket,
    ctx: unknown,
    host: PeerHost,
    request: IncomingMessage | undefined,
    skew: SkewedNames | undefined = undefined,
  ) {
    this.socket = socket;
    this.skew = skew;
    this.outbox = new Outbox(socket, host.options);
    this.ctx = ctx;
    this.host = host;
    this.#request = request;
    this.connection = new PeerConnection(this);
    this.#scope = scopeOf(host, ctx);
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(this.#expiry);
      this.#calls?.close();
      this.#streams?.close();
      this.#subscriptions?.close();
      const { onDisconnect } = host.options;
      if (onDisconnect === undefined) return;
      try {
        onDisconnect(this.connection, { code, reason: reason.toString('utf8') });
      } catch (error) {
        this.report(error, {});
      }
    });
  }

  /** One message from the client (also those that waited for `context`, in order). */
  receive(data: Buffer, isBinary: boolean): void {
    // Closing (expired, revoked, refused for a limit): nothing more it sends is handled.
    if (this.socket.state !== 'open') return;
    try {
      this.#onMessage(data, isBinary);
    } catch (error) {
      // Nothing a client sends may throw out of the socket path; this is our bug.
      this.report(error, {});
    }
  }

  /** Calls still running (and re-sent calls waiting for a run's outcome). */
  get inFlightCalls(): number {
    return this.#calls?.inFlight ?? 0;
  }

  get subscriptionCount(): number {
    return this.#subscriptions?.count ?? 0;
  }

  /** Sends `envelope`: text, or a binary message with `parts` (encodeValue's byte values). */
  send(envelope: ServerEnvelope, parts?: Uint8Array[]): void {
    sendServerMessage(this.socket, JSON.stringify(envelope), parts);
  }

  sendError(id: RequestId | null, error: RpcError): void {
    this.send({ type: 'error', id, error: error.toWire() });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    let parsed: unknown;
    try {
      // A binary message: one envelope with byte values, checked before anything reads it.
      parsed = readMessage(isBinary ? data : data.toString('utf8'), this.host.options.binary);
    } catch (error) {
      this.sendError(null, error as RpcError);
      return;
    }
    this.#charge = new MessageCharge(data.length);
    try {
      if (!Array.isArray(parsed)) {
        this.#dispatch(parsed);
        return;
      }
      // A batch: each envelope as if it had come alone, in order. Its cost is bounded by
      // maxPayloadBytes like any message's; async calls still count against maxInFlightCalls.
      if (parsed.length === 0) {
        this.sendError(null, new RpcError('BAD_REQUEST', 'an empty batch'));
        return;
      }
      for (const item of parsed) {
        try {
          this.#dispatch(item, true);
        } catch (error) {
          this.report(error, {}); // our bug: the rest of the batch still runs
        }
      }
    } finally {
      this.#charge = undefined;
    }
  }

  #dispatch(parsed: unknown, batched = false): void {
    const envelope = readClientEnvelope(parsed);
    if (isEnvelopeProblem(envelope)) {
      this.sendError(envelope.id, envelope.error);
      return;
    }
    switch (envelope.type) {
      case 'call':
        this.#calls ??= new CallRunner(this, this.#scope);
        this.#calls.call(envelope);
        return;
      case 'cancel':
        if (this.#streams?.cancel(envelope.id) !== true) this.#calls?.cancel(envelope.id);
        return;
      case 'stream':
        this.#streams ??= new StreamRunner(this, this.#scope);
        this.#streams.stream(envelope);
        return;
      case 'credit':
        this.#streams?.credit(envelope);
        return;
      case 'subscribe':
        this.#subscriptions ??= new PeerSubscriptions(this);
        this.#subscriptions.subscribe(envelope);
        return;
      case 'unsubscribe':
        this.#subscriptions?.unsubscribe(envelope.id);
        return;
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'auth':
        if (batched) this.sendError(envelope.id, new RpcError('BAD_REQUEST', 'auth must be a message of its own'));
        else this.#refresh(envelope.id, envelope.data);
        return;
    }
  }

  /**
   * New credentials on a live connection: `context` runs again. Accepted, the new ctx
   * serves what starts from now on (what runs keeps the old one); refused, the refresh
   * gets the error and the connection goes on as it was. The connection stays whose it
   * is: a ctx of another idempotency scope is FORBIDDEN. Every joined subscription's
   * `authorize` runs again with the new ctx; those it refuses end before `authenticated`.
   */
  #refresh(id: RequestId, auth: unknown): void {
    // One at a time: each runs the application's `context` (a token check, a lookup).
    if (this.#refreshing) {
      this.sendError(id, new RpcError('TOO_MANY_REQUESTS', 'a refresh of this connection is already running'));
      return;
    }
    if (!this.#takeRefreshToken()) {
      const { maxRefreshesPerSecond } = this.host.options;
      this.sendError(id, new RpcError('TOO_MANY_REQUESTS', `over ${maxRefreshesPerSecond} refreshes per second`));
      return;
    }
    this.#refreshing = true;
    Promise.resolve()
      .then(() => makeContext(this.host.router, this.#request as IncomingMessage, auth))
      .then(async (ctx) => {
        if (this.socket.state !== 'open') return;
        if (scopeOf(this.host, ctx) !== this.#scope) {
          throw new RpcError('FORBIDDEN', 'a refresh cannot make the connection another caller’s');
        }
        this.ctx = ctx;
        // Subscriptions the new ctx may not have end first: `authenticated` follows their errors.
        await this.#subscriptions?.reauthorize();
        if (this.socket.state === 'open') this.authenticated(id);
      })
      .catch((error: unknown) => {
        if (this.socket.state !== 'open') return;
        if (!(error instanceof RpcError)) this.report(error, {});
        this.sendError(id, error instanceof RpcError ? error : new RpcError('INTERNAL', 'internal error'));
      })
      .finally(() => {
        this.#refreshing = false;
      });
  }

  #takeRefreshToken(): boolean {
    const nowMs = performance.now();
    const perMs = this.host.options.maxRefreshesPerSecond / 1_000;
    this.#refreshTokens = Math.min(REFRESH_BURST, this.#refreshTokens + (nowMs - this.#refreshTokensAt) * perMs);
    this.#refreshTokensAt = nowMs;
    if (this.#refreshTokens < 1) return false;
    this.#refreshTokens--;
    return true;
  }

  /**
   * The connection's ctx is (again) accepted: its expiry is armed from it, and `auth` `id`
   * (if the credentials came in one) is answered, with how long they last and, answering
   * the first, where the client's contract differs from the server's.
   */
  authenticated(id: RequestId | undefined, skew?: ContractSkew): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    let expiresInMs: number | undefined;
    const { expiresAt } = this.host.options;
    if (expiresAt !== undefined) {
      try {
        const at = expiresAt(this.ctx);
        if (at !== undefined) {
          if (!Number.isFinite(+at)) throw new TypeError(`expiresAt must give a time, got ${String(at)}`);
          expiresInMs = Math.max(0, Math.round(+at - Date.now()));
        }
      } catch (error) {
        this.report(error, {});
      }
    }
    if (expiresInMs !== undefined) {
      // Past 2^31 - 1 ms (24.8 days) Node fires a timer at once: none is armed for so long a life.
      if (expiresInMs <= MAX_TIMER_MS) {
        this.#expiry = setTimeout(() => {
          this.socket.close(CLOSE_CODES.unauthorized, refusalReason('UNAUTHORIZED', 'the credentials expired'));
        }, expiresInMs);
        this.#expiry.unref();
      }
    }
    if (id === undefined) return;
    const envelope: AuthenticatedEnvelope = { type: 'authenticated', id };
    if (expiresInMs !== undefined) envelope.expiresInMs = expiresInMs;
    if (skew !== undefined) envelope.skew = skew;
    this.send(envelope);
  }

  /** Holds the current message's bytes while something from it runs; undefined when they do not fit. */
  hold(): MessageCharge | undefined {
    const charge = this.#charge as MessageCharge;
    if (charge.holds === 0) {
      if (this.#inFlightBytes + charge.bytes > this.host.options.maxInFlightBytes) return undefined;
      this.#inFlightBytes += charge.bytes;
    }
    charge.holds++;
    return charge;
  }

  unhold(charge: MessageCharge): void {
    if (--charge.holds === 0) this.#inFlightBytes -= charge.bytes;
  }

  tooMuchInFlight(): RpcError {
    const { maxInFlightBytes } = this.host.options;
    return new RpcError('TOO_MANY_REQUESTS', `over ${maxInFlightBytes} bytes of calls and subscribes in flight`);
  }

  /** Tells the application's onError; what it throws stays there. */
  report(error: unknown, where: { procedure?: string; channel?: string }): void {
    try {
      this.host.options.onError(error, where);
    } catch {
      // onError itself failed: nothing more to tell.
    }
  }
}

/** A Peer as the application sees it: the id is made when first read. */
class PeerConnection implements Connection {
  readonly connectedAt = Date.now();
  readonly #peer: Peer;
  #id: string | undefined;

  constructor(peer: Peer) {
    this.#peer = peer;
  }

  get id(): string {
    this.#id ??= randomUUID();
    return this.#id;
  }

  get ctx(): unknown {
    return this.#peer.ctx;
  }

  get remoteAddress(): string | undefined {
    return this.#peer.socket.remoteAddress;
  }
}

/** The connection's idempotency scope, from the application's `idempotency.scope(ctx)`. */
function scopeOf(host: PeerHost, ctx: unknown): string | undefined {
  const scopeFn = host.options.idempotencyScope;
  if (scopeFn === undefined) return undefined;
  const scope = scopeFn(ctx);
  if (typeof scope !== 'string' || scope.length === 0) {
    throw new TypeError(`idempotency.scope must return a non-empty string, got ${typeof scope}`);
  }
  return scope;
}
