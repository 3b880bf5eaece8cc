import type { RequestId } from '@switchboard/contract';
import { addMissing, type Delivered, deliveredBytes, type GapNotice } from './delivery.js';
import type { Outbox } from './outbox.js';

/**
 * Messages a lane's subscriber will not get, held in their place among the waiting
 * messages. Notices with no message between them are one mark: where nothing comes
 * between them, their order does not matter.
 */
export class GapMark {
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
export class ForJoiner {
  readonly message: Delivered;
  readonly id: RequestId;

  constructor(message: Delivered, id: RequestId) {
    this.message = message;
    this.id = id;
  }
}

/** A message waiting in a lane: for every subscription of it, or for one joining (ForJoiner). */
export type Waiting = Delivered | ForJoiner;

export function frameOf(item: Waiting): Buffer {
  return item instanceof ForJoiner ? item.message.frame : item.frame;
}

export function bytesOf(item: Waiting): number {
  return deliveredBytes(item instanceof ForJoiner ? item.message : item);
}

export function joinerOf(item: Waiting): RequestId | undefined {
  return item instanceof ForJoiner ? item.id : undefined;
}
