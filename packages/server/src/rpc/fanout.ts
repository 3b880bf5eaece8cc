import { comparePositions, type RequestId, RpcError } from '@switchboard/contract';
import {
  type Broker,
  type BrokerGapListener,
  type BrokerListener,
  type BrokerPayload,
  parsePosition,
} from '../broker/broker.js';
import { addMissing, type ChannelDelivery, type Delivered, deliveredBytes, GAP_MARK_BYTES } from './delivery.js';
import type { Lane } from './lane.js';
import { LatestLane } from './latest-lane.js';
import { messageFrame } from './message-frame.js';
import type { Outbox } from './outbox.js';
import type { Peer } from './peer.js';
import { QueuedLane } from './queued-lane.js';
import { SmallMap } from './small-map.js';
import { channelOf } from './topic-key.js';

/** A live message held for a joiner. */
interface HeldMessage {
  position: string;
  message: Delivered;
}

/** A broker gap held for a joiner, in its place among the messages. */
interface HeldGap {
  missing: number | undefined;
}

/**
 * A subscriber on its way in: what the stream delivers meanwhile (messages and gaps) waits
 * here, counted toward its connection's budget (a frame in full, a gap as GAP_MARK_BYTES)
 * until the join ends; past the budget, or MAX_JOIN_BUFFER entries, the join fails.
 */
interface Joining {
  readonly outbox: Outbox;
  buffer: Array<HeldMessage | HeldGap>;
  /** Bytes of `buffer` counted in the outbox. */
  heldBytes: number;
  overflowed: boolean;
}

/**
 * A topic followed on this process: the lanes of the local connections following it (by
 * connection: one, for per-user and per-device channels, costs no Map), what joins it, and
 * its broker listeners, which live as long as it does and hold nothing else.
 */
class TopicState extends SmallMap<Peer, Lane> {
  readonly delivery: ChannelDelivery;
  /** Subscribers on their way in; made by the first, dropped with the last. */
  joining: Set<Joining> | undefined;
  /** The broker subscription, until it is live (then let go: a topic keeps only what it needs). */
  ready: Promise<void> | undefined;
  readonly listener: BrokerListener;

  constructor(delivery: ChannelDelivery) {
    super();
    this.delivery = delivery;
    this.listener = (payload, position) => this.#deliver(payload, position);
  }

  /** The gap listener to subscribe with: made for the broker, kept only by one that reports gaps. */
  gapListener(): BrokerGapListener {
    return ({ missing }) => this.#lost(missing);
  }

  #deliver(payload: BrokerPayload, position: string): void {
    this.delivery.counters.messages++;
    const message = delivered(payload, position);
    this.forEach(pushTo, message);
    if (this.joining === undefined) return;
    for (const joiner of this.joining) hold(joiner, { position, message }, deliveredBytes(message));
  }

  /**
   * Lost before they reached this process: every local subscriber missed them. Each lane
   * tells its subscriber after what waits in it; a joiner decides once it knows where it starts.
   */
  #lost(missing: number | undefined): void {
    this.forEach(tellGap, missing);
    for (const joiner of this.joining ?? []) {
      const last = joiner.buffer.at(-1);
      if (last !== undefined && !('message' in last)) last.missing = addMissing(last.missing, missing);
      else hold(joiner, { missing }, GAP_MARK_BYTES);
    }
  }
}

/** What a joining subscriber is told before any message reaches it. */
export interface Joined {
  /** The position the subscriber is at: its messages are the ones after it. */
  position: string;
  /** Messages after `from` were lost (history exceeded, or another epoch). */
  gap: boolean;
  /** The channel's snapshot, taken at `position`, when the channel has one and no replay could be sent. */
  snapshot?: { value: unknown };
}

export interface JoinRequest {
  peer: Peer;
  /** The subscription joining: a broker gap held for it is addressed to it alone. */
  id: RequestId;
  topic: string;
  /** Resume after this position. */
  from: string | undefined;
  /** Takes the channel's current state; called in the same step as the position is read. */
  snapshot: (() => unknown) | undefined;
  /** Answers the subscribe, before any of its messages; return false to give up. */
  onJoin: (joined: Joined) => boolean;
}

/** Live messages a joiner may have to hold while its history or snapshot is read (and within its connection's budget). */
const MAX_JOIN_BUFFER = 10_000;

