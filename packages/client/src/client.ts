import {
  type AnyContract,
  comparePositions,
  decodeValue,
  type EncodedValue,
  encodeValue,
  formatPosition,
  issuesData,
  MIN_MAX_PAYLOAD_BYTES,
  type Position,
  parseJson,
  parsePosition,
  RpcError,
  validate,
  withAck,
} from '@switchboard/contract';
import { EventEmitter } from 'eventemitter3';
import { nanoid } from 'nanoid';
import { backoffDelayMs, tryAgainLaterDelayMs } from './backoff.js';
import { Connection } from './connection.js';
import { type ClientOptions, type ResolvedClientOptions, resolveOptions } from './options.js';
import { isLongerThan, readServerEnvelope } from './read-server-envelope.js';
import type {
  CallOptions,
  Client,
  ClientEvents,
  ClientState,
  GapInfo,
  StateInfo,
  SubscribeHandlers,
  Subscription,
} from './types.js';

//  connecting ──open──▶ open ──lost (retryable), or refused──▶ reconnecting ──delay, attempt──▶ open …
//      │                  │                                       │
//      │                  └──lost while navigator is offline──▶ offline ──'online'──▶ reconnecting
//      └──lost (terminal: 1002 protocol, 1008 policy) or reconnect off, or close()──▶ closed
//  (a 1013 "try again later" waits [maxDelayMs / 2, maxDelayMs) instead of the current step;
//   "refused": the client dropped the connection over a server message it could not accept,
//   reported as an 'error' event; its 1002, 1003 or 1009 is never terminal)

interface PendingCall {
  id: number;
  /** Idempotency key: a re-send after a reconnect runs at most once on the server. */
  key: string;
  text: string;
  bytes: number;
  /** On the current connection; false while waiting in the offline queue. */
  sent: boolean;
  resolve: (value: unknown) => void;
  reject: (error: RpcError) => void;
  timeoutMs: number;
  deadlineAtMs: number;
  /** Set while queued: rejects with UNAVAILABLE after queue.maxAgeMs. */
  expiry: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface ActiveSubscription {
  id: number;
  channel: string;
  /** The encoded params; undefined until validated. */
  params: EncodedValue | undefined;
  /** The position of the last message delivered (or of the stream when it was joined). */
  position: Position | undefined;
  handlers: SubscribeHandlers<unknown, unknown>;
  /** Registered again after a reconnect: a snapshot now replaces what could not be replayed. */
  resumed: boolean;
  /** The stream key while registered on the current connection. */
  key: string | undefined;
  /** Registered at least once: a later registration follows a reconnect. */
  confirmed: boolean;
  resolveReady: () => void;
  rejectReady: (error: RpcError) => void;
}

const noop = () => {};
/** A connection that has stayed open this long resets the backoff. */
const STABLE_AFTER_MS = 5_000;
/** Close codes after which reconnecting cannot help. */
const TERMINAL_CLOSE_CODES = new Set([1002, 1008]);
/** 1002 Protocol Error (RFC 6455 §7.4.1): a message that is not a protocol v1 envelope. */
const PROTOCOL_ERROR = 1002;
/** 1003 Unsupported Data (RFC 6455 §7.4.1): a binary message; the protocol is text only. */
const UNSUPPORTED_DATA = 1003;
/** 1009 Message Too Big (RFC 6455 §7.4.1): a message refused for its size, by either side. */
const MESSAGE_TOO_BIG = 1009;
/** 1013 Try Again Later (IANA close code registry): the server is overloaded; back off further. */
const TRY_AGAIN_LATER = 1013;

/** The subscribe envelope, resuming from the last position seen when there is one. */
function subscribeText(subscription: ActiveSubscription): string {
  const { id, channel, params, position } = subscription;
  const envelope: Record<string, unknown> = { type: 'subscribe', id, name: channel, params: params?.json };
  if (params?.meta !== undefined) envelope.meta = params.meta;
  if (position !== undefined) envelope.from = formatPosition(position.epoch, position.offset);
  return JSON.stringify(envelope);
}

/** The size of `text` on the wire (UTF-8). */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * How a connection ended: `closed` (by the server, the network, or the client's checks of
 * the connection itself: heartbeat, subprotocol), its close code deciding what follows; or
 * `refused` by the client over a message the server sent, always retried with backoff.
 */
type Ending = 'closed' | 'refused';

/** The parts of a position readServerEnvelope has checked. */
function positionOf(position: string): Position {
  return parsePosition(position) as Position;
}

function streamOf(channel: string, key: string): string {
  return `${channel}\u0000${key}`;
}

/** Surfaces an application callback's exception without breaking delivery to others. */
function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
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

class SwitchboardClient<C extends AnyContract> extends EventEmitter<ClientEvents> implements Client<C> {
  readonly #options: ResolvedClientOptions;
  #state: ClientState = 'connecting';
  #connection: Connection | undefined;
  #nextId = 1;
  /** Names this client's calls: keys are `<session>.<call id>`. */
  readonly #session = nanoid();
  /** The last `ack` sent: every call up to it is settled here. */
  #ackSent = 0;
  #attempt = 0;
  #nextDelayMs: number | undefined;
  #closeCode: number | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Between the start of an attempt and its Connection (the url function may be async). */
  #connecting = false;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAtMs = Number.POSITIVE_INFINITY;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  /** Calls by id, in the order they were made (the queue order). */
  readonly #calls = new Map<number, PendingCall>();
  #queuedCalls = 0;
  #queuedBytes = 0;
  readonly #subscriptions = new Map<number, ActiveSubscription>();
  /** Stream (channel + key) → the subscriptions that receive it. */
  readonly #streams = new Map<string, Set<ActiveSubscription>>();
  readonly #onOnline = () => this.#connectNow();
  readonly #onOffline = () => this.#goOffline();

