import { formatPosition } from '@switchboard/contract';
import type { BrokerListener, BrokerPayload } from '@switchboard/server';

/** A numbered message, as it came over pub/sub or out of the stream. */
export interface Numbered {
  readonly epoch: string;
  readonly offset: number;
  readonly position: string;
  readonly payload: BrokerPayload;
}

/** What a read of a topic's stream found. */
export interface StreamRead {
  /** The topic's epoch now; undefined when it has no numbering (its keys expired or were lost). */
  epoch: string | undefined;
  /** The offset of its newest message. */
  newest: number;
  /** The held messages after the offset asked for (of `epoch`), oldest first. */
  messages: Numbered[];
}

/** Messages of a topic that this process's listeners did not get and never will. */
export interface BrokerGap {
  /** The topic, as the server names it. */
  topic: string;
  /** How many, when that can be told (not when a Redis restart took the old numbering). */
  missing: number | undefined;
}

/** Told of a gap before the first message after it. */
export type GapListener = (gap: BrokerGap) => void;

/**
 * Where a topic's deliveries stand on this process:
 *
 *   joining ── join(position) ──▶ live ◀──────── read applied ─────────┐
 *                                  │                                    │
 *                                  ├── an offset jumps (a hole) ─▶ behind ┤
 *   (any) ── subscriber connection lost ─────────────────────▶ stale ───┘
 *
 * Only `live` delivers as messages arrive; the others hold them (bounded) until the
 * position is known or the stream has been read back.
 */
export type TopicPhase = 'joining' | 'live' | 'behind' | 'stale';

/** Messages held while a topic is not live; one more and the hole is given up as a gap. */
export const MAX_HELD = 10_000;

export interface TopicStreamHost {
  /** The topic needs its stream read back (a hole, or a join after a lost connection). */
  onBehind(stream: TopicStream): void;
  /** Listeners were told of a gap. */
  onGap(gap: BrokerGap): void;
  /** A listener threw. */
  onListenerError(error: unknown): void;
}

/**
 * One topic's listeners on this process and the order of what reaches them: offsets rise
 * by exactly one, so a jump is a hole. A hole is read back from the stream and delivered
 * in order; what the stream no longer holds is reported as a gap before the messages
 * after it. Pure: the broker does the I/O.
 */
export class TopicStream {
  readonly topic: string;
  readonly channel: string;
  readonly listeners = new Map<BrokerListener, GapListener | undefined>();
  /** Subscribed and the position known: the subscribe calls wait for this. */
  ready: Promise<void> = Promise.resolve();
  /** The read of the stream in progress, if any (one at a time). */
  reading: Promise<void> | undefined;
  readonly #host: TopicStreamHost;
  #phase: TopicPhase = 'joining';
  /** The last message delivered (or the position joined at). */
  #epoch: string | undefined;
  #offset = 0;
  #held: Numbered[] = [];
  /** Counts lost subscriber connections: a read begun before the last one cannot end `stale`. */
  #generation = 0;
  #liveWaiters: Array<() => void> = [];

  constructor(topic: string, channel: string, host: TopicStreamHost) {
    this.topic = topic;
    this.channel = channel;
    this.#host = host;
  }

  get phase(): TopicPhase {
    return this.#phase;
  }

  /** The position of the last message delivered, or joined at. */
  get position(): string | undefined {
    return this.#epoch === undefined ? undefined : formatPosition(this.#epoch, this.#offset);
  }