/** Holds `item` for a joiner while the count and its connection's budget allow; else the join fails and lets go at once. */
function hold(joiner: Joining, item: HeldMessage | HeldGap, bytes: number): void {
  if (joiner.overflowed) return;
  if (joiner.buffer.length < MAX_JOIN_BUFFER && joiner.outbox.fits(bytes)) {
    joiner.buffer.push(item);
    joiner.heldBytes += bytes;
    joiner.outbox.hold(bytes);
    return;
  }
  joiner.overflowed = true;
  joiner.buffer = [];
  letGo(joiner);
}

/** Stops counting what a joiner holds: it failed, or its lane takes over (and counts what waits there). */
function letGo(joiner: Joining): void {
  joiner.outbox.release(joiner.heldBytes);
  joiner.heldBytes = 0;
}

/** A message on its way to subscribers: its frame (message-frame.ts), made once. */
function delivered(payload: BrokerPayload, position: string): Delivered {
  return { frame: messageFrame(payload, position), payload };
}

/** Whether `position` comes after `start` (another epoch: the stream was reset, so yes). */
function isAfter(position: string, start: string): boolean {
  const a = parsePosition(position);
  const b = parsePosition(start);
  return a === undefined || b === undefined || (comparePositions(a, b) ?? 1) > 0;
}

/**
 * This process's side of pub/sub: one broker subscription per topic, however many local
 * connections follow it; one encoded frame per message, handed to each connection's lane.
 */
export class Fanout {
  readonly #broker: Broker;
  readonly #deliveryOf: (channel: string) => ChannelDelivery;
  readonly #topics = new Map<string, TopicState>();

  constructor(broker: Broker, deliveryOf: (channel: string) => ChannelDelivery) {
    this.#broker = broker;
    this.#deliveryOf = deliveryOf;
  }

  /**
   * Joins a connection to a topic: listens first, then reads the history after `from`
   * (or the position and the snapshot), then — in one synchronous step — answers the
   * subscribe, sends the replay or snapshot, the live messages that arrived meanwhile
   * (those after the position only) with the broker gaps among them (those that lost
   * anything after the position), and from then on every message.
   */
  async add(request: JoinRequest): Promise<void> {
    const { peer, topic, from } = request;
    const joining: Joining = { outbox: peer.outbox, buffer: [], heldBytes: 0, overflowed: false };
    const state = await this.#follow(topic, joining);
    try {
      let start: string | undefined;
      let replay: Array<{ payload: BrokerPayload; position: string }> = [];
      let gap = false;
      if (from !== undefined) {
        const history = await this.#broker.history(topic, from);
        // All or nothing: a partial replay would hide the hole.
        if (history.complete) {
          replay = history.messages;
          start = replay.at(-1)?.position ?? from;
        } else gap = true;
      }
      let snapshot: Joined['snapshot'];
      if (start === undefined) {
        // Position first, state second: whatever the snapshot misses comes after the position.
        // Known at once, the state is read in the same step: nothing can come between.
        const position = this.#broker.position(topic);
        start = typeof position === 'string' ? position : await position;
        if (request.snapshot !== undefined) snapshot = { value: await request.snapshot() };
      }
      if (joining.overflowed) {
        // The stream outran this connection while it joined: not a server bug; the client may try again.
        throw new RpcError(
          'UNAVAILABLE',
          `over ${MAX_JOIN_BUFFER} messages, or over the connection's ${peer.outbox.maxBufferedBytes} bytes, arrived while joining`,
        );
      }
      // What waits for the connection's other subscriptions on the stream goes first: the
      // client must not take it for the new one's (a gap before its start, say).
      state.get(peer)?.flush(true);
      if (!request.onJoin(snapshot === undefined ? { position: start, gap } : { position: start, gap, snapshot })) {
        return;
      }
      let lane = state.get(peer);
      if (lane === undefined) {
        lane = newLane(peer.outbox, state.delivery, topic);
        state.set(peer, lane);
      } else lane.subscriptions++;
      letGo(joining);
      for (const message of replay) lane.push(delivered(message.payload, message.position), request.id);
      passHeld(joining.buffer, start, lane, request.id);
    } finally {
      letGo(joining);
      leave(state, joining);
      this.#dropIfIdle(topic, state);
    }
  }

