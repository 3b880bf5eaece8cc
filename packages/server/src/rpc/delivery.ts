import type { RequestId } from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';

/**
 * What happens to a channel's messages for a subscriber whose connection is slow (more
 * than `limits.highWaterBytes` waiting to be sent):
 * - `queue`: they wait, up to `maxQueued`; one more and the connection is closed with
 *   4001 (the client reconnects and resumes from history).
 * - `drop-oldest`: they wait, up to `maxQueued`; the oldest give way, and the subscriber
 *   is told how many it missed (`onGap` with reason 'dropped').
 * - `latest`: only the newest waits (per `key`, if given): a slow dashboard gets the
 *   current value instead of a backlog.
 */
export type DeliveryPolicy = 'queue' | 'drop-oldest' | 'latest';

export interface DeliveryOptions<Message> {
  /** @default 'queue' */
  policy?: DeliveryPolicy;
  /** `queue` and `drop-oldest`: messages held per subscriber while its connection is slow. @default 10,000 */
  maxQueued?: number;
  /** `latest`: keep the newest message per key (e.g. per host) instead of one per stream. */
  key?: (message: Message) => string;
}

export const DELIVERY_DEFAULTS = { policy: 'queue', maxQueued: 10_000 } as const;

/** Close code for a connection whose subscriber fell more than `maxQueued` behind. */
export const SLOW_CONSUMER_CLOSE_CODE = 4001;

/** Counters of one channel's deliveries on this process. */
export interface DeliveryCounters {
  /** Messages the broker handed to this process. */
  messages: number;
  /** Messages a slow subscriber did not get (`drop-oldest`). */
  dropped: number;
  /** Messages replaced by a newer one before a slow subscriber got them (`latest`). */
  coalesced: number;
  /** Connections closed for falling behind (`queue`). */
  slowDisconnects: number;
}

/** A channel's policy, resolved, with its counters. */
export interface ChannelDelivery {
  readonly policy: DeliveryPolicy;
  readonly maxQueued: number;
  /** `latest` with a key: the key of an encoded message (decodes it; called only when one must wait). */
  readonly keyOf: ((payload: string) => string) | undefined;
  readonly counters: DeliveryCounters;
}

/** One message on its way to subscribers: the frame, shared by all of them. */
export interface Delivered {
  readonly frame: Buffer;
  /** The envelope without position (what `keyOf` reads). */
  readonly payload: string;
  /** Memoised `keyOf(payload)`. */
  key?: string;
}

/**
 * A connection's send side for channel messages. While the socket holds more than
 * `highWaterBytes`, messages wait in their lanes; when it has handed everything to the
 * kernel ('drain'), the lanes are flushed in turn until it is full again.
 */
export class Outbox {
  readonly socket: ServerWebSocket;
  readonly #highWaterBytes: number;
  #congested = false;
  /** Lanes with messages waiting, in the order they are served. */
  readonly #waiting = new Set<Lane>();
  #closed = false;

  constructor(socket: ServerWebSocket, highWaterBytes: number) {
    this.socket = socket;
    this.#highWaterBytes = highWaterBytes;
  }

