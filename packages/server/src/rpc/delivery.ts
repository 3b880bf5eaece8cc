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

/**
 * One connection's share of one stream: how many of its subscriptions follow it, and
 * the messages waiting for it while the connection is slow, per the channel's policy.
 */
export class Lane {
  readonly outbox: Outbox;
  readonly #delivery: ChannelDelivery;
  /** The gap notice to send before the next message, given the channel and key. */
  readonly #gapNotice: (dropped: number) => Buffer;
  /** Subscriptions of this connection on the stream. */
  subscriptions = 1;
  /** `queue` / `drop-oldest`: oldest first. */
  #queue: Delivered[] = [];
  #head = 0;
  /** `latest`: newest per key, in the order they arrived (older keys first). */
  readonly #latest = new Map<string, Delivered>();
  #dropped = 0;

  constructor(outbox: Outbox, delivery: ChannelDelivery, gapNotice: (dropped: number) => Buffer) {
    this.outbox = outbox;
    this.#delivery = delivery;
    this.#gapNotice = gapNotice;
  }

  get #empty(): boolean {
    return this.#head === this.#queue.length && this.#latest.size === 0 && this.#dropped === 0;
  }

  push(message: Delivered): void {
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
      // Delete first so that keys stay in arrival order: positions must keep rising.
      if (this.#latest.delete(key)) delivery.counters.coalesced++;
      this.#latest.set(key, message);
    } else if (this.#queue.length - this.#head < delivery.maxQueued) {
      this.#queue.push(message);
    } else if (delivery.policy === 'drop-oldest') {
      // The slot lets go of its message at once: a lane holds maxQueued messages, not more.
      (this.#queue as Array<Delivered | undefined>)[this.#head] = undefined;
      this.#head++;
      this.#dropped++;
      delivery.counters.dropped++;
      this.#queue.push(message);
    } else {
      delivery.counters.slowDisconnects++;
      outbox.giveUp(`slow consumer: over ${delivery.maxQueued} messages waiting`);
      return;
    }
    this.#compact();
    outbox.wait(this);
  }

  /** Sends what waits until the connection is slow again; true once nothing waits. */
  flush(): boolean {
    const { outbox } = this;
    if (this.#dropped > 0) {
      outbox.write(this.#gapNotice(this.#dropped));
      this.#dropped = 0;
    }
    while (this.#head < this.#queue.length) {
      if (outbox.congested) return this.#compact();
      outbox.write((this.#queue[this.#head++] as Delivered).frame);
    }
    for (const [key, message] of this.#latest) {
      if (outbox.congested) return false;
      this.#latest.delete(key);
      outbox.write(message.frame);
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
    this.#latest.clear();
  }

  #compact(): false {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return false;
  }
}