  constructor(options: ClientOptions<C>) {
    super();
    this.#options = resolveOptions(options);
    const target = onlineTarget();
    target?.addEventListener('online', this.#onOnline);
    target?.addEventListener('offline', this.#onOffline);
    void this.#connect();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Calls waiting for the connection. */
  get queuedCalls(): number {
    return this.#queuedCalls;
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
    const connected = this.#connection?.isOpen === true;
    if (!connected && options.queue === false) throw new RpcError('UNAVAILABLE', 'not connected');

    const id = this.#nextId++;
    const key = `${this.#session}.${id}`;
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    const { json, meta } = encodeValue(input);
    const text = JSON.stringify(
      meta === undefined
        ? { type: 'call', id, name, input: json, key, timeoutMs }
        : { type: 'call', id, name, input: json, meta, key, timeoutMs },
    );
    return new Promise<unknown>((resolve, reject) => {
      const deadlineAtMs = Date.now() + timeoutMs;
      this.#armDeadline(deadlineAtMs);
      const onAbort = signal && (() => this.#settleCall(id, new RpcError('CANCELLED', 'aborted by the caller'), true));
      if (onAbort) signal?.addEventListener('abort', onAbort, { once: true });
      const call: PendingCall = {
        id,
        key,
        text,
        bytes: text.length,
        sent: false,
        resolve,
        reject,
        timeoutMs,
        deadlineAtMs,
        expiry: undefined,
        signal,
        onAbort,
      };
      this.#calls.set(id, call);
      if (connected) this.#sendCall(call);
      else this.#enqueue(call);
    });
  }

  /**
   * One timer for all deadlines, armed for the earliest: calls mostly share a timeout, so
   * a call usually costs no timer of its own.
   */
  #armDeadline(atMs: number): void {
    if (atMs >= this.#deadlineAtMs) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAtMs = atMs;
    this.#deadlineTimer = setTimeout(() => this.#expireCalls(), Math.max(0, atMs - Date.now()));
  }

  #expireCalls(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineAtMs = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const call of this.#calls.values()) {
      if (call.deadlineAtMs <= now) {
        this.#settleCall(call.id, new RpcError('TIMEOUT', `no result within ${call.timeoutMs} ms`), true);
      } else if (call.deadlineAtMs < next) {
        next = call.deadlineAtMs;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armDeadline(next);
  }

  #sendCall(call: PendingCall): void {
    call.sent = true;
    // Every call before the oldest unsettled one is settled here: the server may forget
    // their idempotency entries. Told when it moves, on the call being sent.
    const ack = (this.#calls.keys().next().value ?? this.#nextId) - 1;
    if (ack > this.#ackSent) {
      this.#ackSent = ack;
      this.#connection?.send(withAck(call.text, ack));
    } else {
      this.#connection?.send(call.text);
    }
  }

  /** Waits for the connection, within the queue's bounds. */
  #enqueue(call: PendingCall): void {
    const { maxCalls, maxBytes, maxAgeMs } = this.#options.queue;
    if (this.#queuedCalls + 1 > maxCalls || this.#queuedBytes + call.bytes > maxBytes) {
      this.#settleCall(
        call.id,
        new RpcError('UNAVAILABLE', `the offline queue is full (${maxCalls} calls, ${maxBytes} bytes)`),
        false,
      );
      return;
    }
    this.#queuedCalls++;
    this.#queuedBytes += call.bytes;
    call.expiry = setTimeout(
      () => this.#settleCall(call.id, new RpcError('UNAVAILABLE', `not connected within ${maxAgeMs} ms`), false),
      maxAgeMs,
    );
    this.#announceQueue();
  }

  #dequeue(call: PendingCall): void {
    if (call.expiry === undefined) return;
    clearTimeout(call.expiry);
    call.expiry = undefined;
    this.#queuedCalls--;
    this.#queuedBytes -= call.bytes;
    this.#announceQueue();
  }

  /** While reconnecting or offline, a change in the queued count is a state event too ("2 calls queued"). */
  #announceQueue(): void {
    if (this.#state === 'reconnecting' || this.#state === 'offline') {
      this.emit('state', this.#state, this.#stateInfo());
    }
  }

  /** Ends a call once: with its value, or with `error` (then optionally telling the server). */
  #settleCall(id: number, error: RpcError | undefined, tellServer: boolean, value?: unknown): void {
    const call = this.#calls.get(id);
    if (call === undefined) return; // already settled: a late reply is dropped
    this.#calls.delete(id);
    if (this.#calls.size === 0) {
      // Nothing left to time out: no timer should keep the process alive.
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#deadlineAtMs = Number.POSITIVE_INFINITY;
    }
    this.#dequeue(call);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (tellServer && call.sent && this.#connection?.isOpen)
      this.#connection.send(JSON.stringify({ type: 'cancel', id }));
    if (error === undefined) call.resolve(value);
    else call.reject(error);
  }