  get congested(): boolean {
    return this.#congested;
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(frame: Buffer): void {
    if (this.socket.sendFrame(frame) || this.#congested) return;
    if (this.socket.bufferedAmount > this.#highWaterBytes) {
      this.#congested = true;
      this.socket.once('drain', () => this.#drained());
    }
  }

  wait(lane: Lane): void {
    this.#waiting.add(lane);
  }

  forget(lane: Lane): void {
    this.#waiting.delete(lane);
  }

  /** Closes the connection: one of its subscribers fell too far behind. */
  giveUp(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting.clear();
    this.socket.close(SLOW_CONSUMER_CLOSE_CODE, reason);
  }

  #drained(): void {
    this.#congested = false;
    for (const lane of this.#waiting) {
      this.#waiting.delete(lane);
      if (!lane.flush()) {
        // Full again: this lane goes to the back, the next drain starts with the others.
        this.#waiting.add(lane);
        return;
      }
    }
  }
}

/** Why a subscriber misses messages: too slow for a `drop-oldest` channel, or lost on the way (the broker's gap). */
export type GapReason = 'dropped' | 'history';

/**
 * Encodes a stream's `gap` envelope; `count` when it can be told; `id` when it concerns
 * only that subscription (one still being registered), not every one on the stream.
 */
export type GapNotice = (reason: GapReason, count: number | undefined, id?: RequestId) => Buffer;

/** Two counts of lost messages added up; unknown if either is. */
export function addMissing(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/**
 * Messages a lane's subscriber will not get, held in their place among the waiting
 * messages. Notices with no message between them are one mark: where nothing comes
 * between them, their order does not matter.
 */
class GapMark {
  /** Broker gaps folded in (0: none). */
  historyGaps = 0;
  /** What those lost, when every one of them could tell. */
  missing: number | undefined = 0;
  /** Broker gaps for one joining subscription only: what each lost, when it could tell. */
  forJoiners: Map<RequestId, number | undefined> | undefined;
  /** Messages dropped here for slowness (`drop-oldest`). */
  dropped = 0;
  /** Of those, messages that were sent for one joining subscription only (see ForJoiner), per subscription. */
  droppedForJoiners: Map<RequestId, number> | undefined;

  addDropped(count: number, id: RequestId | undefined): void {
    if (id === undefined) {
      this.dropped += count;
      return;
    }
    this.droppedForJoiners ??= new Map();
    this.droppedForJoiners.set(id, (this.droppedForJoiners.get(id) ?? 0) + count);
  }

  addHistory(missing: number | undefined, id: RequestId | undefined): void {
    if (id === undefined) {
      this.historyGaps++;
      this.missing = addMissing(this.missing, missing);
      return;
    }
    this.forJoiners ??= new Map();
    const before = this.forJoiners.has(id) ? this.forJoiners.get(id) : 0;
    this.forJoiners.set(id, addMissing(before, missing));
  }

  /** Takes in a mark that came right before this one. */
  absorb(earlier: GapMark): void {
    if (earlier.historyGaps > 0) {
      this.historyGaps += earlier.historyGaps;
      this.missing = addMissing(this.missing, earlier.missing);
    }
    for (const [id, missing] of earlier.forJoiners ?? []) this.addHistory(missing, id);
    this.dropped += earlier.dropped;
    for (const [id, count] of earlier.droppedForJoiners ?? []) this.addDropped(count, id);
  }

  write(outbox: Outbox, notice: GapNotice): void {
    if (this.historyGaps > 0) outbox.write(notice('history', this.missing));
    for (const [id, missing] of this.forJoiners ?? []) outbox.write(notice('history', missing, id));
    if (this.dropped > 0) outbox.write(notice('dropped', this.dropped));
    for (const [id, count] of this.droppedForJoiners ?? []) outbox.write(notice('dropped', count, id));
  }
}

/**
 * A message queued for one subscription only: the replay and the held messages of a
 * subscription joining a stream the connection may already follow (the others drop the
 * repeat by position). Dropped for slowness, it is told to that subscription alone.
 */
class ForJoiner {
  readonly message: Delivered;
  readonly id: RequestId;

  constructor(message: Delivered, id: RequestId) {
    this.message = message;
    this.id = id;
  }
}

/**
 * One connection's share of one stream: how many of its subscriptions follow it, and
 * the messages waiting for it while the connection is slow, per the channel's policy.
 * A broker gap waits in line too: the subscriber is told of it after every message
 * that came before it and before any that came after.
 */
export class Lane {
  readonly outbox: Outbox;
  readonly #delivery: ChannelDelivery;
  readonly #notice: GapNotice;
  /** Subscriptions of this connection on the stream. */
  subscriptions = 1;
  /** `queue` / `drop-oldest`: oldest first; gap marks never side by side. */
  #queue: Array<Delivered | ForJoiner | GapMark> = [];
  #head = 0;
  /** Messages (not marks) in `#queue`: what `maxQueued` bounds. */
  #queued = 0;
  /** `latest`: newest per key, in the order they arrived (older keys first); a gap mark is its own key. */
  readonly #latest = new Map<string | GapMark, Delivered | GapMark>();
  /** `latest`: the mark that is the newest entry of `#latest`, if one is. */
  #lastMark: GapMark | undefined;
  /** `latest`: marks in `#latest` (values that moved past them may leave two side by side). */
  #marks = 0;

  constructor(outbox: Outbox, delivery: ChannelDelivery, notice: GapNotice) {
    this.outbox = outbox;
    this.#delivery = delivery;
    this.#notice = notice;
  }

  get #empty(): boolean {
    return this.#head === this.#queue.length && this.#latest.size === 0;
  }

  /** Sends `message` on, or keeps it per the policy; `id`: it is for that joining subscription only (ForJoiner). */
  push(message: Delivered, id?: RequestId): void {
    const { outbox } = this;
    if (outbox.closed) return;
    if (!outbox.congested && this.#empty) {
      outbox.write(message.frame);
      return;
    }
    const delivery = this.#delivery;
    if (delivery.policy === 'latest') {
      let key = '';
      if (delivery.keyOf !== undefined) {
        message.key ??= delivery.keyOf(message.payload);
        key = message.key;
      }
      // Delete first so that keys stay in arrival order: positions must keep rising. A
      // value older than a gap mark may so move past it: a newer value of its key replaces it.
      if (this.#latest.delete(key)) delivery.counters.coalesced++;
      this.#latest.set(key, message);
      this.#lastMark = undefined;
    } else if (this.#queued < delivery.maxQueued) {
      this.#queue.push(id === undefined ? message : new ForJoiner(message, id));
      this.#queued++;
    } else if (delivery.policy === 'drop-oldest') {
      this.#dropOldest();
      delivery.counters.dropped++;
      this.#queue.push(id === undefined ? message : new ForJoiner(message, id));
      this.#queued++;
    } else {
      this.#giveUp(`over ${delivery.maxQueued} messages waiting`);
      return;
    }
    this.#compact();
    outbox.wait(this);
  }

  /**
   * The broker lost messages of the stream before they reached this process (`missing`
   * of them, when it can tell): the subscriber is told in their place, after what waits.
   * With `id`, only that subscription is told: it is joining, and the others on this
   * lane were told when the gap happened.
   */
  gap(missing: number | undefined, id?: RequestId): void {
    const { outbox } = this;
    if (outbox.closed) return;
    if (!outbox.congested && this.#empty) {
      outbox.write(this.#notice('history', missing, id));
      return;
    }
    const delivery = this.#delivery;
    if (delivery.policy === 'latest') {
      if (this.#lastMark === undefined) {
        // Never coalesced: a mark is bounded by count instead, as a queue is.
        if (this.#marks >= delivery.maxQueued) {
          this.#giveUp(`over ${delivery.maxQueued} gap notices waiting`);
          return;
        }
        this.#lastMark = new GapMark();
        this.#latest.set(this.#lastMark, this.#lastMark);
        this.#marks++;
      }
      this.#lastMark.addHistory(missing, id);
    } else {
      // A mark follows a message (or nothing): at most one more mark than messages.
      const last = this.#queue.length > this.#head ? this.#queue.at(-1) : undefined;
      if (last instanceof GapMark) last.addHistory(missing, id);
      else {
        const mark = new GapMark();
        mark.addHistory(missing, id);
        this.#queue.push(mark);
      }
    }
    outbox.wait(this);
  }

  /**
   * Sends what waits until the connection is slow again; true once nothing waits. With
   * `all`, sends everything however slow the connection is: a subscription joining the
   * stream on this connection is answered right after, so that its client registers it
   * after every message and gap notice that came before it (at most one lane's bound more
   * in the socket's buffer, once per join).
   */
  flush(all = false): boolean {
    const { outbox } = this;
    const stop = () => !all && outbox.congested;
    while (this.#head < this.#queue.length) {
      if (stop()) return this.#compact();
      const item = this.#queue[this.#head++] as Delivered | ForJoiner | GapMark;
      if (item instanceof GapMark) item.write(outbox, this.#notice);
      else {
        this.#queued--;
        outbox.write(item instanceof ForJoiner ? item.message.frame : item.frame);
      }
    }
    for (const [key, item] of this.#latest) {
      if (stop()) return false;
      this.#latest.delete(key);
      if (item instanceof GapMark) {
        this.#marks--;
        if (item === this.#lastMark) this.#lastMark = undefined;
        item.write(outbox, this.#notice);
      } else outbox.write(item.frame);
    }
    this.#queue = [];
    this.#head = 0;
    return true;
  }

  /** Stops waiting (the connection left the stream). */
  close(): void {
    this.outbox.forget(this);
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    this.#latest.clear();
    this.#lastMark = undefined;
    this.#marks = 0;
  }

  /**
   * `drop-oldest` at its bound: the oldest message goes, and a mark counts it in its place
   * (the mark before it, if any, moves up; one right after it takes it in). The slot lets
   * go of its message at once: a lane holds maxQueued messages, not more.
   */
  #dropOldest(): void {
    const queue = this.#queue as Array<Delivered | ForJoiner | GapMark | undefined>;
    let mark = queue[this.#head];
    if (mark instanceof GapMark) {
      // Marks are never side by side, and a message waits: the next slot holds the oldest.
      queue[this.#head++] = undefined;
    } else mark = new GapMark();
    const oldest = queue[this.#head];
    mark.addDropped(1, oldest instanceof ForJoiner ? oldest.id : undefined);
    this.#queued--;
    const next = queue[this.#head + 1];
    if (next instanceof GapMark) {
      next.absorb(mark);
      queue[this.#head++] = undefined;
    } else queue[this.#head] = mark;
  }

  #giveUp(why: string): void {
    this.#delivery.counters.slowDisconnects++;
    this.outbox.giveUp(`slow consumer: ${why}`);
  }

  #compact(): false {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return false;
  }
}
