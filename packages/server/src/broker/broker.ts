/**
 * A channel message as a broker carries it, encoded once at publish time and ready to
 * send: text, or a binary message (the contract's binaryMessage) when it holds byte values.
 * A broker keeps a Uint8Array's bytes as they are; it may hand back a Buffer over them.
 */
export type BrokerPayload = string | Uint8Array;

/**
 * The seam through which a publish reaches subscribers, on this process or (with a
 * shared broker such as Redis) on every process. Payloads are ready-to-send messages
 * (BrokerPayload); a broker moves them, it never looks inside.
 *
 * A broker also numbers each topic's messages and keeps a bounded history of them, so
 * that a subscriber coming back can be sent what it missed. A position is
 * `<epoch>:<offset>`: offsets count up by one per topic; the epoch changes when the
 * history is lost (a restarted in-memory broker), so positions of different epochs do
 * not compare.
 */
export interface Broker {
  /**
   * Start delivering `topic`'s messages to `listener`; resolves once deliveries are live.
   * `onGap`: the broker lost messages it could not deliver (a shared broker that was
   * unreachable, say); the fan-out tells the topic's subscribers.
   */
  subscribe(topic: string, listener: BrokerListener, onGap?: BrokerGapListener): Promise<void>;
  /** Stop delivering to `listener`. */
  unsubscribe(topic: string, listener: BrokerListener): Promise<void>;
  /** Delivers `payload` to every listener of `topic`, in publish order per topic; resolves to its position. */
  publish(topic: string, payload: BrokerPayload): Promise<string>;
  /**
   * The messages of `topic` after position `from`, oldest first. `complete` is false when
   * some of them are no longer held (history exceeded, or another epoch). Must include
   * every message numbered before the call (the fan-out starts listening first, and
   * merges what arrives meanwhile by position).
   */
  history(topic: string, from: string): Promise<HistoryResult>;
  /**
   * The position of `topic`'s newest message (offset 0 before the first); every message
   * up to it has reached listeners when it resolves. A broker that knows it at once (the
   * in-memory one) returns it as a string: the fan-out then takes a channel's snapshot in
   * the same synchronous step, which makes snapshots exact (docs/dashboards.md).
   */
  position(topic: string): string | Promise<string>;
  /**
   * Stops all deliveries and releases what the broker holds (connections, timers); the server calls it for a broker
   * it owns.
   */
  close(): Promise<void>;
  /**
   * Optional: sends `payload` to every listener of every broker that shares this one's
   * store (this one's included); not numbered, not kept. Resolves to how many *groups*
   * got it: listeners that share one subscription (a Redis connection) count once.
   * `server.disconnect()` reaches other processes' connections through it.
   */
  broadcast?(payload: string): Promise<number>;
  /** With `broadcast`: calls `listener` with every broadcast from now on; resolves once listening. */
  listenBroadcasts?(listener: BroadcastListener): Promise<BroadcastListening>;
}

/** Told each broadcast's payload. */
export type BroadcastListener = (payload: string) => void;

/** A listener of broadcasts, listening. */
export interface BroadcastListening {
  /** Stops listening. */
  stop(): void;
  /** Its group: the listeners that count once in broadcast()'s count (one broker's, on Redis). */
  readonly group: string;
  /** How many listeners its group has now (this one included). */
  readonly groupSize: number;
}

/** Told each message of a topic: its payload, and its position (`<epoch>:<offset>`). */
export type BrokerListener = (payload: BrokerPayload, position: string) => void;

/**
 * Messages of a topic were lost on their way to this process: `missing` of them (when it
 * can be told), the ones right before the next message the listener gets. Called before
 * that message.
 */
export type BrokerGapListener = (gap: { missing: number | undefined }) => void;

/** What Broker.history() found. */
export interface HistoryResult {
  /** The messages after `from`, oldest first. */
  messages: Array<{
    /** The message, as published. */
    payload: BrokerPayload;
    /** Its position, `<epoch>:<offset>`. */
    position: string;
  }>;
  /** False when some messages after `from` are no longer held (history exceeded, or another epoch). */
  complete: boolean;
}

/** Bounds of the history an in-memory broker keeps per topic, for resuming subscribers. */
export interface HistoryOptions {
  /** Messages kept per topic. @default 1,000 */
  maxMessages?: number;
  /** How long a message is kept. @default 2 min */
  maxAgeMs?: number;
  /** Topics whose history is kept at most (the least recently published is dropped). @default 10,000 */
  maxTopics?: number;
}

/** Positions are read and written once, in the contract. */
export { formatPosition, parsePosition } from '@switchboard/contract';
