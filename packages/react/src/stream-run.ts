import type { Client, StreamChunkMeta } from '@switchboard/client';
import type { AnyContract, RpcError } from '@switchboard/contract';

/** Where a stream read by useStream() is. */
export type StreamStatus = 'idle' | 'streaming' | 'done' | 'error';

/** A stream's state as its component sees it. */
export interface StreamState<State, Result> {
  /** The chunks so far, folded (by default an array of them). */
  readonly data: State | undefined;
  /** 'idle' (not enabled), 'streaming', 'done' (with `result`) or 'error' (with `error`). */
  readonly status: StreamStatus;
  /** The handler's return value, once 'done'. */
  readonly result: Result | undefined;
  /** Why the stream failed (or CANCELLED), once 'error'. */
  readonly error: RpcError | undefined;
}

/** What a run needs to start its streaming call. */
export interface StreamCall {
  client: Client<AnyContract>;
  name: string;
  input: unknown;
  credit: number | undefined;
  timeoutMs: number | undefined;
  initial: (() => unknown) | undefined;
  reduce: ((state: unknown, chunk: unknown, meta: StreamChunkMeta) => unknown) | undefined;
}

const IDLE: StreamState<never, never> = { data: undefined, status: 'idle', result: undefined, error: undefined };

/**
 * One streaming call of one component: started when the component commits, cancelled a
 * moment after it lets go (so that strict mode's unmount and mount again keep the one call).
 */
export class StreamRun {
  readonly key: string | undefined;
  state: StreamState<unknown, unknown> = IDLE;
  /** Updated on each render: the fold of the component as last rendered. */
  call: StreamCall;
  readonly #listeners = new Set<() => void>();
  #cancel: (() => void) | undefined;
  #cancelTimer: ReturnType<typeof setTimeout> | undefined;

  /** `key` undefined: the stream is not wanted (enabled: false); it stays 'idle'. */
  constructor(key: string | undefined, call: StreamCall) {
    this.key = key;
    this.call = call;
  }

  readonly read = (): StreamState<unknown, unknown> => this.state;

  readonly listen = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    clearTimeout(this.#cancelTimer);
    this.#cancelTimer = undefined;
    if (this.key !== undefined && this.state === IDLE) this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#cancelTimer = setTimeout(() => this.cancel(), 0);
    };
  };

  /** Ends the stream with CANCELLED (the server's handler stops); a finished one stays as it is. */
  readonly cancel = (): void => {
    this.#cancel?.();
  };

  #start(): void {
    const { client, name, input, credit, timeoutMs, initial } = this.call;
    this.#set({ data: initial?.(), status: 'streaming', result: undefined, error: undefined });
    const stream = client.stream(name as never, input as never, {
      ...(credit === undefined ? {} : { credit }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      onChunk: (chunk, meta) => {
        const { reduce } = this.call;
        const data =
          reduce === undefined
            ? [...((this.state.data as unknown[] | undefined) ?? []), chunk]
            : reduce(this.state.data, chunk, meta);
        this.#set({ ...this.state, data });
      },
      onEnd: (result) => {
        this.#cancel = undefined;
        this.#set({ ...this.state, status: 'done', result });
      },
      onError: (error) => {
        this.#cancel = undefined;
        this.#set({ ...this.state, status: 'error', error });
      },
    });
    this.#cancel = () => stream.cancel();
  }

  #set(state: StreamState<unknown, unknown>): void {
    this.state = state;
    for (const listener of this.#listeners) listener();
  }
}
