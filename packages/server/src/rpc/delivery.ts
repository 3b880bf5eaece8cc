import { gapWriter, type RequestId } from '@switchboard/contract';
import type { BrokerPayload } from '../broker/broker.js';
import { encodeFrame, OPCODES } from '../transport/index.js';

// A channel's delivery policy and what it hands its lanes (lane.ts): one message shared by
// every subscriber, and the gap notices told in place of messages a subscriber misses.

/**
 * What happens to a channel's messages for a subscriber whose connection is slow (more
 * than `limits.highWaterBytes` waiting to be sent). Each policy is bounded twice: per
 * stream by `maxQueued`, and per connection by `limits.maxBufferedBytes`, one budget in
 * bytes over the socket's buffer and everything waiting in the connection's lanes (see
 * Outbox in outbox.ts), whatever the number of its subscriptions.
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

/** How a channel's messages reach slow subscribers (see DeliveryPolicy), set per channel in the router. */
export interface DeliveryOptions<Message> {
  /** What happens to messages for a slow subscriber. @default 'queue' */
  policy?: DeliveryPolicy;
  /**
   * `queue` and `drop-oldest`: messages held per subscriber while its connection is slow
   * (within the connection's `limits.maxBufferedBytes` in any case). @default 10,000
   */
  maxQueued?: number;
  /**
   * `latest`: keep the newest message per key (e.g. per host) instead of one per stream. @default none: one per
   * stream
   */
  key?: (message: Message) => string;
}

/** The defaults of DeliveryOptions. */
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
  readonly keyOf: ((payload: BrokerPayload) => string) | undefined;
  readonly counters: DeliveryCounters;
}

/** One message on its way to subscribers: the frame, shared by all of them. */
export interface Delivered {
  readonly frame: Buffer;
  /** The envelope without position (what `keyOf` reads): text, or a binary message. */
  readonly payload: BrokerPayload;
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
  const { payload } = message;
  const payloadBytes = typeof payload === 'string' ? payload.length * 2 : payload.byteLength;
  return message.frame.length + payloadBytes + DELIVERED_OVERHEAD_BYTES;
}

/** Why a subscriber misses messages: too slow for a `drop-oldest` channel, or lost on the way (the broker's gap). */
export type GapReason = 'dropped' | 'history';

/**
 * Encodes a stream's `gap` envelope; `count` when it can be told; `id` when it concerns
 * only that subscription (one still being registered), not every one on the stream.
 */
export type GapNotice = (reason: GapReason, count: number | undefined, id?: RequestId) => Buffer;

/** The `gap` envelopes of `topic` (`<channel>:<key>`), as frames. */
export function gapNotice(topic: string): GapNotice {
  const colon = topic.indexOf(':');
  const write = gapWriter(topic.slice(0, colon), topic.slice(colon + 1));
  return (reason, dropped, id) => encodeFrame(OPCODES.text, Buffer.from(write(reason, dropped, id), 'utf8'));
}

/** Two counts of lost messages added up; unknown if either is. */
export function addMissing(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}
