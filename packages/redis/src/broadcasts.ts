import type { BroadcastListener } from '@switchboard/server';
import type { Redis } from 'ioredis';
import { unavailable } from './connection.js';

/**
 * The broker's broadcasts: one Pub/Sub channel, `<prefix>:b`, that every process listening
 * subscribes on its subscriber connection, in the mode of its topics' channels (a
 * connection that mixes sharded and classic subscriptions is left by ioredis's subscriber
 * mode when its last shard channel goes). (S)PUBLISH answers how many clients got a
 * message: one per listening process (sharded: also on Redis Cluster, where the channel's
 * subscribers are all on its shard).
 */
export class Broadcasts {
  readonly channel: string;
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #listeners = new Set<BroadcastListener>();
  readonly #onListenerError: (error: unknown) => void;
  /** Sharded Pub/Sub (known once the broker has connected). */
  readonly #sharded: () => boolean;

  constructor(
    prefix: string,
    connections: { command: Redis; subscriber: Redis; sharded: () => boolean },
    onListenerError: (error: unknown) => void,
  ) {
    this.channel = `${prefix}:b`;
    this.#command = connections.command;
    this.#subscriber = connections.subscriber;
    this.#sharded = connections.sharded;
    this.#onListenerError = onListenerError;
  }

  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  async send(payload: string): Promise<number> {
    try {
      const command = this.#sharded() ? 'SPUBLISH' : 'PUBLISH';
      return (await this.#command.call(command, this.channel, payload)) as number;
    } catch (error) {
      throw unavailable(error, 'broadcast');
    }
  }

  /** Adds a listener (the broker subscribes the channel); returns the function that removes it. */
  add(listener: BroadcastListener): () => void {
    const own = (payload: string) => listener(payload);
    this.#listeners.add(own);
    return () => {
      this.#listeners.delete(own);
      if (this.#listeners.size === 0 && this.#subscriber.status === 'ready') {
        const done = this.#sharded()
          ? this.#subscriber.sunsubscribe(this.channel)
          : this.#subscriber.unsubscribe(this.channel);
        done.catch(() => {});
      }
    };
  }

  /** Subscribes the channel (again, after a lost subscriber connection). */
  async subscribe(): Promise<void> {
    try {
      await (this.#sharded() ? this.#subscriber.ssubscribe(this.channel) : this.#subscriber.subscribe(this.channel));
    } catch (error) {
      throw unavailable(error, 'listen for broadcasts');
    }
  }

  receive(payload: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(payload);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
