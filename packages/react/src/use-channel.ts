import type { MessageMeta } from '@switchboard/client';
import type { AnyContract, ChannelName, MessageOf, ParamsOf, RpcError, SnapshotOf } from '@switchboard/contract';
import { useRef } from 'react';
import withSelector from 'use-sync-external-store/with-selector';
import type { ChannelState, ChannelStatus } from './channel-entry.js';
import { useEntries } from './provider.js';
import type { RegisteredContract } from './register.js';

// A CommonJS module: its default import is its exports, in Node and in bundlers alike.
const { useSyncExternalStoreWithSelector } = withSelector;

/** The state of a channel without `initial` or `reduce`: its snapshot, then its latest message. */
export type LatestOf<C extends AnyContract, K extends ChannelName<C>> = SnapshotOf<C, K> | MessageOf<C, K>;

/**
 * useChannel()'s options: `initial` and `reduce` together (the state is folded from the
 * snapshot and every message), or neither (the state is the snapshot, then the latest
 * message). Only `params` (and the name) choose the subscription: see docs/react.md.
 */
export type ChannelOptions<C extends AnyContract, K extends ChannelName<C>, State, Selected> = SelectOptions<
  State,
  Selected
> &
  (
    | {
        /**
         * The state from the channel's snapshot (channels without one: called with undefined
         * once the subscription is registered).
         */
        initial: (snapshot: SnapshotOf<C, K>) => State;
        /** The state after one more message. */
        reduce: (state: State, message: MessageOf<C, K>, meta: MessageMeta) => State;
      }
    | {
        /** Without `reduce`: none (the state is the snapshot, then the latest message). */
        initial?: undefined;
        /** Without `initial`: none. */
        reduce?: undefined;
      }
  );

/** What every useChannel() takes besides its fold. */
export interface SelectOptions<State, Selected> {
  /**
   * The part of the state this component shows: it re-renders only when that part changes
   * (by Object.is), or when status or error do (or position, if it reads position).
   * @default the whole state
   */
  select?: (state: State) => Selected;
  /**
   * Suspend until the snapshot (or, without one, the registration) has arrived; an ended subscription throws.
   * @default false
   */
  suspense?: boolean;
  /**
   * false: no subscription (status 'idle', no data), as while the params are not known yet.
   * @default true
   */
  enabled?: boolean;
}

/** What useChannel() returns. */
export interface ChannelResult<Selected> {
  /** The selected state; undefined while 'connecting' (unless preloaded or suspended). */
  readonly data: Selected | undefined;
  /** 'connecting' until the snapshot (or registration), then 'live'; 'resyncing' after a gap; 'error' once ended. */
  readonly status: ChannelStatus;
  /** The position of the last message folded in. A component that reads it re-renders on every message. */
  readonly position: string | undefined;
  /** Why the subscription ended, while status is 'error'. */
  readonly error: RpcError | undefined;
}

/** What a hook reads while it is not enabled: nothing to follow, nothing to wait for. */
const IDLE_STATE: ChannelState<unknown> = { data: undefined, status: 'idle', position: undefined, error: undefined };
const IDLE = {
  listen: () => () => {},
  read: () => IDLE_STATE,
  readFirst: () => IDLE_STATE,
  settled: () => Promise.resolve(),
};

interface Selection {
  data: unknown;
  status: ChannelStatus;
  position: string | undefined;
  error: RpcError | undefined;
}

/** useChannel's type for contract C. */
export type UseChannel<C extends AnyContract> = <K extends ChannelName<C>, State = LatestOf<C, K>, Selected = State>(
  name: K,
  params: ParamsOf<C, K>,
  options?: ChannelOptions<C, K, State, Selected>,
) => ChannelResult<Selected>;

/**
 * Channel `name`'s live state for `params`: its snapshot, folded with every message after it
 * by `reduce`. Components reading equal params share one subscription; it ends keepAliveMs
 * after the last of them unmounts. Typed by the registered contract (Register).
 */
export const useChannel = useAnyChannel as unknown as UseChannel<RegisteredContract>;

/** useChannel, untyped. */
function useAnyChannel(
  name: string,
  params: unknown,
  options: {
    initial?: (snapshot: unknown) => unknown;
    reduce?: (state: unknown, message: unknown, meta: MessageMeta) => unknown;
    select?: (state: unknown) => unknown;
    suspense?: boolean;
    enabled?: boolean;
  } = {},
): ChannelResult<unknown> {
  const { initial, reduce, select, suspense = false, enabled = true } = options;
  const entries = useEntries();
  const entry = enabled ? entries.get(name, params, { initial, reduce }) : IDLE;
  // Whether this component has read `position`: only then does a new position alone re-render it.
  const readsPosition = useRef(false);
  const selection = useSyncExternalStoreWithSelector(
    entry.listen,
    entry.read,
    entry.readFirst,
    (state: ChannelState<unknown>): Selection => ({
      data: state.data === undefined || select === undefined ? state.data : select(state.data),
      status: state.status,
      position: state.position,
      error: state.error,
    }),
    (a: Selection, b: Selection) =>
      Object.is(a.data, b.data) &&
      a.status === b.status &&
      a.error === b.error &&
      (!readsPosition.current || a.position === b.position),
  );
  if (suspense) {
    if (selection.status === 'connecting') throw entry.settled();
    if (selection.status === 'error') throw selection.error;
  }
  return {
    data: selection.data,
    status: selection.status,
    get position() {
      readsPosition.current = true;
      return selection.position;
    },
    error: selection.error,
  };
}
