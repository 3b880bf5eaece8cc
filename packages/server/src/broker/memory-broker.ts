import type { Broker, BrokerListener } from './broker.js';

/** The default broker: one process, delivery in the publishing call. */
export class MemoryBroker implements Broker {
  readonly #topics = new Map<string, Set<BrokerListener>>();

  async subscribe(topic: string, listener: BrokerListener): Promise<void> {
    let listeners = this.#topics.get(topic);
    if (listeners === undefined) {
      listeners = new Set();
      this.#topics.set(topic, listeners);
    }
    listeners.add(listener);
  }

  async unsubscribe(topic: string, listener: BrokerListener): Promise<void> {
    const listeners = this.#topics.get(topic);
    if (listeners === undefined) return;
    listeners.delete(listener);
    if (listeners.size === 0) this.#topics.delete(topic);
  }

  async publish(topic: string, payload: string): Promise<void> {
    const listeners = this.#topics.get(topic);
    if (listeners === undefined) return;
    for (const listener of listeners) listener(payload);
  }

  async close(): Promise<void> {
    this.#topics.clear();
  }

  /** Topics with at least one listener. */
  get topicCount(): number {
    return this.#topics.size;
  }
}

/** The in-memory broker. */
export function memoryBroker(): MemoryBroker {
  return new MemoryBroker();
}
