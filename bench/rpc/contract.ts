// The contract every RPC/pub-sub benchmark contender implements (bench/rpc, bench/fanout, bench/memory).
// `add` is the call; `feed` is the one channel, its messages carry the publisher's timestamp.

import { channel, defineContract, procedure } from '@switchboard/contract';
import { z } from 'zod';

export const AddInput = z.object({ a: z.number(), b: z.number() });
export const FeedParams = z.object({ room: z.string() });
/** seq: per-phase sequence number; t: publish time (performance.timeOrigin + now(), ms); p: phase. */
export const FeedMessage = z.object({ seq: z.number(), t: z.number(), p: z.number() });
export type FeedMessage = z.infer<typeof FeedMessage>;

export const contract = defineContract({
  procedures: {
    add: procedure({ input: AddInput, output: z.number() }),
  },
  channels: {
    feed: channel({ params: FeedParams, message: FeedMessage }),
  },
});
export type BenchContract = typeof contract;

/** The room every fan-out / memory subscriber joins. */
export const ROOM = 'r';

/** Wall-clock ms with sub-ms resolution, comparable between processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
