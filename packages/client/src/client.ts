import {
  type AnyContract,
  type ContractSkew,
  decodeValue,
  encodeValue,
  MIN_MAX_PAYLOAD_BYTES,
  RpcError,
  toRpcError,
} from '@switchboard/contract';
import { EventEmitter } from 'eventemitter3';
import { nanoid } from 'nanoid';
import { Calls } from './calls.js';
import { checkInput } from './check-input.js';
import type { Connection } from './connection.js';
import { type ClientOptions, type ResolvedClientOptions, resolveOptions } from './options.js';
import { readServerEnvelope } from './read-server-envelope.js';
import { MESSAGE_TOO_BIG, PROTOCOL_ERROR, Refusal, readServerMessage } from './read-server-message.js';
import { type Ending, Reconnector } from './reconnect.js';
import { authText, Refreshes } from './refreshes.js';
import { ClientStreamRun, Streams } from './streams.js';
import { reportLater, Subscriptions } from './subscriptions.js';
import type {
  CallOptions,
  Client,
  ClientEvents,
  ClientState,
  ClientStream,
  StateInfo,
  StreamOptions,
  SubscribeHandlers,
  Subscription,
} from './types.js';

// The client wires five parts, each in its own file: the Reconnector (the connection over
// time, the state), the Calls (by id, deadlines, the offline queue, acks), the Streams
// (streaming calls, resumed by chunk seq), the Subscriptions (by id and stream, positions,
// gaps, snapshots), and here the dispatch of what the server sends, each envelope checked
// first (read-server-envelope.ts).

class SwitchboardClient<C extends AnyContract> extends EventEmitter<ClientEvents> implements Client<C> {
  readonly #options: ResolvedClientOptions;
  /** Calls, streams and subscriptions share ids: a reply names one of them. */
  #nextId = 1;
  /** Names this client's calls: keys are `<session>.<call id>`. */
  readonly #session = nanoid();
  readonly #calls: Calls;
  readonly #subscriptions: Subscriptions;
  readonly #streams = new Streams();
  readonly #link: Reconnector;
  /** The id of the current connection's first `auth`: its `authenticated` opens the client. */
  #authId = -1;
  readonly #refreshes: Refreshes;

