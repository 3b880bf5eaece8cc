import type { RequestId } from '@switchboard/contract';
import { type Delivered, deliveredBytes, GAP_MARK_BYTES } from './delivery.js';
import { bytesOf, GapMark, joinerOf, type Waiting } from './gap-mark.js';
import { Lane } from './lane.js';

/**
 * A `latest` lane: only the newest message per key waits (one key per stream without
 * `key`), so a slow dashboard gets current values instead of a backlog. Keys stay in the
 * order their newest value arrived, so positions keep rising. Past the connection's
 * budget the first in line goes, told in a front mark before everything that waits.
 */
export class LatestLane extends Lane {
  /** What was dropped of its oldest entries past the budget, told before every entry of `#latest`. */
  #front: GapMark | undefined;
  /** Newest per key, in the order they arrived (older keys first); a gap mark is its own key. */
  readonly #latest = new Map<string | GapMark, Waiting | GapMark>();
  /** The mark that is the newest entry of `#latest`, if one is. */
  #lastMark: GapMark | undefined;
  /** Marks in `#latest` (values that moved past them may leave two side by side). */
  #marks = 0;

  protected get empty(): boolean {
    return this.#latest.size === 0 && this.#front === undefined;
  }

  protected keep(message: Delivered, item: Waiting): boolean {
    const { delivery } = this;
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
      this.release(bytesOf(older as Waiting));
      delivery.counters.coalesced++;
    }
    const bytes = deliveredBytes(message);
    while (!this.outbox.fits(bytes)) {
      if (!this.#dropFirst()) {
        // Nothing of its own left: the connection's other lanes hold the budget.
        this.#frontMark().addDropped(1, joinerOf(item));
        delivery.counters.dropped++;
        return true;
      }
    }
    this.#latest.set(key, item);
    this.hold(bytes);
    this.#lastMark = undefined;
    return true;
  }

  protected keepGap(missing: number | undefined, id: RequestId | undefined): boolean {
    if (this.#latest.size === 0 && this.#front !== undefined) {
      // Nothing between it and the front mark: one mark, not two (the budget's slack is one per lane).
      this.#front.addHistory(missing, id);
      return true;
    }
    if (this.#lastMark === undefined) {
      // Never coalesced: a mark is bounded by count instead, as a queue is.
      if (this.#marks >= this.delivery.maxQueued)
        return this.giveUp(`over ${this.delivery.maxQueued} gap notices waiting`);
      this.#lastMark = new GapMark();
      this.#latest.set(this.#lastMark, this.#lastMark);
      this.#marks++;
      this.hold(GAP_MARK_BYTES);
    }
    this.#lastMark.addHistory(missing, id);
    return true;
  }

  flush(all = false): boolean {
    const { outbox } = this;
    if (this.#front !== undefined) {
      if (!all && outbox.congested) return false;
      const front = this.#front;
      this.#front = undefined;
      this.send(front);
    }
    for (const [key, item] of this.#latest) {
      if (!all && outbox.congested) return false;
      this.#latest.delete(key);
      if (item instanceof GapMark) this.#markLeft(item);
      this.send(item);
    }
    return true;
  }

  protected clear(): void {
    this.#front = undefined;
    this.#latest.clear();
    this.#lastMark = undefined;
    this.#marks = 0;
  }

  /**
   * Past the budget: the first entry in line goes. A value is told as dropped in the front
   * mark; a gap mark joins it (nothing is left between them). False when nothing waits
   * in `#latest`.
   */
  #dropFirst(): boolean {
    const first = this.#latest.entries().next();
    if (first.done === true) return false;
    const [key, item] = first.value;
    this.#latest.delete(key);
    if (item instanceof GapMark) {
      this.#markLeft(item);
      // Every entry before it went already: it becomes (or joins) the front mark.
      if (this.#front === undefined) this.#front = item;
      else {
        this.#front.absorb(item);
        this.release(GAP_MARK_BYTES);
      }
      return true;
    }
    this.release(bytesOf(item));
    this.#frontMark().addDropped(1, joinerOf(item));
    this.delivery.counters.dropped++;
    return true;
  }

  /** A gap mark has left `#latest`. */
  #markLeft(mark: GapMark): void {
    this.#marks--;
    if (mark === this.#lastMark) this.#lastMark = undefined;
  }

  /** The mark told before every entry, made if there is none. */
  #frontMark(): GapMark {
    if (this.#front === undefined) {
      this.#front = new GapMark();
      this.hold(GAP_MARK_BYTES);
    }
    return this.#front;
  }
}
