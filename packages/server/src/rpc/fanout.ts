import type { Broker, BrokerListener } from '../broker/broker.js';
import { encodeFrame, OPCODES } from '../transport/index.js';
import type { Peer } from './peer.js';

interface TopicState {
  /** Local subscribers and how many subscriptions each holds on this topic. */
  peers: Map<Peer, number>;
  listener: BrokerListener;
  ready: Promise<void>;
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

  /** Resolves once messages published on `topic` reach `peer`. */
  async add(peer: Peer, topic: string): Promise<void> {
    let state = this.#topics.get(topic);
    if (state === undefined) {
      const peers = new Map<Peer, number>();
      const listener: BrokerListener = (payload) => deliver(peers, payload);
      state = { peers, listener, ready: this.#broker.subscribe(topic, listener) };
      this.#topics.set(topic, state);
    }
    state.peers.set(peer, (state.peers.get(peer) ?? 0) + 1);
    try {
      await state.ready;
    } catch (error) {
      this.remove(peer, topic);
      throw error;
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
    if (state.peers.size > 0) return;
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

function deliver(peers: Map<Peer, number>, payload: string): void {
  // Encoded once: every subscriber gets the same frame bytes.
  const frame = encodeFrame(OPCODES.text, Buffer.from(payload, 'utf8'));
  for (const peer of peers.keys()) peer.socket.sendFrame(frame);
}
