import type { RequestId } from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';

/**
 * What happens to a channel's messages for a subscriber whose connection is slow (more
 * than `limits.highWaterBytes` waiting to be sent). Each policy is bounded twice: per
 * stream by `maxQueued`, and per connection by `limits.maxBufferedBytes`, one budget in
 * bytes over the socket's buffer and everything waiting in the connection's lanes (see
 * Outbox), whatever the number of its subscriptions.
 * - `queue`: they wait, up to `maxQueued`; one more, or one that does not fit in the
 *   budget, and the connection is closed with 4001 (the client reconnects and resumes
 *   from history).
 * - `drop-oldest`: they wait, up to `maxQueued` and within the budget; the oldest give
 *   way, and the subscriber is told how many it missed (`onGap` with reason 'dropped').
 * - `latest`: only the newest waits (per `key`, if given): a slow dashboard gets the
 *   current value instead of a backlog. Past the budget, the oldest waiting values (the
 *   first in line, whatever their key) give way too, told as with `drop-oldest` in their
 *   place, before everything that still waits.
 *
 * A lane makes room from its own messages only: when the budget is spent by the
 * connection's other lanes (or the socket) and a `drop-oldest` or `latest` lane has
 * nothing left to drop, the incoming message itself is dropped and told in its place
 * (after everything in the lane), so the total stays bounded and positions still rise.
 */
export type DeliveryPolicy = 'queue' | 'drop-oldest' | 'latest';

export interface DeliveryOptions<Message> {
  /** @default 'queue' */
  policy?: DeliveryPolicy;
  /**
   * `queue` and `drop-oldest`: messages held per subscriber while its connection is slow
   * (within the connection's `limits.maxBufferedBytes` in any case). @default 10,000
   */
  maxQueued?: number;
  /** `latest`: keep the newest message per key (e.g. per host) instead of one per stream. */
  key?: (message: Message) => string;
}

export const DELIVERY_DEFAULTS = { policy: 'queue', maxQueued: 10_000 } as const;

/** Close code for a connection whose subscriber fell more than `maxQueued` or its connection's budget behind. */
export const SLOW_CONSUMER_CLOSE_CODE = 4001;

/**
 * What a gap mark counts toward its connection's budget: it holds counts, not a frame
 * (its notice is encoded when sent), and the notice it becomes is about this size.
 */
export const GAP_MARK_BYTES = 128;

/** Counters of one channel's deliveries on this process. */
export interface DeliveryCounters {
  /** Messages the broker handed to this process. */
  messages: number;
  /** Messages a slow subscriber did not get (`drop-oldest`; `latest` past its connection's budget). */
  dropped: number;
  /** Messages replaced by a newer one before a slow subscriber got them (`latest`). */
  coalesced: number;
  /** Connections closed for falling behind (`queue`; `latest` with too many gap notices). */
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

/** Heap a waiting message costs besides its frame and envelope text (the object, its slot). */
const DELIVERED_OVERHEAD_BYTES = 96;

/**
 * What a waiting message makes the server keep: its frame, the envelope text kept beside
 * it (counted at two bytes a character, the most V8 stores), and the object holding them.
 */
export function deliveredBytes(message: Delivered): number {
  return message.frame.length + message.payload.length * 2 + DELIVERED_OVERHEAD_BYTES;
}

/** The limits an Outbox keeps (`ResolvedServerOptions` has both). */
export interface OutboxLimits {
  /** Above this many bytes in the socket's buffer, channel messages wait in lanes. */
  readonly highWaterBytes: number;
  /** The connection's budget: bytes in the socket's buffer plus all that waits in its lanes and joins. */
  readonly maxBufferedBytes: number;
}

/**
 * A connection's send side for channel messages. While the socket holds more than
 * `highWaterBytes`, messages wait in their lanes; when it has handed everything to the
 * kernel ('drain'), the lanes are flushed in turn until it is full again.
 *
 * One budget bounds what the server holds for the connection: the socket's buffer plus
 * every byte waiting in its lanes (and held for its joining subscriptions) stays within
 * `maxBufferedBytes`, however many streams it follows. A waiting frame counts in full
 * toward each connection that holds it, even though one frame is shared by every
 * subscriber: deliberately, because each connection's share is what it alone can make
 * the server keep alive. A gap mark counts GAP_MARK_BYTES.
 *
 * ```
 *  publish ─▶ Lane.push ─┬─ keeps up, nothing waits ─▶ socket            (nothing counted)
 *                        └─ slow ─▶ fits(bytes)? ─ yes ─▶ waits, hold(bytes)
 *                                       │ no
 *                                       ├─ queue: close 4001
 *                                       └─ drop-oldest, latest: drop the lane's oldest,
 *                                          or the incoming one; told as a 'dropped' gap
 *  'drain' ─▶ lanes flushed in turn, release(bytes) ─▶ socket
 * ```
 *
 * The running count `heldBytes` changes on enqueue, send, drop and close; the socket's
 * `bufferedAmount` is read only for a message that must wait (the socket has said it is
 * past its high-water mark), never on the path of a connection that keeps up.
 */
export class Outbox {
  readonly socket: ServerWebSocket;
  readonly #highWaterBytes: number;
  readonly #maxBufferedBytes: number;
  #congested = false;
  /** Lanes with messages waiting, in the order they are served. */
  readonly #waiting = new Set<Lane>();
  #closed = false;
  /** Bytes waiting in the lanes and joins of this connection (not the socket's). */
  #heldBytes = 0;

