import type {
  AnyContract,
  ChannelName,
  CheckedChannelName,
  CheckedProcedureName,
  ChunkOf,
  ContractSkew,
  InputOf,
  KnownName,
  MessageOf,
  OutputOf,
  ParamsOf,
  ProcedureName,
  RpcError,
  SnapshotOf,
  StreamName,
  StreamResultOf,
} from '@switchboard/contract';
import type { EventEmitter } from 'eventemitter3';

/**
 * `open` once the server accepted the connection's credentials; `unauthorized` when it
 * refused them (or revoked them): no reconnect until reauthenticate() or reconnect().
 */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'unauthorized' | 'closed';

/** What a `state` event tells besides the state. */
export interface StateInfo {
  /** Connection attempts since the last time the client was open. */
  attempt: number;
  /** Delay before the next attempt, when one is scheduled. */
  nextDelayMs: number | undefined;
  /** Calls waiting for the connection. */
  queuedCalls: number;
  /** The close code of the last connection, if it closed. */
  closeCode: number | undefined;
  /** While 'unauthorized': the server's refusal, UNAUTHORIZED or FORBIDDEN with its message. */
  error?: RpcError;
}

/** The client's events, with their listeners. */
export interface ClientEvents {
  /** The client moved to `state`. */
  state: (state: ClientState, info: StateInfo) => void;
  /**
   * The server sent a message the client refuses: not JSON, not an envelope of protocol v1
   * (`BAD_REQUEST`), binary (`BAD_REQUEST`) or over `maxMessageBytes` (`PAYLOAD_TOO_LARGE`).
   * The connection is then closed and re-opened with the usual backoff; `closeCode` in the
   * next state event says why (1002, 1003, 1009). Also: `auth()` failed (`UNAVAILABLE`, the
   * connection is retried), or the automatic refresh ahead of expiry was refused.
   */
  error: (error: RpcError) => void;
  /**
   * The server accepted the connection, and its contract differs from the one this client
   * was built with (the `fingerprint` option): `skew` names the procedures and channels
   * concerned and why. Calls and subscribes of them get RELOAD_REQUIRED (those whose
   * reason is `input-changed`, only for an input the server refuses): time to reload the
   * app. Emitted with each connection that finds a difference.
   */
  reloadRequired: (skew: ContractSkew) => void;
}

/** Options of one call, after its input. */
export interface CallOptions {
  /** This call's deadline in ms; TIMEOUT after it. @default the client's timeoutMs */
  timeoutMs?: number;
  /** Aborting rejects with CANCELLED and tells the server, whose handler signal aborts. @default none */
  signal?: AbortSignal;
  /** `false`: fail at once with UNAVAILABLE instead of waiting in the offline queue. @default true */
  queue?: boolean;
}

/** Where a chunk is in its stream. */
export interface StreamChunkMeta {
  /** 1 for the first chunk, rising by one; the same chunk has the same seq across reconnects. */
  seq: number;
}

/** Options of one streaming call, after its input. */
export interface StreamOptions<Chunk = unknown, Result = unknown> {
  /** Aborting ends the stream with CANCELLED and stops the server's handler (its signal aborts). @default none */
  signal?: AbortSignal;
  /** TIMEOUT when no chunk arrives for this long while the reader waits for one. @default the client's timeoutMs */
  timeoutMs?: number;
  /**
   * Chunks the server may send ahead of the reader; it pauses the handler beyond them (the
   * reader grants more as it reads). @default 256
   */
  credit?: number;
  /** Delivers each chunk here instead of through `for await` (a UI layer, say). @default none */
  onChunk?: (chunk: Chunk, meta: StreamChunkMeta) => void;
  /** Called with the result once the stream ended. @default none */
  onEnd?: (result: Result) => void;
  /** Called once if the stream fails (or is cancelled). @default none */
  onError?: (error: RpcError) => void;
}

/**
 * A streaming call, from client.stream(): an async iterable of its chunks, each exactly
 * once and in order across reconnects. Breaking out of `for await` cancels it.
 */
export interface ClientStream<Chunk, Result> extends AsyncIterable<Chunk> {
  /** The handler's return value once the stream ended; rejects with the stream's RpcError. */
  readonly result: Promise<Result>;
  /** Ends the stream with CANCELLED; the server's handler stops. */
  cancel(): void;
}

/** `input` may be left out when the procedure's input accepts undefined. */
export type StreamArgs<C extends AnyContract, K extends StreamName<C>> =
  undefined extends InputOf<C, K>
    ? [input?: InputOf<C, K>, options?: StreamOptions<ChunkOf<C, K>, StreamResultOf<C, K>>]
    : [input: InputOf<C, K>, options?: StreamOptions<ChunkOf<C, K>, StreamResultOf<C, K>>];

