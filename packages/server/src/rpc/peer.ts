import {
  type AnyContract,
  type CallEnvelope,
  decodeValue,
  encodeValue,
  isEnvelopeProblem,
  parseJson,
  parseOrThrow,
  type RequestId,
  RpcError,
  readClientEnvelope,
  type ServerEnvelope,
  type SubscribeEnvelope,
  toRpcError,
  validate,
} from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import { CallSignal } from './call-signal.js';
import type { ResolvedServerOptions } from './options.js';
import type { Router } from './router.js';
import { paramsKey, topicOf } from './topic-key.js';

/** What a connection needs from its server. */
export interface PeerHost {
  readonly router: Router<AnyContract, unknown>;
  readonly options: ResolvedServerOptions;
  readonly draining: boolean;
  subscribe(peer: Peer, topic: string): Promise<void>;
  unsubscribe(peer: Peer, topic: string): void;
  /** A call finished (for graceful shutdown). */
  callSettled(): void;
}

/** A subscription whose params are still being validated or authorized. */
const PENDING = '';

type Handler = (args: { input: unknown; ctx: unknown; signal: AbortSignal }) => unknown;

/**
 * One client connection: calls by id, subscriptions by id, and the envelopes between.
 * Nothing a client sends can throw out of here; every problem becomes an error reply.
 */
export class Peer {
  readonly socket: ServerWebSocket;
  readonly #ctx: unknown;
  readonly #host: PeerHost;
  readonly #calls = new Map<RequestId, CallSignal>();
  /** Subscription id → broker topic ('' while pending). */
  readonly #subscriptions = new Map<RequestId, string>();

  constructor(socket: ServerWebSocket, ctx: unknown, host: PeerHost) {
    this.socket = socket;
    this.#ctx = ctx;
    this.#host = host;
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', () => this.#onClose());
  }

  /** Calls still running. */
  get inFlightCalls(): number {
    return this.#calls.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  #send(envelope: ServerEnvelope): void {
    this.socket.send(JSON.stringify(envelope));
  }