  constructor(socket: ServerWebSocket, limits: OutboxLimits) {
    this.socket = socket;
    this.#highWaterBytes = limits.highWaterBytes;
    this.#maxBufferedBytes = limits.maxBufferedBytes;
  }

  get congested(): boolean {
    return this.#congested;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The connection's budget in bytes (see the class). */
  get maxBufferedBytes(): number {
    return this.#maxBufferedBytes;
  }

  /** Bytes waiting in the lanes and joins of this connection. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Whether `bytes` more may wait: the socket's buffer, what waits already and they stay
   * within the budget. Called only for what must wait.
   */
  fits(bytes: number): boolean {
    return this.socket.bufferedAmount + this.#heldBytes + bytes <= this.#maxBufferedBytes;
  }

  /** Counts `bytes` that now wait for this connection. */
  hold(bytes: number): void {
    this.#heldBytes += bytes;
  }

  /** Stops counting `bytes`: sent, dropped, or let go. */
  release(bytes: number): void {
    this.#heldBytes -= bytes;
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

  /** Closes the connection: one of its subscribers fell too far behind. What waits is let go at once. */
  giveUp(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    // The close handshake may take closeTimeoutMs with a peer that does not read: the
    // lanes do not keep their messages meanwhile.
    for (const lane of this.#waiting) lane.close();
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

  /** Takes in a mark with no message between them (where nothing comes between, their order does not matter). */
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

/** A message waiting in a lane: for every subscription of it, or for one joining (ForJoiner). */
type Waiting = Delivered | ForJoiner;

function frameOf(item: Waiting): Buffer {
  return item instanceof ForJoiner ? item.message.frame : item.frame;
}

function bytesOf(item: Waiting): number {
  return deliveredBytes(item instanceof ForJoiner ? item.message : item);
}

function joinerOf(item: Waiting): RequestId | undefined {
  return item instanceof ForJoiner ? item.id : undefined;
}

/**
 * One connection's share of one stream: how many of its subscriptions follow it, and
 * the messages waiting for it while the connection is slow, per the channel's policy.
 * A broker gap waits in line too: the subscriber is told of it after every message
 * that came before it and before any that came after.
 *
 * What waits counts toward the connection's budget (Outbox). Past it, a `queue` lane
 * closes the connection; a `drop-oldest` lane drops its oldest messages, a `latest` lane
 * its oldest entries (values first in line, whatever their key), each drop told in a
 * 'dropped' mark in their place; with nothing of its own left, either drops the incoming
 * message, told in a mark after everything in the lane. A gap mark is never dropped: it
 * is counted and taken in even past the budget (the next message makes room for it), so
 * the budget may be passed by at most one mark per lane.
 */
export class Lane {
  readonly outbox: Outbox;
  readonly #delivery: ChannelDelivery;
  readonly #notice: GapNotice;
  /** Subscriptions of this connection on the stream. */
  subscriptions = 1;
  /** `queue` / `drop-oldest`: oldest first; gap marks never side by side; slots before `#head` are let go. */
  #queue: Array<Waiting | GapMark | undefined> = [];
  #head = 0;
  /** Messages (not marks) in `#queue`: what `maxQueued` bounds. */
  #queued = 0;
  /** `latest`: what was dropped of its oldest entries past the budget, told before every entry of `#latest`. */
  #front: GapMark | undefined;
  /** `latest`: newest per key, in the order they arrived (older keys first); a gap mark is its own key. */
  readonly #latest = new Map<string | GapMark, Waiting | GapMark>();
  /** `latest`: the mark that is the newest entry of `#latest`, if one is. */
  #lastMark: GapMark | undefined;
  /** `latest`: marks in `#latest` (values that moved past them may leave two side by side). */
  #marks = 0;
  /** Bytes this lane holds, counted in its outbox's budget. */
  #bytes = 0;

  constructor(outbox: Outbox, delivery: ChannelDelivery, notice: GapNotice) {
    this.outbox = outbox;
    this.#delivery = delivery;
    this.#notice = notice;
  }

  get #empty(): boolean {
    return this.#head === this.#queue.length && this.#latest.size === 0 && this.#front === undefined;
  }

  /** Sends `message` on, or keeps it per the policy; `id`: it is for that joining subscription only (ForJoiner). */
  push(message: Delivered, id?: RequestId): void {
    const { outbox } = this;
    if (outbox.closed) return;
    if (!outbox.congested && this.#empty) {
      outbox.write(message.frame);
      return;
    }
    const item = id === undefined ? message : new ForJoiner(message, id);
    if (this.#delivery.policy === 'latest') this.#keepLatest(message, item);
    else if (!this.#keepQueued(item)) return;
    this.#compact();
    outbox.wait(this);
  }

  /** `queue` / `drop-oldest`: `item` waits at the end, or is dropped; false when the connection was given up. */
  #keepQueued(item: Waiting): boolean {
    const delivery = this.#delivery;
    const { outbox } = this;
    const bytes = bytesOf(item);
    if (delivery.policy === 'queue') {
      if (this.#queued >= delivery.maxQueued) return this.#giveUp(`over ${delivery.maxQueued} messages waiting`);
      if (!outbox.fits(bytes)) return this.#giveUp(`over ${outbox.maxBufferedBytes} bytes held for the connection`);
    } else {
      if (this.#queued >= delivery.maxQueued) this.#dropOldest();
      while (!outbox.fits(bytes)) {
        if (this.#queued === 0) {
          // The connection's other lanes (or its socket) hold the budget: the newest goes.
          this.#markAtEnd().addDropped(1, joinerOf(item));
          delivery.counters.dropped++;
          return true;
        }
        this.#dropOldest();
      }
    }
    this.#queue.push(item);
    this.#queued++;
    this.#hold(bytes);
    return true;
  }

  /** `latest`: `item` replaces its key's value and waits at the end, or is dropped. */
  #keepLatest(message: Delivered, item: Waiting): void {
    const delivery = this.#delivery;
    let key = '';
    if (delivery.keyOf !== undefined) {
      message.key ??= delivery.keyOf(message.payload);
      key = message.key;
    }
    // Delete first so that keys stay in arrival order: positions must keep rising. A
    // value older than a gap mark may so move past it: a newer value of its key replaces it.
    const older = this.#latest.get(key);
    if (older !== undefined) {
      this.#latest.delete(key);
      this.#release(bytesOf(older as Waiting));
      delivery.counters.coalesced++;
    }
    const bytes = deliveredBytes(message);
    while (!this.outbox.fits(bytes)) {
      if (!this.#dropFirst()) {
        // Nothing of its own left: the connection's other lanes hold the budget.
        this.#frontMark().addDropped(1, joinerOf(item));
        delivery.counters.dropped++;
        return;
      }
    }
    this.#latest.set(key, item);
    this.#hold(bytes);
    this.#lastMark = undefined;
  }

  /**
   * `latest` past the budget: the first entry in line goes. A value is told as dropped in
   * the front mark; a gap mark joins it (nothing is left between them). False when
   * nothing waits in `#latest`.
   */
  #dropFirst(): boolean {
    const first = this.#latest.entries().next();
    if (first.done === true) return false;
    const [key, item] = first.value;
    this.#latest.delete(key);
    if (item instanceof GapMark) {
      this.#marks--;
      if (item === this.#lastMark) this.#lastMark = undefined;
      // Every entry before it went already: it becomes (or joins) the front mark.
      if (this.#front === undefined) this.#front = item;
      else {
        this.#front.absorb(item);
        this.#release(GAP_MARK_BYTES);
      }
      return true;
    }
    this.#release(bytesOf(item));
    this.#frontMark().addDropped(1, joinerOf(item));
    this.#delivery.counters.dropped++;
    return true;
  }

  /** `latest`: the mark told before every entry, made if there is none. */
  #frontMark(): GapMark {
    if (this.#front === undefined) {
      this.#front = new GapMark();
      this.#hold(GAP_MARK_BYTES);
    }
    return this.#front;
  }

  /** `queue` / `drop-oldest`: the mark after everything that waits, made if the last entry is a message. */
  #markAtEnd(): GapMark {
    const last = this.#queue.length > this.#head ? this.#queue.at(-1) : undefined;
    if (last instanceof GapMark) return last;
    // A mark follows a message (or nothing): at most one more mark than messages.
    const mark = new GapMark();
    this.#queue.push(mark);
    this.#hold(GAP_MARK_BYTES);
    return mark;
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
    if (delivery.policy !== 'latest') this.#markAtEnd().addHistory(missing, id);
    else if (this.#latest.size === 0 && this.#front !== undefined) {
      // Nothing between it and the front mark: one mark, not two (the budget's slack is one per lane).
      this.#front.addHistory(missing, id);
    } else {
      if (this.#lastMark === undefined) {
        // Never coalesced: a mark is bounded by count instead, as a queue is.
        if (this.#marks >= delivery.maxQueued) {
          this.#giveUp(`over ${delivery.maxQueued} gap notices waiting`);
          return;
        }
        this.#lastMark = new GapMark();
        this.#latest.set(this.#lastMark, this.#lastMark);
        this.#marks++;
        this.#hold(GAP_MARK_BYTES);
      }
      this.#lastMark.addHistory(missing, id);
    }
    outbox.wait(this);
  }

  /**
   * Sends what waits until the connection is slow again; true once nothing waits. With
   * `all`, sends everything however slow the connection is: a subscription joining the
   * stream on this connection is answered right after, so that its client registers it
   * after every message and gap notice that came before it (what waits is within the
   * connection's budget, so the socket's buffer stays within it too).
   */
  flush(all = false): boolean {
    const { outbox } = this;
    const stop = () => !all && outbox.congested;
    while (this.#head < this.#queue.length) {
      if (stop()) return this.#compact();
      const item = this.#queue[this.#head] as Waiting | GapMark;
      this.#queue[this.#head++] = undefined;
      if (!(item instanceof GapMark)) this.#queued--;
      this.#send(item);
    }
    if (this.#front !== undefined) {
      if (stop()) return false;
      const front = this.#front;
      this.#front = undefined;
      this.#send(front);
    }
    for (const [key, item] of this.#latest) {
      if (stop()) return false;
      this.#latest.delete(key);
      if (item instanceof GapMark) {
        this.#marks--;
        if (item === this.#lastMark) this.#lastMark = undefined;
      }
      this.#send(item);
    }
    this.#queue = [];
    this.#head = 0;
    return true;
  }

  /** Writes one entry that has left the lane. */
  #send(item: Waiting | GapMark): void {
    if (item instanceof GapMark) {
      this.#release(GAP_MARK_BYTES);
      item.write(this.outbox, this.#notice);
      return;
    }
    this.#release(bytesOf(item));
    this.outbox.write(frameOf(item));
  }

  /** Stops waiting and lets go of what waits (the connection left the stream, or is closing). */
  close(): void {
    this.outbox.forget(this);
    this.#release(this.#bytes);
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    this.#front = undefined;
    this.#latest.clear();
    this.#lastMark = undefined;
    this.#marks = 0;
  }

  /**
   * `drop-oldest`: the oldest message goes, and a mark counts it in its place (the mark
   * before it, if any, moves up; one right after it takes it in). The slot lets go of its
   * message at once: a lane holds maxQueued messages, not more. Called while a message waits.
   */
  #dropOldest(): void {
    const queue = this.#queue;
    let mark = queue[this.#head];
    if (mark instanceof GapMark) {
      // Marks are never side by side, and a message waits: the next slot holds the oldest.
      queue[this.#head++] = undefined;
    } else {
      mark = new GapMark();
      this.#hold(GAP_MARK_BYTES);
    }
    const oldest = queue[this.#head] as Waiting;
    mark.addDropped(1, joinerOf(oldest));
    this.#queued--;
    this.#release(bytesOf(oldest));
    this.#delivery.counters.dropped++;
    const next = queue[this.#head + 1];
    if (next instanceof GapMark) {
      next.absorb(mark);
      this.#release(GAP_MARK_BYTES);
      queue[this.#head++] = undefined;
    } else queue[this.#head] = mark;
  }

  #hold(bytes: number): void {
    this.#bytes += bytes;
    this.outbox.hold(bytes);
  }

  #release(bytes: number): void {
    this.#bytes -= bytes;
    this.outbox.release(bytes);
  }

  #giveUp(why: string): false {
    this.#delivery.counters.slowDisconnects++;
    this.outbox.giveUp(`slow consumer: ${why}`);
    return false;
  }

  #compact(): false {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return false;
  }
}
