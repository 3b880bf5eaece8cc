import {
  type AnyContract,
  decodeValue,
  encodeValue,
  issuesData,
  PROTOCOL,
  RpcError,
  type ServerEnvelope,
  validate,
} from '@switchboard/contract';
import { EventEmitter } from 'eventemitter3';
import { type ClientOptions, type ResolvedClientOptions, resolveOptions } from './options.js';
import type {
  CallOptions,
  Client,
  ClientEvents,
  ClientState,
  StateInfo,
  SubscribeHandlers,
  Subscription,
} from './types.js';
import { OPEN, type WebSocketLike } from './websocket-like.js';

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: RpcError) => void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface ActiveSubscription {
  id: number;
  channel: string;
  handlers: SubscribeHandlers<unknown>;
  /** The stream key, once the server has registered the subscription. */
  key: string | undefined;
  resolveReady: () => void;
  rejectReady: (error: RpcError) => void;
}

/** A request that has not reached the socket yet. */
interface Outgoing {
  id: number;
  text: string;
}

const noop = () => {};

function streamOf(channel: string, key: string): string {
  return `${channel}\u0000${key}`;
}

/** Surfaces an application callback's exception without breaking delivery to others. */
function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

class SwitchboardClient<C extends AnyContract> extends EventEmitter<ClientEvents> implements Client<C> {
  readonly #options: ResolvedClientOptions;
  #state: ClientState = 'connecting';
  #socket: WebSocketLike | undefined;
  #nextId = 1;
  #closeCode: number | undefined;
  readonly #calls = new Map<number, PendingCall>();
  readonly #subscriptions = new Map<number, ActiveSubscription>();
  /** Stream (channel + key) → the subscriptions that receive it. */
  readonly #streams = new Map<string, Set<ActiveSubscription>>();
  /** Requests made before the connection opened, in order. */
  #outbox: Outgoing[] = [];

  constructor(options: ClientOptions<C>) {
    super();
    this.#options = resolveOptions(options);
    void this.#connect();
  }

  get state(): ClientState {
    return this.#state;
  }

  // ── calls ────────────────────────────────────────────────────────────────

  call(name: string, input?: unknown, options: CallOptions = {}): Promise<never> {
    return this.#call(name, input, options) as Promise<never>;
  }