  #sendError(id: RequestId | null, error: RpcError): void {
    this.#send({ type: 'error', id, error: error.toWire() });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#sendError(null, new RpcError('BAD_REQUEST', 'binary messages are not part of the protocol'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJson(data.toString('utf8'));
    } catch {
      this.#sendError(null, new RpcError('BAD_REQUEST', 'malformed JSON'));
      return;
    }
    const envelope = readClientEnvelope(parsed);
    if (isEnvelopeProblem(envelope)) {
      this.#sendError(envelope.id, envelope.error);
      return;
    }
    switch (envelope.type) {
      case 'call':
        this.#call(envelope);
        return;
      case 'cancel':
        this.#calls.get(envelope.id)?.abort(new RpcError('CANCELLED', 'cancelled by the caller'));
        return;
      case 'subscribe':
        void this.#subscribe(envelope);
        return;
      case 'unsubscribe':
        this.#unsubscribe(envelope.id);
        return;
      case 'ping':
        this.#send({ type: 'pong' });
        return;
    }
  }

  #call(envelope: CallEnvelope): void {
    const { id, name } = envelope;
    const { options } = this.#host;
    const refusal = this.#refuseCall(envelope);
    if (refusal !== undefined) {
      this.#sendError(id, refusal);
      return;
    }
    const call = new CallSignal();
    this.#calls.set(id, call);
    const durationMs = Math.min(envelope.timeoutMs ?? options.maxCallDurationMs, options.maxCallDurationMs);
    const timer = setTimeout(
      () => call.abort(new RpcError('TIMEOUT', `no result within ${durationMs} ms`)),
      durationMs,
    );
    this.#run(envelope, call)
      .then(
        (output) => {
          if (call.reason !== undefined) return this.#replyAborted(id, call.reason);
          const encoded = encodeValue(output);
          this.#send(
            encoded.meta === undefined
              ? { type: 'result', id, output: encoded.json }
              : { type: 'result', id, output: encoded.json, meta: encoded.meta },
          );
        },
        (error: unknown) => {
          if (call.reason !== undefined) return this.#replyAborted(id, call.reason);
          const rpcError = toRpcError(error);
          if (rpcError !== error) options.onError(error, { procedure: name });
          this.#sendError(id, rpcError);
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.#calls.delete(id);
        this.#host.callSettled();
      });
  }

  #refuseCall({ id, name }: CallEnvelope): RpcError | undefined {
    const { router, options } = this.#host;
    if (this.#calls.has(id)) return new RpcError('BAD_REQUEST', `id ${id} is already in flight`);
    if (this.#host.draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    if (this.#calls.size >= options.maxInFlightCalls) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxInFlightCalls} calls in flight`);
    }
    if (!Object.hasOwn(router.contract.procedures, name)) return new RpcError('NOT_FOUND', `no procedure '${name}'`);
    return undefined;
  }

  #refuseSubscription({ id, name }: SubscribeEnvelope): RpcError | undefined {
    const { router, options } = this.#host;
    if (this.#subscriptions.has(id)) return new RpcError('BAD_REQUEST', `subscription id ${id} is already in use`);
    if (this.#host.draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    if (this.#subscriptions.size >= options.maxSubscriptions) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxSubscriptions} subscriptions`);
    }
    if (!Object.hasOwn(router.contract.channels, name)) return new RpcError('NOT_FOUND', `no channel '${name}'`);
    return undefined;
  }

  async #run(envelope: CallEnvelope, call: CallSignal): Promise<unknown> {
    const { router } = this.#host;
    const procedure = router.contract.procedures[envelope.name] as AnyContract['procedures'][string];
    const handler = (router.procedures as Record<string, Handler>)[envelope.name] as Handler;
    const input = await parseOrThrow(procedure.input, decodeValue(envelope.input, envelope.meta), 'input');
    const ctx = this.#ctx;
    const output = await handler({
      input,
      ctx,
      get signal() {
        return call.signal;
      },
    });
    const checked = await validate(procedure.output, output);
    if (!checked.ok) {
      // The handler broke the contract: a server bug, reported as INTERNAL.
      throw new Error(`procedure '${envelope.name}' returned a value that fails its output schema`, {
        cause: checked.issues,
      });
    }
    return checked.value;
  }

  #replyAborted(id: RequestId, reason: RpcError): void {
    // A cancelled call's caller has already moved on; the others learn why.
    if (reason.code !== 'CANCELLED' && this.socket.state === 'open') this.#sendError(id, reason);
  }

  async #subscribe(envelope: SubscribeEnvelope): Promise<void> {
    const { id, name } = envelope;
    const { router, options } = this.#host;
    const refusal = this.#refuseSubscription(envelope);
    if (refusal !== undefined) {
      this.#sendError(id, refusal);
      return;
    }
    this.#subscriptions.set(id, PENDING);
    let topic: string;
    let key: string;
    try {
      const channel = router.contract.channels[name] as AnyContract['channels'][string];
      const params = await parseOrThrow(channel.params, decodeValue(envelope.params, envelope.meta), 'params');
      const authorize = (router.channels as Record<string, { authorize?: (args: unknown) => unknown }>)[name]
        ?.authorize;
      if (authorize !== undefined && (await authorize({ params, ctx: this.#ctx })) !== true) {
        throw new RpcError('FORBIDDEN', `not allowed to subscribe to '${name}'`);
      }
      key = paramsKey(params);
      topic = topicOf(name, key);
      if (this.#subscriptions.get(id) !== PENDING) return; // unsubscribed or disconnected meanwhile
      await this.#host.subscribe(this, topic);
    } catch (error) {
      if (this.#subscriptions.get(id) === PENDING) this.#subscriptions.delete(id);
      const rpcError = toRpcError(error);
      if (rpcError !== error) options.onError(error, { channel: name });
      if (this.socket.state === 'open') this.#sendError(id, rpcError);
      return;
    }
    if (this.#subscriptions.get(id) !== PENDING) {
      this.#host.unsubscribe(this, topic);
      return;
    }
    this.#subscriptions.set(id, topic);
    this.#send({ type: 'subscribed', id, key });
  }

  #unsubscribe(id: RequestId): void {
    const topic = this.#subscriptions.get(id);
    if (topic === undefined) return;
    this.#subscriptions.delete(id);
    if (topic !== PENDING) this.#host.unsubscribe(this, topic);
  }

  #onClose(): void {
    const gone = new RpcError('UNAVAILABLE', 'the connection closed');
    for (const call of this.#calls.values()) call.abort(gone);
    for (const id of [...this.#subscriptions.keys()]) this.#unsubscribe(id);
  }
}
