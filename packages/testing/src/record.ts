import type { Client, GapInfo, Subscription } from '@switchboard/client';
import type { AnyContract, ChannelName, MessageOf, ParamsOf, RpcError, SnapshotOf } from '@switchboard/contract';
import { realClearTimeout, realSetTimeout } from './clock.js';
import { WAIT_TIMEOUT_MS } from './wait-timeout.js';

/** Everything one subscription received, in order, and waits on it that need no sleeping. */
export interface Recording<Message, State> {
  /** The messages received, in order. */
  readonly messages: Message[];
  /** The position of each message, in the same order. */
  readonly positions: string[];
  /** The snapshots received (channels with a snapshot: one on joining, more after unrecoverable gaps). */
  readonly snapshots: State[];
  /** The gaps reported (messages missed that could not be replayed). */
  readonly gaps: GapInfo[];
  /** The error that ended the subscription, if one did. */
  readonly error: RpcError | undefined;
  /** The subscription itself (its `ready` promise). */
  readonly subscription: Subscription;
  /** Resolves once `count` messages in all have arrived (with all of them). */
  untilMessages(count: number, timeoutMs?: number): Promise<Message[]>;
  /** Resolves once `count` gaps in all have been reported. */
  untilGaps(count: number, timeoutMs?: number): Promise<GapInfo[]>;
  /** Resolves once the subscription has ended with an error. */
  untilError(timeoutMs?: number): Promise<RpcError>;
  /** Resolves once `check` holds, checked after every event of this subscription. */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Ends the subscription. */
  unsubscribe(): void;
}

/**
 * Subscribes and records: messages, snapshots, gaps and the ending error, each awaitable
 * without sleeping (a wait is bounded in real time and fails naming what it waited for).
 * @example
 * const feed = record(client, 'ticks', { room: 'a' });
 * await feed.untilMessages(3);
 */
export function record<C extends AnyContract, K extends ChannelName<C>>(
  client: Client<C>,
  channel: K,
  params: ParamsOf<C, K>,
): Recording<MessageOf<C, K>, SnapshotOf<C, K>> {
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const until = (check: () => boolean, what: string, timeoutMs = WAIT_TIMEOUT_MS) =>
    new Promise<void>((resolve, reject) => {
      if (check()) return resolve();
      const waiter = () => {
        if (!check()) return;
        waiters.delete(waiter);
        realClearTimeout(timer);
        resolve();
      };
      const timer = realSetTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${channel}: timed out after ${timeoutMs} ms (real time) waiting for ${what}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  const recording = {
    messages: [] as Array<MessageOf<C, K>>,
    positions: [] as string[],
    snapshots: [] as Array<SnapshotOf<C, K>>,
    gaps: [] as GapInfo[],
    error: undefined as RpcError | undefined,
    subscription: undefined as unknown as Subscription,
    until,
    untilMessages: async (count: number, timeoutMs?: number) => {
      await until(() => recording.messages.length >= count, `${count} messages`, timeoutMs);
      return recording.messages;
    },
    untilGaps: async (count: number, timeoutMs?: number) => {
      await until(() => recording.gaps.length >= count, `${count} gaps`, timeoutMs);
      return recording.gaps;
    },
    untilError: async (timeoutMs?: number) => {
      await until(() => recording.error !== undefined, 'the subscription to end', timeoutMs);
      return recording.error as RpcError;
    },
    unsubscribe: () => recording.subscription.unsubscribe(),
  };
  recording.subscription = client.subscribe(channel, params, {
    onMessage: (message, meta) => {
      recording.messages.push(message);
      recording.positions.push(meta.position);
      changed();
    },
    onSnapshot: (state) => {
      recording.snapshots.push(state);
      changed();
    },
    onGap: (gap) => {
      recording.gaps.push(gap);
      changed();
    },
    onError: (error) => {
      recording.error = error;
      changed();
    },
  });
  // A subscription that fails to join ends through onError as well.
  recording.subscription.ready.catch(() => {});
  return recording;
}
