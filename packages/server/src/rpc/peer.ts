import {
  isEnvelopeProblem,
  parseJson,
  type RequestId,
  RpcError,
  readClientEnvelope,
  type ServerEnvelope,
} from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import { CallRunner } from './call-runner.js';
import { Outbox } from './outbox.js';
import { MessageCharge, type PeerHost, type PeerLink } from './peer-link.js';
import { PeerSubscriptions } from './peer-subscriptions.js';

export type { PeerHost } from './peer-link.js';

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
  readonly ctx: unknown;
  /** The idempotency scope of this connection's ctx. */
  readonly #scope: string | undefined;
  /** Its calls and its subscriptions, each made with the first (an idle connection holds neither). */
  #calls: CallRunner | undefined;
  #subscriptions: PeerSubscriptions | undefined;
  /** Bytes of messages whose calls or subscribes still run. */
  #inFlightBytes = 0;
  /** The message being dispatched. */
  #charge: MessageCharge | undefined;

  constructor(socket: ServerWebSocket, ctx: unknown, host: PeerHost) {
    this.socket = socket;
    this.outbox = new Outbox(socket, host.options);
    this.ctx = ctx;
    this.host = host;
    this.#scope = scopeOf(host, ctx);
    socket.on('message', (data, isBinary) => {
      try {
        this.#onMessage(data, isBinary);
      } catch (error) {
        // Nothing a client sends may throw out of the socket path; this is our bug.
        this.report(error, {});
      }
    });
    socket.on('close', () => {
      this.#calls?.close();
      this.#subscriptions?.close();
    });
  }

  /** Calls still running (and re-sent calls waiting for a run's outcome). */
  get inFlightCalls(): number {
    return this.#calls?.inFlight ?? 0;
  }

  get subscriptionCount(): number {
    return this.#subscriptions?.count ?? 0;
  }

  send(envelope: ServerEnvelope): void {
    this.socket.send(JSON.stringify(envelope));
  }

  sendError(id: RequestId | null, error: RpcError): void {
    this.send({ type: 'error', id, error: error.toWire() });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.sendError(null, new RpcError('BAD_REQUEST', 'binary messages are not part of the protocol'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJson(data.toString('utf8'));
    } catch (error) {
      const refused = error instanceof SyntaxError && error.message.includes('__proto__');
      this.sendError(null, new RpcError('BAD_REQUEST', refused ? 'a __proto__ key is not accepted' : 'malformed JSON'));
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
          this.#dispatch(item);
        } catch (error) {
          this.report(error, {}); // our bug: the rest of the batch still runs
        }
      }
    } finally {
      this.#charge = undefined;
    }
  }

  #dispatch(parsed: unknown): void {
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
        this.#calls?.cancel(envelope.id);
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
    }
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
