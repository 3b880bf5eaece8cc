import type { Client, MessageMeta, Subscription } from '@switchboard/client';
import type { AnyContract, RpcError } from '@switchboard/contract';

/** When folded messages reach the components: at each message, or once per animation frame. */
export type RenderMessages = 'each' | 'frame';

/** The next animation frame where there is one (browsers), else about one frame from now. */
const nextFrame = (run: () => void): unknown =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(run) : setTimeout(run, 16);

/** Where a channel's state is: see docs/react.md. */
export type ChannelStatus = 'idle' | 'connecting' | 'live' | 'resyncing' | 'error';

/** A channel's state for one stream, as every component that reads it sees it. */
export interface ChannelState<State> {
  /** The folded state: undefined until the snapshot (or, without one, the first message). */
  readonly data: State | undefined;
  /** 'connecting' until the snapshot (or registration), then 'live'; 'resyncing' after a gap; 'error' once ended. */
  readonly status: ChannelStatus;
  /** The position of the last message (or snapshot) folded into `data`. */
  readonly position: string | undefined;
  /** Why the subscription ended, while `status` is 'error'. */
  readonly error: RpcError | undefined;
}

/** How messages fold into state: given by the hooks that read the stream (the last one rendered). */
export interface Fold {
  initial: ((snapshot: unknown) => unknown) | undefined;
  reduce: ((state: unknown, message: unknown, meta: MessageMeta) => unknown) | undefined;
}

/** A snapshot and its position, taken on the server (preloadChannel) and carried to the browser. */
export interface Seed {
  snapshot: unknown;
  position: string;
}

/** What an entry needs from the provider that holds it. */
export interface EntryHost {
  readonly client: Client<AnyContract>;
  /** How long an entry nobody reads keeps its subscription. */
  readonly keepAliveMs: number;
  /** 'frame': messages reach components at most once per animation frame (status changes at once). */
  readonly renderMessages: RenderMessages;
  /** The entry stopped: the next reader makes a new one. */
  forget(entry: ChannelEntry): void;
}

const noop = () => {};

/**
 * One channel stream in a provider: one client subscription, however many components read it,
 * from the first reader until keepAliveMs after the last one let go. It folds snapshots and
 * messages into one immutable state object per change, which components select from.
 */
export class ChannelEntry {
  readonly key: string;
  state: ChannelState<unknown>;
  fold: Fold;
  readonly #first: ChannelState<unknown>;
  readonly #host: EntryHost;
  readonly #name: string;
  readonly #params: unknown;
  readonly #listeners = new Set<() => void>();
  #holders = 0;
  #subscription: Subscription | undefined;
  #stopTimer: ReturnType<typeof setTimeout> | undefined;
  /** The preloaded position to start after; used by the first subscription only. */
  #from: string | undefined;
  /** A snapshot was folded in: a gap is repaired by a fresh one. */
  #snapshotted = false;
  #settled: Promise<void> | undefined;
  #settle = noop;
  /** A suspended render waits for this entry to settle. */
  #awaited = false;
  /** A frame is scheduled to tell the listeners of folded messages. */
  #frameScheduled = false;

