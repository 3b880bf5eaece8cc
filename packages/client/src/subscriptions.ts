import {
  type AnyContract,
  decodeValue,
  type EncodedValue,
  encodeValue,
  formatPosition,
  type GapEnvelope,
  issuesData,
  type MessageEnvelope,
  offsetInEpoch,
  parsePosition,
  RpcError,
  validate,
} from '@switchboard/contract';
import type { Connection } from './connection.js';
import type { GapInfo, Joined, SubscribeHandlers, Subscription } from './types.js';
import { utf8Length } from './utf8.js';

/** One subscription, from subscribe() until it ends. */
interface ActiveSubscription {
  readonly id: number;
  readonly channel: string;
  /** The encoded params; undefined until validated. */
  params: EncodedValue | undefined;
  /** The position of the last message delivered (or of the stream when it was joined); its own object, updated in place. */
  position: StreamPosition | undefined;
  readonly handlers: SubscribeHandlers<unknown, unknown>;
  /** Registered again after a reconnect: a snapshot now replaces what could not be replayed. */
  resumed: boolean;
  /** The stream key while registered on the current connection. */
  key: string | undefined;
  /** Registered at least once: a later registration follows a reconnect. */
  confirmed: boolean;
  resolveReady: (joined: Joined) => void;
  rejectReady: (error: RpcError) => void;
}

const noop = () => {};

/** The subscribe envelope, resuming from the last position seen when there is one. */
function subscribeText(subscription: ActiveSubscription): string {
  const { id, channel, params, position } = subscription;
  const envelope: Record<string, unknown> = { type: 'subscribe', id, name: channel, params: params?.json };
  if (params?.meta !== undefined) envelope.meta = params.meta;
  if (position !== undefined) envelope.from = formatPosition(position.epoch, position.offset);
  return JSON.stringify(envelope);
}

/** Where a subscription is in its stream. */
interface StreamPosition {
  epoch: string;
  offset: number;
}

/** The parts of a position readServerEnvelope has checked, as a subscription's own object. */
function positionOf(position: string): StreamPosition {
  const { epoch, offset } = parsePosition(position) as StreamPosition;
  return { epoch, offset };
}

/** Surfaces an application callback's exception without breaking delivery to others. */
export function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

/** What the subscriptions need from their client. */
export interface SubscriptionHost {
  readonly contract: AnyContract | undefined;
  readonly closed: boolean;
  /** The open connection, if any. */
  connection(): Connection | undefined;
  /** The server sent what cannot be accepted: the client drops the connection (1002). */
  refuse(problem: string): void;
}

/**
 * The client's subscriptions by id and the streams they receive: each message goes to every
 * subscription on its stream once (a replay's repeats dropped by position), gaps and
 * snapshots to theirs; all are sent again, from their last position, on every connection.
 */
export class Subscriptions {
  readonly #host: SubscriptionHost;
  readonly #byId = new Map<number, ActiveSubscription>();
  /** Channel → stream key → the subscriptions that receive it: found per message with no string made. */
  readonly #streams = new Map<string, Map<string, Set<ActiveSubscription>>>();

  constructor(host: SubscriptionHost) {
    this.#host = host;
  }

  has(id: number): boolean {
    return this.#byId.has(id);
  }

