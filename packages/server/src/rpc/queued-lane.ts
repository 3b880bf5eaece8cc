import type { RequestId } from '@switchboard/contract';
import { Deque } from '../deque.js';
import { type Delivered, GAP_MARK_BYTES } from './delivery.js';
import { bytesOf, GapMark, joinerOf, type Waiting } from './gap-mark.js';
import { Lane } from './lane.js';

/**
 * A `queue` or `drop-oldest` lane: what waits, oldest first, with gap marks in place of
 * what its subscriber will not get. Past `maxQueued` messages or the connection's budget,
 * `queue` closes the connection (4001); `drop-oldest` drops the oldest, or the incoming
 * message when the connection's other lanes hold the budget.
 */
export class QueuedLane extends Lane {
  /** Oldest first; gap marks never side by side. Made when the first entry waits. */
  #queue: Deque<Waiting | GapMark> | undefined;
  /** Messages (not marks) in `#queue`: what `maxQueued` bounds. */
  #queued = 0;

  protected get empty(): boolean {
    return this.#queue === undefined || this.#queue.length === 0;
  }

  protected keep(_message: Delivered, item: Waiting): boolean {
    const { delivery, outbox } = this;
    const bytes = bytesOf(item);
    if (delivery.policy === 'queue') {
      if (this.#queued >= delivery.maxQueued) return this.giveUp(`over ${delivery.maxQueued} messages waiting`);
      if (!outbox.fits(bytes)) return this.giveUp(`over ${outbox.maxBufferedBytes} bytes held for the connection`);
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
    this.#waitingQueue().push(item);
    this.#queued++;
    this.hold(bytes);
    return true;
  }

  protected keepGap(missing: number | undefined, id: RequestId | undefined): boolean {
    this.#markAtEnd().addHistory(missing, id);
    return true;
  }

  flush(all = false): boolean {
    const { outbox } = this;
    const queue = this.#queue;
    if (queue === undefined) return true;
    while (queue.length > 0) {
      if (!all && outbox.congested) return false;
      const item = queue.shift() as Waiting | GapMark;
      if (!(item instanceof GapMark)) this.#queued--;
      this.send(item);
    }
    return true;
  }

  protected clear(): void {
    this.#queue?.clear();
    this.#queued = 0;
  }

  /** The queue to put in: made when the first entry waits. */
  #waitingQueue(): Deque<Waiting | GapMark> {
    this.#queue ??= new Deque();
    return this.#queue;
  }

  /** The mark after everything that waits, made if the last entry is a message. */
  #markAtEnd(): GapMark {
    const last = this.#queue?.peekLast();
    if (last instanceof GapMark) return last;
    // A mark follows a message (or nothing): at most one more mark than messages.
    const mark = new GapMark();
    this.#waitingQueue().push(mark);
    this.hold(GAP_MARK_BYTES);
    return mark;
  }

  /**
   * `drop-oldest`: the oldest message goes, and a mark counts it in its place (the mark
   * before it, if any, moves up; one right after it takes it in). The slot lets go of its
   * message at once: a lane holds maxQueued messages, not more. Called while a message waits.
   */
  #dropOldest(): void {
    const queue = this.#queue as Deque<Waiting | GapMark>;
    let mark = queue.peek();
    if (mark instanceof GapMark) {
      // Marks are never side by side, and a message waits: the next slot holds the oldest.
      queue.shift();
    } else {
      mark = new GapMark();
      this.hold(GAP_MARK_BYTES);
    }
    const oldest = queue.peek() as Waiting;
    mark.addDropped(1, joinerOf(oldest));
    this.#queued--;
    this.release(bytesOf(oldest));
    this.delivery.counters.dropped++;
    const next = queue.at(1);
    if (next instanceof GapMark) {
      next.absorb(mark);
      this.release(GAP_MARK_BYTES);
      queue.shift();
    } else queue.set(0, mark);
  }
}
