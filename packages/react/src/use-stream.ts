import type { StreamChunkMeta } from '@switchboard/client';
import type { AnyContract, ChunkOf, InputOf, StreamName, StreamResultOf } from '@switchboard/contract';
import { useState, useSyncExternalStore } from 'react';
import { channelKey } from './channel-key.js';
import { useEntries } from './provider.js';
import type { RegisteredContract } from './register.js';
import { type StreamCall, StreamRun, type StreamState } from './stream-run.js';

/** useStream()'s options. Only the name and `input` choose the call: a new one starts when they change. */
export interface StreamHookOptions<C extends AnyContract, K extends StreamName<C>, State> {
  /** The state before the first chunk. Default: undefined (then an array of the chunks). */
  initial?: () => State;
  /** The state after one more chunk. Default: the chunks so far, in an array. */
  reduce?: (state: State, chunk: ChunkOf<C, K>, meta: StreamChunkMeta) => State;
  /** false: no call is made (status 'idle'), as for input not known yet. Default true. */
  enabled?: boolean;
  /** Chunks the server may send ahead of the reader (client.stream's credit). @default 256 */
  credit?: number;
  /** TIMEOUT when no chunk arrives for this long (client.stream's timeoutMs). @default the client's timeoutMs */
  timeoutMs?: number;
}

/** What useStream() returns. */
export interface StreamResult<State, Result> extends StreamState<State, Result> {
  /** Ends the stream with CANCELLED; the server's handler stops. */
  cancel(): void;
}

/** useStream's type for contract C. */
export type UseStream<C extends AnyContract> = <K extends StreamName<C>, State = ChunkOf<C, K>[]>(
  name: K,
  input: InputOf<C, K>,
  options?: StreamHookOptions<C, K, State>,
) => StreamResult<State, StreamResultOf<C, K>>;

/**
 * Calls streaming procedure `name` with `input` while the component is mounted, folding its
 * chunks into state: exactly once and in order across reconnects, as client.stream(). It is
 * cancelled when the component unmounts, and again made when the name or input change.
 * Typed by the registered contract (Register).
 */
export const useStream = useAnyStream as unknown as UseStream<RegisteredContract>;

/** useStream, untyped. */
function useAnyStream(
  name: string,
  input: unknown,
  options: {
    initial?: () => unknown;
    reduce?: StreamCall['reduce'];
    enabled?: boolean;
    credit?: number;
    timeoutMs?: number;
  } = {},
): StreamResult<unknown, unknown> {
  const { client } = useEntries();
  const { initial, reduce, enabled = true, credit, timeoutMs } = options;
  const call: StreamCall = {
    client,
    name,
    input,
    credit,
    timeoutMs,
    initial,
    reduce,
  };
  const key = enabled ? channelKey(name, input) : undefined;
  // The run is state: a render React throws away (a transition that suspends) takes its new
  // run with it, and the committed one goes on.
  const [committed, setRun] = useState(() => new StreamRun(key, call));
  let run = committed;
  if (run.key !== key || run.call.client !== client) {
    run = new StreamRun(key, call);
    setRun(run);
  } else run.call = call;
  const state = useSyncExternalStore(run.listen, run.read, run.read);
  return { ...state, cancel: run.cancel };
}