  add(id: number, channel: string, params: unknown, handlers: SubscribeHandlers<unknown, unknown>): Subscription {
    const { from } = handlers;
    const start = typeof from === 'string' ? parsePosition(from) : undefined;
    let resolveReady: (joined: Joined) => void = noop;
    let rejectReady: (error: RpcError) => void = noop;
    const ready = new Promise<Joined>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    ready.catch(noop); // handled through onError; awaiting `ready` still sees the rejection
    const subscription: ActiveSubscription = {
      id,
      channel,
      params: undefined,
      position: start === undefined ? undefined : { epoch: start.epoch, offset: start.offset },
      handlers,
      resumed: false,
      key: undefined,
      confirmed: false,
      resolveReady,
      rejectReady,
    };
    this.#byId.set(id, subscription);
    if (from !== undefined && start === undefined) {
      queueMicrotask(() => this.end(id, new RpcError('BAD_REQUEST', `from ${JSON.stringify(from)} is not a position`)));
    } else void this.#start(subscription, params);
    return { ready, unsubscribe: () => this.#unsubscribe(subscription, true) };
  }

  /** A connection opened: every subscription whose params are ready is sent, resuming. */
  sendAll(connection: Connection): void {
    for (const subscription of this.#byId.values()) {
      if (subscription.params !== undefined) connection.send(subscribeText(subscription));
    }
  }

  /** The connection was lost: no subscription is on a stream until it is registered again. */
  leaveStreams(): void {
    for (const subscription of this.#byId.values()) this.#leaveStream(subscription);
  }

  endAll(error: RpcError): void {
    for (const subscription of [...this.#byId.values()]) this.end(subscription.id, error);
  }

  /** Ends every subscription the server never confirmed (credentials refused); confirmed ones wait to resume. */
  endUnconfirmed(error: RpcError): void {
    for (const subscription of [...this.#byId.values()]) if (!subscription.confirmed) this.end(subscription.id, error);
  }

  /** Ends subscription `id` with `error` (told to its onError); false when there is none. */
  end(id: number, error: RpcError): boolean {
    const subscription = this.#byId.get(id);
    if (subscription === undefined) return false;
    this.#unsubscribe(subscription, false, error);
    try {
      subscription.handlers.onError?.(error);
    } catch (thrown) {
      reportLater(thrown);
    }
    return true;
  }

  /** The largest subscribe sent on the lost connection and not answered, in UTF-8 bytes, over `atLeast`. */
  largestUnanswered(atLeast: number): { bytes: number; id: number } | undefined {
    let largest: { bytes: number; id: number } | undefined;
    for (const subscription of this.#byId.values()) {
      if (subscription.params === undefined || subscription.key !== undefined) continue;
      const bytes = utf8Length(subscribeText(subscription));
      if (bytes > (largest?.bytes ?? atLeast)) largest = { bytes, id: subscription.id };
    }
    return largest;
  }

  subscribed(id: number, key: string, position: string, gap: boolean, snapshot: boolean): void {
    const subscription = this.#byId.get(id);
    if (subscription === undefined) return;
    if (subscription.key !== undefined) {
      // One answer per subscribe: a second would register the subscription on a second stream.
      this.#host.refuse('a second subscribed for one subscribe');
      return;
    }
    subscription.key = key;
    let keys = this.#streams.get(subscription.channel);
    if (keys === undefined) {
      keys = new Map();
      this.#streams.set(subscription.channel, keys);
    }
    let subscribers = keys.get(key);
    if (subscribers === undefined) {
      subscribers = new Set();
      keys.set(key, subscribers);
    }
    subscribers.add(subscription);
    // Sent with `from` (after a reconnect, or subscribe()'s `from`): the replay that follows
    // moves the position message by message, unless there is a gap. Otherwise, and after a
    // gap, the stream's position from now on.
    const resumed = subscription.position !== undefined;
    if (!resumed || gap) subscription.position = positionOf(position);
    subscription.resumed = resumed;
    if (!subscription.confirmed) {
      subscription.confirmed = true;
      subscription.resolveReady({ snapshot });
    }
    if (resumed && gap) this.#tellGap(subscription, { channel: subscription.channel, reason: 'history' });
  }

  message(envelope: MessageEnvelope): void {
    const subscribers = this.#streams.get(envelope.channel)?.get(envelope.key);
    if (subscribers === undefined) return;
    let message: unknown;
    try {
      message = decodeValue(envelope.data, envelope.meta);
    } catch {
      this.#host.refuse('undecodable message data');
      return;
    }
    const meta = { channel: envelope.channel, position: envelope.position };
    for (const subscription of subscribers) {
      // A replay after a reconnect may repeat what this subscription already has: within its
      // epoch, only a higher offset is new (read without parsing the text); another epoch is.
      const seen = subscription.position;
      const offset = seen === undefined ? -1 : offsetInEpoch(envelope.position, seen.epoch);
      if (offset >= 0) {
        if (offset <= (seen as StreamPosition).offset) continue;
        (seen as StreamPosition).offset = offset;
      } else subscription.position = positionOf(envelope.position);
      try {
        subscription.handlers.onMessage(message, meta);
      } catch (error) {
        reportLater(error);
      }
    }
  }

  snapshot(id: number, data: unknown, meta: unknown, position: string): void {
    const subscription = this.#byId.get(id);
    if (subscription === undefined) return;
    const { onSnapshot } = subscription.handlers;
    let state: unknown;
    if (onSnapshot !== undefined) {
      // Decoded before the position moves: refused, the subscription resumes from before it.
      try {
        state = decodeValue(data, meta);
      } catch {
        this.#host.refuse('undecodable snapshot data');
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

  gap(envelope: GapEnvelope): void {
    const info: GapInfo =
      envelope.dropped === undefined
        ? { channel: envelope.channel, reason: envelope.reason }
        : { channel: envelope.channel, reason: envelope.reason, dropped: envelope.dropped };
    const stream = this.#streams.get(envelope.channel)?.get(envelope.key);
    if (envelope.id === undefined) {
      for (const subscription of stream ?? []) this.#tellGap(subscription, info);
      return;
    }
    // Lost while that subscription was being registered: the others had it live.
    const subscription = this.#byId.get(envelope.id as number);
    if (subscription !== undefined && stream?.has(subscription)) this.#tellGap(subscription, info);
  }

  async #start(subscription: ActiveSubscription, params: unknown): Promise<void> {
    const { id, channel } = subscription;
    try {
      if (this.#host.closed) throw new RpcError('UNAVAILABLE', 'the client is closed');
      const contract = this.#host.contract;
      if (contract !== undefined) {
        const definition = Object.hasOwn(contract.channels, channel) ? contract.channels[channel] : undefined;
        if (definition === undefined) throw new RpcError('NOT_FOUND', `no channel '${channel}' in the contract`);
        const checked = await validate(definition.params, params);
        if (!checked.ok) throw new RpcError('BAD_REQUEST', 'invalid params', issuesData(checked.issues));
      }
    } catch (error) {
      this.end(id, error as RpcError);
      return;
    }
    if (!this.#byId.has(id)) return; // unsubscribed meanwhile
    subscription.params = encodeValue(params);
    // Sent now if connected; otherwise every subscription is (re)sent when the connection opens.
    this.#host.connection()?.send(subscribeText(subscription));
  }

  #unsubscribe(subscription: ActiveSubscription, tellServer: boolean, reason?: RpcError): void {
    const { id } = subscription;
    if (!this.#byId.delete(id)) return;
    this.#leaveStream(subscription);
    subscription.rejectReady(reason ?? new RpcError('CANCELLED', 'unsubscribed'));
    if (tellServer && subscription.params !== undefined) {
      this.#host.connection()?.send(JSON.stringify({ type: 'unsubscribe', id }));
    }
  }

  #leaveStream(subscription: ActiveSubscription): void {
    const { key } = subscription;
    if (key === undefined) return;
    subscription.key = undefined;
    const keys = this.#streams.get(subscription.channel);
    const subscribers = keys?.get(key);
    subscribers?.delete(subscription);
    if (subscribers?.size !== 0) return;
    keys?.delete(key);
    if (keys?.size === 0) this.#streams.delete(subscription.channel);
  }

  #tellGap(subscription: ActiveSubscription, info: GapInfo): void {
    try {
      subscription.handlers.onGap?.(info);
    } catch (error) {
      reportLater(error);
    }
  }
}