/** Messages were missed and cannot be replayed: reload what the stream describes. */
export interface GapInfo {
  /** The channel of the stream. */
  channel: string;
  /**
   * `history`: the server's history no longer holds what was missed, or it lost its
   * history (a restart). `dropped`: this client was too slow for a `drop-oldest` channel.
   */
  reason: 'history' | 'dropped';
  /** How many messages this client did not get, when the server could tell. */
  dropped?: number;
}

/** Metadata of a channel message. */
export interface MessageMeta {
  /** The channel the message came from. */
  channel: string;
  /** `epoch:offset`, rising by one per message of the stream; opaque apart from that. */
  position: string;
}

/** What subscribe() calls as the subscription's stream goes on. */
export interface SubscribeHandlers<Message, State = unknown> {
  /** Each message of the stream, in order. */
  onMessage: (message: Message, meta: MessageMeta) => void;
  /**
   * Channels with a snapshot: the stream's current state, before any message; again after
   * a reconnect whose missed messages could not be replayed (then instead of onGap).
   */
  onSnapshot?: (state: State, meta: MessageMeta) => void;
  /** The subscription has ended with this error (e.g. FORBIDDEN, BAD_REQUEST, UNAVAILABLE). */
  onError?: (error: RpcError) => void;
  /** Messages were missed and cannot be replayed (after a reconnect beyond the server's history). */
  onGap?: (info: GapInfo) => void;
  /**
   * Start after this position instead of at the stream's head: the `position` of a snapshot
   * or message the application already has (one rendered on the server, say). The server
   * replays what came after it; when it no longer holds that, a snapshot channel sends a
   * fresh snapshot (onSnapshot) and others report a gap (onGap).
   */
  from?: string;
}

/** What `ready` resolves to: how the server registered the subscription. */
export interface Joined {
  /** A snapshot follows (onSnapshot gets it next): a snapshot channel, joined without a replay. */
  snapshot: boolean;
}

/** A subscription, from subscribe(): it follows its stream across reconnects until unsubscribe(). */
export interface Subscription {
  /** Resolves once the server has registered the subscription; rejects with its error. */
  readonly ready: Promise<Joined>;
  /** Ends the subscription; its handlers are called no more. */
  unsubscribe(): void;
}

/** `input` may be left out when the procedure's input accepts undefined. */
export type CallArgs<C extends AnyContract, K extends ProcedureName<C>> =
  undefined extends InputOf<C, K>
    ? [input?: InputOf<C, K>, options?: CallOptions]
    : [input: InputOf<C, K>, options?: CallOptions];

/** A typed client for contract C. */
export interface Client<C extends AnyContract> {
  // K is any string literal, so that a name the contract does not have reaches
  // CheckedProcedureName, whose type for it is the error message (docs/guide.md, "When a
  // name is wrong"); everything else reads KnownName<K, …>, which is K for a correct name.
  /** Calls procedure `name` with `input` and resolves to its output; rejects with an RpcError. */
  call<K extends string>(
    name: CheckedProcedureName<C, K>,
    ...args: CallArgs<C, KnownName<K, ProcedureName<C>>>
  ): Promise<OutputOf<C, KnownName<K, ProcedureName<C>>>>;
  /** Subscribes to channel `name`'s stream for `params`; resubscribes (resuming) after each reconnect. */
  subscribe<K extends string>(
    name: CheckedChannelName<C, K>,
    params: ParamsOf<C, KnownName<K, ChannelName<C>>>,
    handlers: SubscribeHandlers<
      MessageOf<C, KnownName<K, ChannelName<C>>>,
      SnapshotOf<C, KnownName<K, ChannelName<C>>>
    >,
  ): Subscription;
  /**
   * Calls streaming procedure `name`: its chunks as an async iterable, exactly once and in
   * order across reconnects, and its result (docs/streams.md).
   * @example for await (const { token } of client.stream('ai.answer', { prompt })) render(token);
   */
  stream<K extends StreamName<C>>(
    name: K,
    ...args: StreamArgs<C, K>
  ): ClientStream<ChunkOf<C, K>, StreamResultOf<C, K>>;
  /** Where the client is in its lifecycle. */
  readonly state: ClientState;
  /** Calls waiting for the connection (also in every state event's info). */
  readonly queuedCalls: number;
  /** Adds a listener of `event`. */
  on<E extends keyof ClientEvents>(event: E, listener: EventEmitter.EventListener<ClientEvents, E>): this;
  /** Removes a listener of `event`. */
  off<E extends keyof ClientEvents>(event: E, listener: EventEmitter.EventListener<ClientEvents, E>): this;
  /** Closes the connection for good; pending and queued calls reject with UNAVAILABLE. */
  close(): Promise<void>;
  /**
   * Calls `auth` again and sends the credentials: on the open connection (the server swaps
   * its ctx; calls running keep theirs), or by connecting again from any other state.
   * Resolves once the server accepted them; rejects with its RpcError (a refused refresh
   * leaves the open connection as it was).
   */
  reauthenticate(): Promise<void>;
  /** Drops the connection now and connects again (calling `auth` again), from any state but 'closed'. */
  reconnect(): void;
}