  constructor(options: ClientOptions<C>) {
    super();
    this.#options = resolveOptions(options);
    this.#refreshes = new Refreshes(this.#options, () => this.#nextId++);
    const open = () => this.#link.open;
    this.#calls = new Calls(
      this.#options.queue,
      open,
      () => this.#nextId,
      () => this.#announceQueue(),
    );
    const client = this;
    this.#subscriptions = new Subscriptions({
      contract: this.#options.contract,
      get closed() {
        return client.state === 'closed';
      },
      connection: open,
      refuse: (problem) => this.#refuse(new RpcError('BAD_REQUEST', `bad server message: ${problem}`), PROTOCOL_ERROR),
    });
    this.#link = new Reconnector(this.#options, {
      opened: (connection) => this.#sendCredentials(connection),
      ready: (connection) => {
        // Subscriptions first, then calls in the order they were made (re-sent ones keep
        // their key) — all before 'open' is announced, so that what a state listener sends comes after.
        this.#subscriptions.sendAll(connection);
        this.#streams.sendAll(connection);
        this.#calls.sendWaiting(connection);
      },
      unauthorized: (error) => {
        this.#calls.failAll(error);
        this.#streams.failAll(error);
        this.#subscriptions.endUnconfirmed(error);
      },
      message: (data) => this.#onMessage(data),
      lost: (code, ending) => this.#lost(code, ending),
      ended: (error) => {
        this.#calls.failAll(error);
        this.#streams.failAll(error);
        this.#subscriptions.endAll(error);
        this.#refreshes.failAll(error);
      },
      changed: (state) => {
        this.emit('state', state, this.#stateInfo());
        this.#refreshes.changed(state, this.#link.error);
      },
    });
  }

  get state(): ClientState {
    return this.#link.state;
  }

  /** Calls waiting for the connection. */
  get queuedCalls(): number {
    return this.#calls.queued;
  }

  call(name: string, input?: unknown, options: CallOptions = {}): Promise<never> {
    return this.#call(name, input, options) as Promise<never>;
  }

  async #call(name: string, input: unknown, options: CallOptions): Promise<unknown> {
    const checking = this.#checkInput(name, input);
    if (options.signal?.aborted) throw new RpcError('CANCELLED', 'aborted before the call was made');
    if (checking !== undefined) await checking;
    const { signal } = options;
    if (this.#link.open === undefined && options.queue === false) throw new RpcError('UNAVAILABLE', 'not connected');
    const id = this.#nextId++;
    const key = `${this.#session}.${id}`;
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    const { json, meta, parts } = encodeValue(input);
    const text = JSON.stringify(
      meta === undefined
        ? { type: 'call', id, name, input: json, key, timeoutMs }
        : { type: 'call', id, name, input: json, meta, key, timeoutMs },
    );
    return this.#calls.start(id, key, text, timeoutMs, signal, parts);
  }

  stream(name: string, input?: unknown, options: StreamOptions<never, never> = {}): ClientStream<never, never> {
    const id = this.#nextId++;
    const host = { connection: () => this.#link.open, timeoutMs: this.#options.timeoutMs };
    const run = new ClientStreamRun(id, `${this.#session}.${id}`, name, options as StreamOptions, host, this.#streams);
    this.#streams.add(run);
    // Checked as call() checks, then sent (or left for the next connection).
    Promise.resolve()
      .then(() => this.#checkInput(name, input))
      .then(() => run.begin(input))
      .catch((error: unknown) => run.fail(toRpcError(error)));
    return run as unknown as ClientStream<never, never>;
  }

  /** Refuses a call or stream the client cannot make now, or whose input the contract (when given) refuses. */
  #checkInput(name: string, input: unknown): Promise<void> | undefined {
    if (this.state === 'closed') throw new RpcError('UNAVAILABLE', 'the client is closed');
    if (this.state === 'unauthorized') throw this.#link.error as RpcError;
    // Without a contract, nothing to wait for: the call is sent in the caller's own task.
    return this.#options.contract === undefined ? undefined : checkInput(this.#options.contract, name, input);
  }

  subscribe(name: string, params: unknown, handlers: SubscribeHandlers<never, never>): Subscription {
    const id = this.#nextId++;
    const subscription = this.#subscriptions.add(id, name, params, handlers as SubscribeHandlers<unknown, unknown>);
    const refusal = this.state === 'unauthorized' ? this.#link.error : undefined;
    if (refusal !== undefined) queueMicrotask(() => this.#subscriptions.end(id, refusal));
    return subscription;
  }

  reauthenticate(): Promise<void> {
    return this.#refreshes.start(this.#link);
  }

  reconnect(): void {
    this.#link.reconnect();
  }

  /** The credentials are near their expiry: refresh them; a failure is told on 'error' (the server closes at expiry). */
  #refreshAhead(): void {
    this.reauthenticate().catch((error: unknown) => {
      const rpcError = error instanceof RpcError ? error : new RpcError('UNAUTHORIZED', String(error));
      // Refused credentials stay refused; anything else may pass on a second try before the deadline.
      if (rpcError.code !== 'UNAUTHORIZED' && rpcError.code !== 'FORBIDDEN') {
        this.#refreshes.retryAhead(() => this.#refreshAhead());
      }
      try {
        this.emit('error', rpcError);
      } catch (thrown) {
        reportLater(thrown);
      }
    });
  }

  /**
   * A socket opened: its first message carries the credentials (none without `auth`: sent
   * at once, so that `context` runs at once), alone, ahead of anything else.
   */
  #sendCredentials(connection: Connection): void {
    const id = this.#nextId++;
    this.#authId = id;
    const { auth, fingerprint } = this.#options;
    if (auth === undefined) {
      connection.sendNow(authText(id, undefined, fingerprint));
      return;
    }
    Promise.resolve()
      .then(auth)
      .then(
        (data) => {
          if (this.#link.current === connection) connection.sendNow(authText(id, data, fingerprint));
        },
        (error: unknown) => {
          if (this.#link.current !== connection) return;
          if (error instanceof RpcError && (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN')) {
            this.#link.unauthorize(error);
            return;
          }
          const message = error instanceof Error ? error.message : String(error);
          this.#refuse(new RpcError('UNAVAILABLE', `auth() failed: ${message}`), 1000);
        },
      );
  }

  async close(): Promise<void> {
    // A deliberate close cancels what is running: the server aborts those handlers now.
    this.#link.close((connection) => {
      this.#calls.cancelSent(connection);
      this.#streams.closeAll(connection);
    });
  }

  /** The connection is gone: what was in flight waits again, or is refused after a 1009. */
  #lost(code: number | undefined, ending: Ending): void {
    if (ending === 'closed' && code === MESSAGE_TOO_BIG) this.#refuseLargest();
    this.#calls.requeueSent();
    this.#streams.leaveAll();
    this.#subscriptions.leaveStreams();
  }

  /**
   * The server closed with 1009: a message it was sent (and has not answered) is over its
   * maxPayloadBytes. The largest such envelope is over it whichever one it was, and would
   * be again after a reconnect: it ends with PAYLOAD_TOO_LARGE instead of being re-sent
   * (batches stay below any server's limit, see MAX_BATCH_CHARS). Another one over the
   * limit is found by the next 1009. No server refuses a message this small
   * (MIN_MAX_PAYLOAD_BYTES): if the one refused is gone already, nothing fails in its place.
   */
  #refuseLargest(): void {
    const call = this.#calls.largestSent(MIN_MAX_PAYLOAD_BYTES);
    const subscription = this.#subscriptions.largestUnanswered(call?.bytes ?? MIN_MAX_PAYLOAD_BYTES);
    const largest = subscription?.bytes ?? call?.bytes;
    const error = new RpcError('PAYLOAD_TOO_LARGE', `a message of ${largest} bytes is more than the server accepts`);
    if (subscription !== undefined) this.#subscriptions.end(subscription.id, error);
    else if (call !== undefined) this.#calls.settle(call.call.id, error, false);
  }

  #onMessage(data: unknown): void {
    const parsed = readServerMessage(data, this.#options.maxMessageBytes);
    if (parsed instanceof Refusal) {
      this.#refuse(parsed.error, parsed.code);
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
          this.#calls.settle(id, error as RpcError, false);
          return;
        }
        this.#calls.settle(id, undefined, false, value);
        return;
      }
      case 'error': {
        const { id } = envelope;
        if (id === null) return;
        const error = RpcError.fromWire(envelope.error);
        if (this.#refreshes.settle(id, error)) return;
        const run = this.#streams.get(id);
        if (run !== undefined) run.fail(error);
        else if (!this.#subscriptions.end(id, error)) this.#calls.settle(id, error, false);
        return;
      }
      case 'chunk':
        this.#streams.get(envelope.id)?.chunk(envelope.seq, envelope.data, envelope.meta);
        return;
      case 'end':
        this.#streams.get(envelope.id)?.end(envelope.seq, envelope.output, envelope.meta);
        return;
      case 'authenticated': {
        const connection = this.#link.current;
        if (envelope.id === this.#authId && connection !== undefined) {
          this.#link.accept(connection);
          if (envelope.skew !== undefined) this.#reloadRequired(envelope.skew);
        } else this.#refreshes.settle(envelope.id, undefined);
        // Even for a refresh given up on (its answer came after timeoutMs): the server says how long they last now.
        this.#refreshes.expiresIn(envelope.expiresInMs, () => this.#refreshAhead());
        return;
      }
      case 'subscribed':
        this.#subscriptions.subscribed(
          envelope.id,
          envelope.key,
          envelope.position,
          envelope.gap === true,
          envelope.snapshot === true,
        );
        return;
      case 'message':
        this.#subscriptions.message(envelope);
        return;
      case 'snapshot':
        this.#subscriptions.snapshot(envelope.id, envelope.data, envelope.meta, envelope.position);
        return;
      case 'gap':
        this.#subscriptions.gap(envelope);
        return;
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
    this.#link.refuse(code, error.message, () => {
      try {
        this.emit('error', error);
      } catch (thrown) {
        reportLater(thrown);
      }
    });
  }

  /** The server's contract differs from this client's: tell the application (a listener's throw is reported later). */
  #reloadRequired(skew: ContractSkew): void {
    try {
      this.emit('reloadRequired', skew);
    } catch (thrown) {
      reportLater(thrown);
    }
  }

  /** While reconnecting or offline, a change in the queued count is a state event too ("2 calls queued"). */
  #announceQueue(): void {
    const { state } = this;
    if (state === 'reconnecting' || state === 'offline') this.emit('state', state, this.#stateInfo());
  }

  #stateInfo(): StateInfo {
    const info: StateInfo = {
      attempt: this.#link.attempt,
      nextDelayMs: this.#link.nextDelayMs,
      queuedCalls: this.#calls.queued,
      closeCode: this.#link.closeCode,
    };
    const error = this.#link.error;
    if (this.#link.state === 'unauthorized' && error !== undefined) info.error = error;
    return info;
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