  async #call(name: string, input: unknown, options: CallOptions): Promise<unknown> {
    if (this.#state === 'closed') throw new RpcError('UNAVAILABLE', 'the client is closed');
    const { signal } = options;
    if (signal?.aborted) throw new RpcError('CANCELLED', 'aborted before the call was made');
    const contract = this.#options.contract;
    if (contract !== undefined) {
      const procedure = Object.hasOwn(contract.procedures, name) ? contract.procedures[name] : undefined;
      if (procedure === undefined) throw new RpcError('NOT_FOUND', `no procedure '${name}' in the contract`);
      const checked = await validate(procedure.input, input);
      if (!checked.ok) throw new RpcError('BAD_REQUEST', 'invalid input', issuesData(checked.issues));
    }

    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    const { json, meta } = encodeValue(input);
    const text = JSON.stringify(
      meta === undefined
        ? { type: 'call', id, name, input: json, timeoutMs }
        : { type: 'call', id, name, input: json, meta, timeoutMs },
    );
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#settleCall(id, new RpcError('TIMEOUT', `no result within ${timeoutMs} ms`), true),
        timeoutMs,
      );
      const onAbort = signal && (() => this.#settleCall(id, new RpcError('CANCELLED', 'aborted by the caller'), true));
      signal?.addEventListener('abort', onAbort as () => void, { once: true });
      this.#calls.set(id, { resolve, reject, timer, signal, onAbort });
      this.#send(id, text);
    });
  }

  /** Ends a call once: with its value, or with `error` (then optionally telling the server). */
  #settleCall(id: number, error: RpcError | undefined, tellServer: boolean, value?: unknown): void {
    const call = this.#calls.get(id);
    if (call === undefined) return; // already settled: a late reply is dropped
    this.#calls.delete(id);
    clearTimeout(call.timer);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (tellServer && !this.#unqueue(id)) this.#sendNow(JSON.stringify({ type: 'cancel', id }));
    if (error === undefined) call.resolve(value);
    else call.reject(error);
  }

  // ── subscriptions ────────────────────────────────────────────────────────

  subscribe(name: string, params: unknown, handlers: SubscribeHandlers<never>): Subscription {
    const id = this.#nextId++;
    let resolveReady = noop;
    let rejectReady: (error: RpcError) => void = noop;
    const ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    ready.catch(noop); // handled through onError; awaiting `ready` still sees the rejection
    const subscription: ActiveSubscription = {
      id,
      channel: name,
      handlers: handlers as SubscribeHandlers<unknown>,
      key: undefined,
      resolveReady,
      rejectReady,
    };
    this.#subscriptions.set(id, subscription);
    void this.#startSubscription(subscription, params);
    return { ready, unsubscribe: () => this.#unsubscribe(subscription, true) };
  }

  async #startSubscription(subscription: ActiveSubscription, params: unknown): Promise<void> {
    const { id, channel } = subscription;
    try {
      if (this.#state === 'closed') throw new RpcError('UNAVAILABLE', 'the client is closed');
      const contract = this.#options.contract;
      if (contract !== undefined) {
        const definition = Object.hasOwn(contract.channels, channel) ? contract.channels[channel] : undefined;
        if (definition === undefined) throw new RpcError('NOT_FOUND', `no channel '${channel}' in the contract`);
        const checked = await validate(definition.params, params);
        if (!checked.ok) throw new RpcError('BAD_REQUEST', 'invalid params', issuesData(checked.issues));
      }
    } catch (error) {
      this.#endSubscription(subscription, error as RpcError);
      return;
    }
    if (!this.#subscriptions.has(id)) return; // unsubscribed meanwhile
    const { json, meta } = encodeValue(params);
    this.#send(
      id,
      JSON.stringify(
        meta === undefined
          ? { type: 'subscribe', id, name: channel, params: json }
          : { type: 'subscribe', id, name: channel, params: json, meta },
      ),
    );
  }

  #unsubscribe(subscription: ActiveSubscription, tellServer: boolean, reason?: RpcError): void {
    const { id, key } = subscription;
    if (!this.#subscriptions.delete(id)) return;
    if (key !== undefined) {
      const stream = streamOf(subscription.channel, key);
      const subscribers = this.#streams.get(stream);
      subscribers?.delete(subscription);
      if (subscribers?.size === 0) this.#streams.delete(stream);
    }
    subscription.rejectReady(reason ?? new RpcError('CANCELLED', 'unsubscribed'));
    if (tellServer && !this.#unqueue(id)) this.#sendNow(JSON.stringify({ type: 'unsubscribe', id }));
  }

  #endSubscription(subscription: ActiveSubscription, error: RpcError): void {
    if (!this.#subscriptions.has(subscription.id)) return;
    this.#unsubscribe(subscription, false, error);
    try {
      subscription.handlers.onError?.(error);
    } catch (thrown) {
      reportLater(thrown);
    }
  }

  // ── the connection ───────────────────────────────────────────────────────

  async #connect(): Promise<void> {
    let url: string;
    try {
      url = typeof this.#options.url === 'function' ? await this.#options.url() : this.#options.url;
    } catch {
      this.#connectionLost(undefined, undefined);
      return;
    }
    if (this.#state === 'closed') return;
    let socket: WebSocketLike;
    try {
      socket = new this.#options.WebSocket(url, PROTOCOL);
    } catch {
      this.#connectionLost(undefined, undefined);
      return;
    }
    // Bound the handshake: some WebSockets report nothing when TCP drops mid-handshake.
    const timer = setTimeout(() => {
      socket.close();
      this.#connectionLost(socket, undefined);
    }, this.#options.connectTimeoutMs);
    socket.addEventListener('open', () => {
      clearTimeout(timer);
      if (this.#state === 'closed') {
        socket.close(1000);
        return;
      }
      if (socket.protocol !== PROTOCOL) {
        socket.close(1002, `expected the ${PROTOCOL} subprotocol`);
        this.#connectionLost(socket, 1002);
        return;
      }
      this.#socket = socket;
      this.#setState('open');
      const outbox = this.#outbox;
      this.#outbox = [];
      for (const { text } of outbox) socket.send(text);
    });
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('close', (event) => {
      clearTimeout(timer);
      this.#connectionLost(socket, event.code);
    });
    // Some WebSockets fire 'error' and never 'close' (Node's when a connection is refused).
    socket.addEventListener('error', () => {
      clearTimeout(timer);
      this.#connectionLost(socket, undefined);
    });
  }

  #connectionLost(socket: WebSocketLike | undefined, code: number | undefined): void {
    if (socket !== undefined && this.#socket !== undefined && socket !== this.#socket) return;
    if (this.#state === 'closed' && this.#socket === undefined) return;
    this.#socket = undefined;
    this.#closeCode = code ?? 1006;
    this.#failEverything(new RpcError('UNAVAILABLE', 'the connection was lost'));
    this.#setState('closed');
  }

  #failEverything(error: RpcError): void {
    this.#outbox = [];
    for (const id of [...this.#calls.keys()]) this.#settleCall(id, error, false);
    for (const subscription of [...this.#subscriptions.values()]) this.#endSubscription(subscription, error);
  }

  #send(id: number, text: string): void {
    const socket = this.#socket;
    if (socket !== undefined && socket.readyState === OPEN) {
      socket.send(text);
      return;
    }
    if (this.#outbox.length >= this.#options.maxQueued) {
      const error = new RpcError(
        'UNAVAILABLE',
        `more than ${this.#options.maxQueued} requests wait for the connection`,
      );
      const subscription = this.#subscriptions.get(id);
      if (subscription !== undefined) this.#endSubscription(subscription, error);
      else this.#settleCall(id, error, false);
      return;
    }
    this.#outbox.push({ id, text });
  }

  /** For cancel and unsubscribe: meaningless once the connection is gone. */
  #sendNow(text: string): void {
    const socket = this.#socket;
    if (socket !== undefined && socket.readyState === OPEN) socket.send(text);
  }

  /** Drops a request that never left; true if it was still queued. */
  #unqueue(id: number): boolean {
    const index = this.#outbox.findIndex((outgoing) => outgoing.id === id);
    if (index === -1) return false;
    this.#outbox.splice(index, 1);
    return true;
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'string') return; // the protocol is text only
    let envelope: ServerEnvelope;
    try {
      envelope = JSON.parse(data) as ServerEnvelope;
    } catch {
      return;
    }
    switch (envelope.type) {
      case 'result': {
        const id = envelope.id as number;
        if (!this.#calls.has(id)) return;
        let value: unknown;
        try {
          value = decodeValue(envelope.output, envelope.meta);
        } catch (error) {
          this.#settleCall(id, error as RpcError, false);
          return;
        }
        this.#settleCall(id, undefined, false, value);
        return;
      }
      case 'error': {
        if (envelope.id === null) return;
        const id = envelope.id as number;
        const error = RpcError.fromWire(envelope.error);
        const subscription = this.#subscriptions.get(id);
        if (subscription !== undefined) this.#endSubscription(subscription, error);
        else this.#settleCall(id, error, false);
        return;
      }
      case 'subscribed': {
        const subscription = this.#subscriptions.get(envelope.id as number);
        if (subscription === undefined) return;
        subscription.key = envelope.key;
        const stream = streamOf(subscription.channel, envelope.key);
        let subscribers = this.#streams.get(stream);
        if (subscribers === undefined) {
          subscribers = new Set();
          this.#streams.set(stream, subscribers);
        }
        subscribers.add(subscription);
        subscription.resolveReady();
        return;
      }
      case 'message': {
        const subscribers = this.#streams.get(streamOf(envelope.channel, envelope.key));
        if (subscribers === undefined) return;
        let message: unknown;
        try {
          message = decodeValue(envelope.data, envelope.meta);
        } catch {
          return;
        }
        const meta = { channel: envelope.channel };
        for (const subscription of subscribers) {
          try {
            subscription.handlers.onMessage(message, meta);
          } catch (error) {
            reportLater(error);
          }
        }
        return;
      }
      case 'unsubscribed': {
        const subscription = this.#subscriptions.get(envelope.id as number);
        if (subscription === undefined) return;
        const error = envelope.error
          ? RpcError.fromWire(envelope.error)
          : new RpcError('UNAVAILABLE', 'the server ended the subscription');
        this.#endSubscription(subscription, error);
        return;
      }
      case 'pong':
        return;
    }
  }

  #setState(state: ClientState): void {
    if (this.#state === state) return;
    this.#state = state;
    const info: StateInfo = {
      attempt: 0,
      nextDelayMs: undefined,
      queuedCalls: this.#outbox.length,
      closeCode: this.#closeCode,
    };
    this.emit('state', state, info);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#failEverything(new RpcError('UNAVAILABLE', 'the client is closed'));
    this.#setState('closed');
    if (socket === undefined || socket.readyState > OPEN) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.connectTimeoutMs);
      socket.addEventListener('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.addEventListener('error', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000);
    });
  }
}

/**
 * A typed client. Needs only the contract's type; pass `contract` too for client-side
 * input validation.
 * @example
 * const client = createClient<AppContract>({ url: 'ws://localhost:8080' });
 * const sum = await client.call('add', { a: 1, b: 2 });
 */
export function createClient<C extends AnyContract>(options: ClientOptions<C>): Client<C> {
  return new SwitchboardClient<C>(options) as unknown as Client<C>;
}