  constructor(host: EntryHost, key: string, name: string, params: unknown, fold: Fold, seed: Seed | undefined) {
    this.#host = host;
    this.key = key;
    this.#name = name;
    this.#params = params;
    this.fold = fold;
    if (seed === undefined) {
      this.state = { data: undefined, status: 'connecting', position: undefined, error: undefined };
    } else {
      this.state = { data: this.#initial(seed.snapshot), status: 'live', position: seed.position, error: undefined };
      this.#from = seed.position;
      this.#snapshotted = true;
    }
    this.#first = this.state;
  }

  /** The current state (useSyncExternalStore's getSnapshot). */
  readonly read = (): ChannelState<unknown> => this.state;

  /**
   * The state the entry was made with: the preloaded one, or 'connecting' (getServerSnapshot).
   * A part of the page hydrated later (a Suspense boundary of a streamed render) matches the
   * server's HTML, although the stream has moved on since; React then renders the current state.
   */
  readonly readFirst = (): ChannelState<unknown> => this.#first;

  /** A component follows the entry until the returned function is called (useSyncExternalStore's subscribe). */
  readonly listen = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    this.#holders++;
    clearTimeout(this.#stopTimer);
    this.#stopTimer = undefined;
    if (this.#subscription === undefined && this.state.status !== 'error') this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (--this.#holders === 0) this.#stopLater();
    };
  };

  /**
   * Settles once the state leaves 'connecting'. For a render that suspends: the subscription
   * starts now, and is kept keepAliveMs past settling for the component to mount and hold it.
   */
  settled(): Promise<void> {
    if (this.#settled !== undefined) return this.#settled;
    this.#settled = new Promise<void>((resolve) => {
      this.#settle = resolve;
    });
    if (this.state.status !== 'connecting') this.#settle();
    else {
      // A suspended render holds the entry until it settles (a stop timer of a reader that
      // let go meanwhile must not strand it), then keepAliveMs for the component to mount.
      this.#awaited = true;
      clearTimeout(this.#stopTimer);
      this.#stopTimer = undefined;
      if (this.#subscription === undefined) this.#start();
      void this.#settled.then(() => {
        this.#awaited = false;
        if (this.#holders === 0) this.#stopLater();
      });
    }
    return this.#settled;
  }

  #start(): void {
    const from = this.#from;
    this.#from = undefined;
    const subscription = this.#host.client.subscribe(this.#name as never, this.#params as never, {
      ...(from === undefined ? {} : { from }),
      onSnapshot: (snapshot, meta) => {
        this.#snapshotted = true;
        this.#set({ data: this.#initial(snapshot), status: 'live', position: meta.position, error: undefined });
      },
      onMessage: (message, meta) => this.#message(message, meta),
      onGap: () => this.#gap(),
      onError: (error) => {
        if (this.#subscription !== subscription) return;
        this.#subscription = undefined;
        this.#set({ ...this.state, status: 'error', error });
      },
    });
    this.#subscription = subscription;
    subscription.ready.then(({ snapshot }) => {
      // A channel without a snapshot is live once registered; one with a snapshot when it arrives.
      if (this.#subscription === subscription && !snapshot && this.state.status === 'connecting') this.#becomeLive();
    }, noop);
  }

  #message(message: unknown, meta: MessageMeta): void {
    // A message comes after the snapshot, if there is one: the stream is live by now.
    if (this.state.status === 'connecting') this.#becomeLive();
    const { reduce } = this.fold;
    const data = reduce === undefined ? message : reduce(this.state.data, message, meta);
    const state = { data, status: this.state.status, position: meta.position, error: undefined };
    if (this.#host.renderMessages === 'each') {
      this.#set(state);
      return;
    }
    // The state is current at once (a render reads it); the components hear of it once a frame.
    this.state = state;
    if (this.#frameScheduled) return;
    this.#frameScheduled = true;
    nextFrame(() => {
      this.#frameScheduled = false;
      this.#tell();
    });
  }

  /** Registered, and no snapshot comes: the state starts from `initial(undefined)`, if given. */
  #becomeLive(): void {
    this.#set({ ...this.state, data: this.#initial(undefined), status: 'live' });
  }

  /** Messages were lost: a state folded from a snapshot is rebuilt from a fresh one. */
  #gap(): void {
    if (!this.#snapshotted) return;
    this.#subscription?.unsubscribe();
    this.#set({ ...this.state, status: 'resyncing' });
    this.#start();
  }

  #initial(snapshot: unknown): unknown {
    const { initial } = this.fold;
    return initial === undefined ? snapshot : initial(snapshot);
  }

  #set(state: ChannelState<unknown>): void {
    this.state = state;
    if (state.status !== 'connecting') this.#settle();
    this.#tell();
  }

  #tell(): void {
    for (const listener of this.#listeners) listener();
  }

  #stopLater(): void {
    clearTimeout(this.#stopTimer);
    this.#stopTimer = setTimeout(() => this.#stop(), this.#host.keepAliveMs);
  }

  #stop(): void {
    if (this.#holders > 0 || this.#awaited) return;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#host.forget(this);
  }
}
