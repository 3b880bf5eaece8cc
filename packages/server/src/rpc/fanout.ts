import type { Broker, BrokerListener } from '../broker/broker.js';
import { encodeFrame, OPCODES } from '../transport/index.js';
import type { Peer } from './peer.js';

interface TopicState {
  /** Local subscribers and how many subscriptions each holds on this topic. */
  peers: Map<Peer, number>;
  listener: BrokerListener;
  ready: Promise<void>;
}

/** What a joining subscriber is told before any message reaches it. */
export interface Joined {
  /** The topic's position when the subscriber joined (or the last one it is sent). */
  position: string;
  /** Messages after the subscriber's `from` were lost (history exceeded, or another epoch). */
  gap: boolean;
}

/** Adds the position to an envelope encoded without it: `{…}` → `{…,"position":"e:n"}`. */
export function withPosition(payload: string, position: string): string {
  return `${payload.slice(0, -1)},"position":${JSON.stringify(position)}}`;
}

/**
 * This process's side of pub/sub: one broker subscription per topic, however many local
 * connections follow it, and one encoded frame per message, written to each of them.
 */
export class Fanout {
  readonly #broker: Broker;
  readonly #topics = new Map<string, TopicState>();

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  /**
   * Joins `peer` to `topic`. Once the broker delivers, and in one synchronous step so that
   * no publish can slip between: `onJoin` is told the position (and whether messages after
   * `from` are lost) — the peer answers its subscribe there; return false to give up —
   * then the missed messages still in history are sent, then the peer receives live.
   */
  async add(peer: Peer, topic: string, from: string | undefined, onJoin: (joined: Joined) => boolean): Promise<void> {
    for (;;) {
      let state = this.#topics.get(topic);
      if (state === undefined) {
        const peers = new Map<Peer, number>();
        const listener: BrokerListener = (payload, position) => deliver(peers, withPosition(payload, position));
        state = { peers, listener, ready: this.#broker.subscribe(topic, listener) };
        this.#topics.set(topic, state);
      }
      try {
        await state.ready;
      } catch (error) {
        if (this.#topics.get(topic) === state && state.peers.size === 0) this.#topics.delete(topic);
        throw error;
      }
      // The topic may have been dropped meanwhile by its last other subscriber: start again.
      if (this.#topics.get(topic) !== state) continue;

      // All or nothing: a partial replay would hide the hole, so a gap replays nothing.
      const history = from === undefined ? undefined : this.#broker.history(topic, from);
      const gap = history !== undefined && !history.complete;
      const replay = gap ? [] : (history?.messages ?? []);
      if (!onJoin({ position: replay.at(-1)?.position ?? this.#broker.position(topic), gap })) {
        // Given up (unsubscribed or disconnected meanwhile): drop a topic nobody follows.
        if (state.peers.size === 0) this.#drop(topic, state);
        return;
      }
      for (const message of replay) {
        peer.socket.sendFrame(encodeFrame(OPCODES.text, Buffer.from(withPosition(message.payload, message.position))));
      }
      state.peers.set(peer, (state.peers.get(peer) ?? 0) + 1);
      return;
    }
  }

  remove(peer: Peer, topic: string): void {
    const state = this.#topics.get(topic);
    if (state === undefined) return;
    const count = (state.peers.get(peer) ?? 0) - 1;
    if (count > 0) {
      state.peers.set(peer, count);
      return;
    }
    state.peers.delete(peer);
    if (state.peers.size === 0) this.#drop(topic, state);
  }

  #drop(topic: string, state: TopicState): void {
    this.#topics.delete(topic);
    this.#broker.unsubscribe(topic, state.listener).catch(() => {
      // The broker is gone or unreachable; there is nobody left to tell.
    });
  }

  /** Topics followed by at least one local connection. */
  get topicCount(): number {
    return this.#topics.size;
  }

  /** Local subscribers of a topic. */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.peers.size ?? 0;
  }
}

function deliver(peers: Map<Peer, number>, text: string): void {
  // Encoded once: every subscriber gets the same frame bytes.
  const frame = encodeFrame(OPCODES.text, Buffer.from(text, 'utf8'));
  for (const peer of peers.keys()) peer.socket.sendFrame(frame);
}