  /** The topic's state once its broker subscription is live, with `joining` registered on it. */
  async #follow(topic: string, joining: Joining): Promise<TopicState> {
    for (;;) {
      let state = this.#topics.get(topic);
      if (state === undefined) {
        const made = new TopicState(this.#deliveryOf(channelOf(topic)));
        const ready = this.#broker.subscribe(topic, made.listener, made.gapListener()).then(() => {
          if (made.ready === ready) made.ready = undefined;
        });
        made.ready = ready;
        state = made;
        this.#topics.set(topic, state);
      }
      state.joining ??= new Set();
      state.joining.add(joining);
      try {
        await state.ready;
      } catch (error) {
        leave(state, joining);
        this.#dropIfIdle(topic, state, false);
        throw error;
      }
      // The topic may have been dropped meanwhile by its last other subscriber: start again.
      if (this.#topics.get(topic) === state) return state;
      leave(state, joining);
    }
  }

  remove(peer: Peer, topic: string): void {
    const state = this.#topics.get(topic);
    const lane = state?.get(peer);
    if (state === undefined || lane === undefined) return;
    if (--lane.subscriptions > 0) return;
    lane.close();
    state.delete(peer);
    this.#dropIfIdle(topic, state);
  }

  /** Drops a topic nobody follows or joins any more. */
  #dropIfIdle(topic: string, state: TopicState, subscribed = true): void {
    if (state.size > 0 || state.joining !== undefined || this.#topics.get(topic) !== state) return;
    this.#topics.delete(topic);
    if (!subscribed) return;
    this.#broker.unsubscribe(topic, state.listener).catch(() => {
      // The broker is gone or unreachable; there is nobody left to tell.
    });
  }

  /** Topics followed by at least one local connection. */
  get topicCount(): number {
    return this.#topics.size;
  }

  /** Local connections following a topic. */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /** Local connections following each channel's topics. */
  subscribersByChannel(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [topic, state] of this.#topics) {
      const channel = channelOf(topic);
      counts.set(channel, (counts.get(channel) ?? 0) + state.size);
    }
    return counts;
  }
}

/**
 * Hands a joiner's held messages and gaps to its lane, in order: the messages after
 * `start`, and each gap unless all it lost lies at or before `start`, both for
 * subscription `id` alone: the lane's other subscriptions, if any, had them live.
 */
function passHeld(held: Array<HeldMessage | HeldGap>, start: string, lane: Lane, id: RequestId): void {
  let gap: HeldGap | undefined;
  let previous: string | undefined;
  for (const item of held) {
    if (!('message' in item)) {
      gap = item;
      continue;
    }
    if (gap !== undefined) {
      const missed = missedAfter(start, gap.missing, previous, item.position);
      if (missed !== undefined) lane.gap(missed.missing, id);
      gap = undefined;
    }
    previous = item.position;
    if (isAfter(item.position, start)) lane.push(item.message, id);
  }
  if (gap !== undefined) lane.gap(missedAfter(start, gap.missing, previous, undefined)?.missing, id);
}

/**
 * What a subscriber starting after `start` lost of a broker gap: undefined when none of it
 * lies after `start`, else how many (when that can be told). A broker's gap is the
 * `missing` messages right before the next one it delivers (`next`) and after the one
 * before it (`previous`); without `next` (nothing came after it yet) it may lie on either
 * side of `start`, so it is passed on.
 */
function missedAfter(
  start: string,
  missing: number | undefined,
  previous: string | undefined,
  next: string | undefined,
): { missing: number | undefined } | undefined {
  // All of it after a message after the start: all of it counts.
  if (previous !== undefined && isAfter(previous, start)) return { missing };
  const s = parsePosition(start);
  const n = next === undefined ? undefined : parsePosition(next);
  if (n === undefined || s === undefined) return { missing: undefined };
  // Another epoch: the gap is the new one's first messages, all after the start.
  if (n.epoch !== s.epoch) return { missing };
  const between = n.offset - 1 - s.offset;
  if (between <= 0) return undefined;
  return { missing: missing === undefined ? undefined : Math.min(missing, between) };
}

/** A connection's lane of `topic`, of the kind its channel's policy needs. */
export function newLane(outbox: Outbox, delivery: ChannelDelivery, topic: string): Lane {
  return delivery.policy === 'latest'
    ? new LatestLane(outbox, delivery, topic)
    : new QueuedLane(outbox, delivery, topic);
}

function pushTo(lane: Lane, message: Delivered): void {
  lane.push(message);
}

function tellGap(lane: Lane, missing: number | undefined): void {
  lane.gap(missing);
}

/** A joiner leaves its topic's set (joined, or failed); the set goes with the last. */
function leave(state: TopicState, joining: Joining): void {
  state.joining?.delete(joining);
  if (state.joining?.size === 0) state.joining = undefined;
}
