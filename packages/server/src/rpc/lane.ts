import type { RequestId } from '@switchboard/contract';
import { type ChannelDelivery, type Delivered, GAP_MARK_BYTES, type GapNotice, gapNotice } from './delivery.js';
import { bytesOf, ForJoiner, frameOf, GapMark, type Waiting } from './gap-mark.js';
import type { Outbox } from './outbox.js';

/**
 * One connection's share of one stream: how many of its subscriptions follow it, and
 * the messages waiting for it while the connection is slow, per the channel's policy
 * (QueuedLane for `queue` and `drop-oldest`, LatestLane for `latest`; createLane picks).
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
 *
 * ```
 *  push / gap ─▶ keeps up and nothing waits? ─ yes ─▶ socket
 *                     │ no
 *                     ▼
 *                keep / keepGap (the policy's) ─▶ waits, counted ─▶ flush on 'drain' ─▶ socket
 * ```
 */
export abstract class Lane {
  readonly outbox: Outbox;
  protected readonly delivery: ChannelDelivery;
  /** `<channel>:<key>`: what the gap notices name. */
  readonly #topic: string;
  /** Subscriptions of this connection on the stream. */
  subscriptions = 1;
  /** Bytes this lane holds, counted in its outbox's budget. */
  #bytes = 0;

  constructor(outbox: Outbox, delivery: ChannelDelivery, topic: string) {
    this.outbox = outbox;
    this.delivery = delivery;
    this.#topic = topic;
  }

  /** Writes the frames of this stream's `gap` envelopes: made when a gap is told (most lanes never tell one). */
  protected get notice(): GapNotice {
    return gapNotice(this.#topic);
  }

  /** Nothing waits in the lane. */
  protected abstract get empty(): boolean;

  /** Keeps `item` (holding `message`) per the policy, or drops it; false when the connection was given up. */
  protected abstract keep(message: Delivered, item: Waiting): boolean;

  /** Keeps a broker gap in line; false when the connection was given up. */
  protected abstract keepGap(missing: number | undefined, id: RequestId | undefined): boolean;

  /**
   * Sends what waits until the connection is slow again; true once nothing waits. With
   * `all`, sends everything however slow the connection is: a subscription joining the
   * stream on this connection is answered right after, so that its client registers it
   * after every message and gap notice that came before it (what waits is within the
   * connection's budget, so the socket's buffer stays within it too).
   */
  abstract flush(all?: boolean): boolean;

  /** Forgets everything that waits (its bytes are released by close()). */
  protected abstract clear(): void;

  /** Sends `message` on, or keeps it per the policy; `id`: it is for that joining subscription only (ForJoiner). */
  push(message: Delivered, id?: RequestId): void {
    const { outbox } = this;
    if (outbox.closed) return;
    if (!outbox.congested && this.empty) {
      outbox.write(message.frame);
      return;
    }
    if (this.keep(message, id === undefined ? message : new ForJoiner(message, id))) outbox.wait(this);
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
    if (!outbox.congested && this.empty) {
      outbox.write(this.notice('history', missing, id));
      return;
    }
    if (this.keepGap(missing, id)) outbox.wait(this);
  }

  /** Stops waiting and lets go of what waits (the connection left the stream, or is closing). */
  close(): void {
    this.outbox.forget(this);
    this.release(this.#bytes);
    this.clear();
  }

  /** Writes one entry that has left the lane. */
  protected send(item: Waiting | GapMark): void {
    if (item instanceof GapMark) {
      this.release(GAP_MARK_BYTES);
      item.write(this.outbox, this.notice);
      return;
    }
    this.release(bytesOf(item));
    this.outbox.write(frameOf(item));
  }

  protected hold(bytes: number): void {
    this.#bytes += bytes;
    this.outbox.hold(bytes);
  }

  protected release(bytes: number): void {
    this.#bytes -= bytes;
    this.outbox.release(bytes);
  }

  protected giveUp(why: string): false {
    this.delivery.counters.slowDisconnects++;
    this.outbox.giveUp(`slow consumer: ${why}`);
    return false;
  }
}