  // ── subscriptions ────────────────────────────────────────────────────────

  subscribe(name: string, params: unknown, handlers: SubscribeHandlers<never, never>): Subscription {
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
      params: undefined,
      position: undefined,
      handlers: handlers as SubscribeHandlers<unknown, unknown>,
      resumed: false,
      key: undefined,
      confirmed: false,
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
    subscription.params = encodeValue(params);
    // Sent now if connected; otherwise every subscription is (re)sent when the connection opens.
    if (this.#connection?.isOpen) this.#connection.send(subscribeText(subscription));
  }

  #unsubscribe(subscription: ActiveSubscription, tellServer: boolean, reason?: RpcError): void {
    const { id } = subscription;
    if (!this.#subscriptions.delete(id)) return;
    this.#leaveStream(subscription);
    subscription.rejectReady(reason ?? new RpcError('CANCELLED', 'unsubscribed'));
    if (tellServer && subscription.params !== undefined && this.#connection?.isOpen) {
      this.#connection.send(JSON.stringify({ type: 'unsubscribe', id }));
    }
  }

  #leaveStream(subscription: ActiveSubscription): void {
    const { key } = subscription;
    if (key === undefined) return;
    subscription.key = undefined;
    const stream = streamOf(subscription.channel, key);
    const subscribers = this.#streams.get(stream);
    subscribers?.delete(subscription);
    if (subscribers?.size === 0) this.#streams.delete(stream);
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
    this.#reconnectTimer = undefined;
    // One attempt at a time: an 'online' event during `await url()` must not start another.
    if (this.#connecting) return;
    this.#connecting = true;
    let url: string;
    try {
      url = typeof this.#options.url === 'function' ? await this.#options.url() : this.#options.url;
    } catch {
      this.#connecting = false;
      this.#connectionLost(undefined);
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
          onOpen: () => this.#onOpen(connection),
          onMessage: (data) => {
            if (this.#connection === connection) this.#onMessage(data);
          },
          onClose: (code) => {
            if (this.#connection === connection) this.#connectionLost(code);
          },
        },
      );
    } catch {
      // The URL is malformed: no attempt can succeed.
      this.#terminate(new RpcError('UNAVAILABLE', 'invalid url'), undefined);
      return;
    }
    this.#connection = connection;
  }

  #onOpen(connection: Connection): void {
    if (this.#connection !== connection) return;
    if (this.#state === 'closed') {
      connection.close(1000, 'client closed');
      return;
    }
    this.#nextDelayMs = undefined;
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, STABLE_AFTER_MS);
    // Subscriptions first, then calls in the order they were made (re-sent ones keep their
    // key) — all before 'open' is announced, so that what a state listener sends comes after.
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.params !== undefined) connection.send(subscribeText(subscription));
    }
    for (const call of this.#calls.values()) {
      if (call.sent) continue;
      this.#dequeue(call);
      this.#sendCall(call);
    }
    this.#setState('open');
  }

  #connectionLost(code: number | undefined, ending: Ending = 'closed'): void {
    this.#connection = undefined;
    clearTimeout(this.#stableTimer);
    if (this.#state === 'closed') return;
    this.#closeCode = code ?? 1006;
    if (ending === 'closed' && code === MESSAGE_TOO_BIG) this.#refuseLargest();
    // Calls that were in flight wait again, keeping their keys.
    for (const call of this.#calls.values()) {
      if (!call.sent) continue;
      call.sent = false;
      this.#enqueueResent(call);
    }
    for (const subscription of this.#subscriptions.values()) this.#leaveStream(subscription);

    const terminal = ending === 'closed' && code !== undefined && TERMINAL_CLOSE_CODES.has(code);
    if (this.#options.reconnect === false || terminal) {
      this.#terminate(new RpcError('UNAVAILABLE', 'the connection was lost'), code);
      return;
    }
    if (isOffline()) {
      this.#nextDelayMs = undefined;
      this.#setState('offline');
      return;
    }
    const delay =
      code === TRY_AGAIN_LATER
        ? tryAgainLaterDelayMs(this.#options.reconnect)
        : backoffDelayMs(this.#attempt, this.#options.reconnect);
    this.#attempt++;
    this.#nextDelayMs = delay;
    this.#reconnectTimer = setTimeout(() => void this.#connect(), delay);
    this.#setState('reconnecting');
  }

  /**
   * The server closed with 1009: a message it was sent (and has not answered) is over its
   * maxPayloadBytes. The largest such envelope is over it whichever one it was, and would
   * be again after a reconnect: it ends with PAYLOAD_TOO_LARGE instead of being re-sent
   * (batches stay below any server's limit, see MAX_BATCH_CHARS). Another one over the
   * limit is found by the next 1009.
   */
  #refuseLargest(): void {
    // No server refuses a message this small: if the one refused is gone already (its call
    // aborted or timed out meanwhile), nothing is failed in its place.
    let largest: { bytes: number; call?: PendingCall; subscription?: ActiveSubscription } = {
      bytes: MIN_MAX_PAYLOAD_BYTES,
    };
    for (const call of this.#calls.values()) {
      const bytes = call.sent ? utf8Length(call.text) : 0;
      if (bytes > largest.bytes) largest = { bytes, call };
    }
    for (const subscription of this.#subscriptions.values()) {
      // Sent on this connection and not answered yet.
      if (subscription.params === undefined || subscription.key !== undefined) continue;
      const bytes = utf8Length(subscribeText(subscription));
      if (bytes > largest.bytes) largest = { bytes, subscription };
    }
    const error = new RpcError(
      'PAYLOAD_TOO_LARGE',
      `a message of ${largest.bytes} bytes is more than the server accepts`,
    );
    if (largest.call !== undefined) this.#settleCall(largest.call.id, error, false);
    if (largest.subscription !== undefined) this.#endSubscription(largest.subscription, error);
  }

  /** A call that was in flight: it was accepted once, so it waits without the count bound. */
  #enqueueResent(call: PendingCall): void {
    this.#queuedCalls++;
    this.#queuedBytes += call.bytes;
    call.expiry = setTimeout(
      () =>
        this.#settleCall(
          call.id,
          new RpcError('UNAVAILABLE', `not reconnected within ${this.#options.queue.maxAgeMs} ms`),
          false,
        ),
      this.#options.queue.maxAgeMs,
    );
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

  /** The browser came back online (or asked to): skip the wait. */
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
    clearTimeout(this.#deadlineTimer);
    const target = onlineTarget();
    target?.removeEventListener('online', this.#onOnline);
    target?.removeEventListener('offline', this.#onOffline);
    this.#failEverything(error);
    this.#setState('closed');
  }

  #failEverything(error: RpcError): void {
    for (const id of [...this.#calls.keys()]) this.#settleCall(id, error, false);
    for (const subscription of [...this.#subscriptions.values()]) this.#endSubscription(subscription, error);
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'string') {
      this.#refuse(
        new RpcError('BAD_REQUEST', 'bad server message: binary (the protocol is text only)'),
        UNSUPPORTED_DATA,
      );
      return;
    }
    const { maxMessageBytes } = this.#options;
    // Before parsing: JSON.parse of a huge text costs a multiple of its size.
    if (isLongerThan(data, maxMessageBytes)) {
      this.#refuse(
        new RpcError('PAYLOAD_TOO_LARGE', `bad server message: over maxMessageBytes (${maxMessageBytes} bytes)`),
        MESSAGE_TOO_BIG,
      );
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJson(data);
    } catch {
      this.#refuse(new RpcError('BAD_REQUEST', 'bad server message: not JSON, or a __proto__ key'), PROTOCOL_ERROR);
      return;
    }
    const envelope = readServerEnvelope(parsed);
    if (envelope === undefined) return; // a type from a later (additive) v1: ignored
    if (envelope instanceof RpcError) {
      this.#refuse(envelope, PROTOCOL_ERROR);
      return;
    }
    // From here on the envelope has the shape it claims; what it refers to may be gone
    // (a call settled, a subscription ended): such a message is dropped without a word.
    switch (envelope.type) {
      case 'result': {
        const { id } = envelope;
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
        const { id } = envelope;
        if (id === null) return;
        const error = RpcError.fromWire(envelope.error);
        const subscription = this.#subscriptions.get(id);
        if (subscription !== undefined) this.#endSubscription(subscription, error);
        else this.#settleCall(id, error, false);
        return;
      }
      case 'subscribed':
        this.#onSubscribed(envelope.id, envelope.key, envelope.position, envelope.gap === true);
        return;
      case 'message': {
        const subscribers = this.#streams.get(streamOf(envelope.channel, envelope.key));
        if (subscribers === undefined) return;
        let message: unknown;
        try {
          message = decodeValue(envelope.data, envelope.meta);
        } catch {
          this.#refuse(new RpcError('BAD_REQUEST', 'bad server message: undecodable message data'), PROTOCOL_ERROR);
          return;
        }
        const position = positionOf(envelope.position);
        const meta = { channel: envelope.channel, position: envelope.position };
        for (const subscription of subscribers) {
          // A replay after a reconnect may repeat what this subscription already has.
          const seen = subscription.position;
          if (seen !== undefined && (comparePositions(position, seen) ?? 1) <= 0) continue;
          subscription.position = position;
          try {
            subscription.handlers.onMessage(message, meta);
          } catch (error) {
            reportLater(error);
          }
        }
        return;
      }
      case 'snapshot':
        this.#onSnapshot(envelope.id, envelope.data, envelope.meta, envelope.position);
        return;
      case 'gap': {
        const info: GapInfo =
          envelope.dropped === undefined
            ? { channel: envelope.channel, reason: envelope.reason }
            : { channel: envelope.channel, reason: envelope.reason, dropped: envelope.dropped };
        const stream = this.#streams.get(streamOf(envelope.channel, envelope.key));
        if (envelope.id === undefined) {
          for (const subscription of stream ?? []) this.#tellGap(subscription, info);
          return;
        }
        // Lost while that subscription was being registered: the others had it live.
        const subscription = this.#subscriptions.get(envelope.id);
        if (subscription !== undefined && stream?.has(subscription)) this.#tellGap(subscription, info);
        return;
      }
      case 'unsubscribed': {
        const subscription = this.#subscriptions.get(envelope.id);
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

  /**
   * The server sent what the client cannot accept: report it on 'error', drop this
   * connection with `code` and reconnect with the usual backoff (or stop, when reconnect
   * is off). Whatever else that connection delivers is ignored.
   */
  #refuse(error: RpcError, code: number): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#connection = undefined; // its onClose is no longer ours: #connectionLost below says how it ended
    connection.close(code, error.message);
    try {
      this.emit('error', error);
    } catch (thrown) {
      reportLater(thrown);
    }
    this.#connectionLost(code, 'refused');
  }

  #onSubscribed(id: number, key: string, position: string, gap: boolean): void {
    const subscription = this.#subscriptions.get(id);
    if (subscription === undefined) return;
    if (subscription.key !== undefined) {
      // One answer per subscribe: a second would register the subscription on a second stream.
      this.#refuse(
        new RpcError('BAD_REQUEST', 'bad server message: a second subscribed for one subscribe'),
        PROTOCOL_ERROR,
      );
      return;
    }
    subscription.key = key;
    const stream = streamOf(subscription.channel, key);
    let subscribers = this.#streams.get(stream);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#streams.set(stream, subscribers);
    }
    subscribers.add(subscription);
    // First registration, or a gap: resume from the stream's position from now on.
    // Otherwise the replay that follows moves the position message by message.
    if (!subscription.confirmed || gap) subscription.position = positionOf(position);
    subscription.resumed = subscription.confirmed;
    if (!subscription.confirmed) {
      subscription.confirmed = true;
      subscription.resolveReady();
      return;
    }
    if (gap) this.#tellGap(subscription, { channel: subscription.channel, reason: 'history' });
  }

  #onSnapshot(id: number, data: unknown, meta: unknown, position: string): void {
    const subscription = this.#subscriptions.get(id);
    if (subscription === undefined) return;
    const { onSnapshot } = subscription.handlers;
    let state: unknown;
    if (onSnapshot !== undefined) {
      // Decoded before the position moves: refused, the subscription resumes from before it.
      try {
        state = decodeValue(data, meta);
      } catch {
        this.#refuse(new RpcError('BAD_REQUEST', 'bad server message: undecodable snapshot data'), PROTOCOL_ERROR);
        return;
      }
    }
    subscription.position = positionOf(position);
    if (onSnapshot === undefined) {
      // The snapshot stands in for messages that could not be replayed: without a handler, that is a gap.
      if (subscription.resumed) this.#tellGap(subscription, { channel: subscription.channel, reason: 'history' });
      return;
    }
    try {
      onSnapshot(state, { channel: subscription.channel, position });
    } catch (error) {
      reportLater(error);
    }
  }

  #tellGap(subscription: ActiveSubscription, info: GapInfo): void {
    try {
      subscription.handlers.onGap?.(info);
    } catch (error) {
      reportLater(error);
    }
  }

  /** One event per change of state, and one per reconnect attempt (attempt and delay change). */
  #setState(state: ClientState): void {
    if (this.#state === state && state !== 'reconnecting') return;
    this.#state = state;
    this.emit('state', this.#state, this.#stateInfo());
  }

  #stateInfo(): StateInfo {
    return {
      attempt: this.#attempt,
      nextDelayMs: this.#nextDelayMs,
      queuedCalls: this.#queuedCalls,
      closeCode: this.#closeCode,
    };
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const connection = this.#connection;
    this.#connection = undefined;
    // A deliberate close cancels what is running: the server aborts those handlers now.
    if (connection?.isOpen) {
      for (const call of this.#calls.values()) {
        if (call.sent) connection.send(JSON.stringify({ type: 'cancel', id: call.id }));
      }
    }
    this.#terminate(new RpcError('UNAVAILABLE', 'the client is closed'), this.#closeCode);
    connection?.close(1000, 'client closed');
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