  /** A message from pub/sub. */
  receive(message: Numbered): void {
    if (this.#phase === 'live') this.#accept(message);
    else this.#hold(message);
  }

  /** The subscription is live and the topic stood at (epoch, offset) after it began. */
  join(epoch: string, offset: number): void {
    if (this.#epoch !== epoch || offset > this.#offset) {
      this.#epoch = epoch;
      this.#offset = offset;
    }
    if (this.#phase === 'joining') {
      this.#setPhase('live');
      this.#drain();
    } else if (this.#phase === 'stale') {
      // The connection was lost while joining: what came meanwhile is read back.
      this.#host.onBehind(this);
    }
  }

  /** The subscriber connection was lost: anything published meanwhile must be read back. */
  markStale(): void {
    this.#generation++;
    this.#setPhase('stale');
  }

  /** Whether the stream must be read (and what is known to start from). */
  needsRead(): boolean {
    return (this.#phase === 'behind' || this.#phase === 'stale') && this.#epoch !== undefined;
  }

  /** Where a read starts: after the last message delivered. */
  readRequest(): { epoch: string; after: number; generation: number } {
    return { epoch: this.#epoch ?? '', after: this.#offset, generation: this.#generation };
  }

  /**
   * Delivers what a read found after the last message delivered: first a gap for what it
   * no longer holds, then the held messages, then what arrived meanwhile.
   */
  applyRead(read: StreamRead, generation: number): void {
    if (!this.needsRead()) return;
    // Away (the connection was lost): an epoch change may have taken messages with it.
    const wasAway = this.#phase === 'stale';
    let missing: number | undefined = 0;
    const first = read.messages[0]?.offset ?? read.newest + 1;
    if (read.epoch === undefined) {
      // No numbering at all: the keys are gone (a Redis restart, or expiry), and with them
      // whatever came after the last message delivered. It cannot be told whether anything did.
      missing = undefined;
    } else if (read.epoch === this.#epoch) {
      missing = Math.max(0, first - (this.#offset + 1));
    } else {
      // A new life of the topic. If this process was connected throughout, the old one
      // ended with the last message it delivered; if not, its end is unknowable.
      missing = wasAway ? undefined : first - 1;
    }
    if (missing !== 0) this.#gap(missing);
    if (read.epoch !== undefined) {
      for (const message of read.messages) {
        if (message.epoch !== this.#epoch || message.offset > this.#offset) this.#deliver(message);
      }
      // Everything up to the newest has now been delivered or reported missing.
      if (this.#epoch !== read.epoch || read.newest > this.#offset) {
        this.#epoch = read.epoch;
        this.#offset = read.newest;
      }
    }
    // Lost the connection again during the read: stay stale until it is read once more.
    if (generation !== this.#generation) return;
    this.#setPhase('live');
    this.#drain();
  }

  /** Resolves once the topic is live (nothing held back), or after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    if (this.#phase === 'live') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#liveWaiters.push(done);
    });
  }

  /** Forgotten by the broker: nothing more is delivered. */
  close(): void {
    this.listeners.clear();
    this.#held = [];
    for (const waiter of this.#liveWaiters.splice(0)) waiter();
  }

  #setPhase(phase: TopicPhase): void {
    this.#phase = phase;
    if (phase === 'live' && this.#liveWaiters.length > 0) {
      for (const waiter of this.#liveWaiters.splice(0)) waiter();
    }
  }

  #accept(message: Numbered): void {
    if (this.#epoch === undefined) {
      this.#deliver(message);
      return;
    }
    if (message.epoch === this.#epoch) {
      // At or below the last one: already delivered (a read back overlaps live messages).
      if (message.offset <= this.#offset) return;
      if (message.offset === this.#offset + 1) {
        this.#deliver(message);
        return;
      }
    } else if (message.offset === 1) {
      // The topic began a new life (its keys expired) while this connection was up: the
      // old one ended with the last message delivered.
      this.#deliver(message);
      return;
    }
    this.#setPhase('behind');
    this.#held.push(message);
    this.#host.onBehind(this);
  }

  #hold(message: Numbered): void {
    this.#held.push(message);
    if (this.#held.length <= MAX_HELD) return;
    // The hole is not read back in time (Redis answers pub/sub but not reads?): report it
    // and go on with what is held, rather than hold without bound.
    const held = this.#held;
    this.#held = [];
    const first = held[0] as Numbered;
    if (this.#epoch !== undefined) {
      const missing = first.epoch === this.#epoch ? Math.max(0, first.offset - this.#offset - 1) : undefined;
      if (missing !== 0) this.#gap(missing);
    }
    for (const message of held) {
      if (message.epoch !== this.#epoch || message.offset > this.#offset) this.#deliver(message);
    }
    if (this.#phase !== 'joining') this.#setPhase('live');
  }

  #drain(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const message of held) {
      if (this.#phase === 'live') this.#accept(message);
      else this.#held.push(message);
    }
  }

  #deliver(message: Numbered): void {
    this.#epoch = message.epoch;
    this.#offset = message.offset;
    for (const listener of this.listeners.keys()) {
      try {
        listener(message.payload, message.position);
      } catch (error) {
        this.#host.onListenerError(error);
      }
    }
  }

  #gap(missing: number | undefined): void {
    const gap: BrokerGap = { topic: this.topic, missing };
    for (const onGap of this.listeners.values()) {
      if (onGap === undefined) continue;
      try {
        onGap(gap);
      } catch (error) {
        this.#host.onListenerError(error);
      }
    }
    this.#host.onGap(gap);
  }
}
