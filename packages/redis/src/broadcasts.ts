import { randomUUID } from 'node:crypto';
import { RpcError } from '@switchboard/contract';
import type { BroadcastListener, BroadcastListening } from '@switchboard/server';
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
  /** This broker's listeners count once in a PUBLISH's count: they are one group. */
  readonly group = randomUUID();
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

  /** Adds a listener (the broker subscribes the channel). */
  add(listener: BroadcastListener): BroadcastListening {
    const own = (payload: string) => listener(payload);
    this.#listeners.add(own);
    const listeners = this.#listeners;
    return {
      group: this.group,
      get groupSize() {
        return listeners.size;
      },
      stop: () => {
        this.#listeners.delete(own);
        if (this.#listeners.size === 0 && this.#subscriber.status === 'ready') {
          const done = this.#sharded()
            ? this.#subscriber.sunsubscribe(this.channel)
            : this.#subscriber.unsubscribe(this.channel);
          done.catch(() => {});
        }
      },
    };
  }

  /**
   * Subscribes the channel for a new listener once `usable` resolves. False when Redis is
   * unreachable (the broker subscribes it on recovery); a refusal (an ACL without the
   * channel) removes the listener and throws.
   */
  async start(usable: () => Promise<void> | undefined, listening: BroadcastListening): Promise<boolean> {
    try {
      await usable();
      await this.#subscribe();
      return true;
    } catch (error) {
      if (error instanceof RpcError && error.code === 'UNAVAILABLE') return false;
      listening.stop();
      throw error;
    }
  }

  /** After a lost subscriber connection: subscribes again if anyone listens. A refusal is reported, not thrown. */
  async resubscribe(): Promise<void> {
    if (this.#listeners.size === 0) return;
    try {
      await this.#subscribe();
    } catch (error) {
      if (error instanceof RpcError && error.code === 'UNAVAILABLE') throw error;
      this.#onListenerError(error);
    }
  }

  async #subscribe(): Promise<void> {
    try {
      await (this.#sharded() ? this.#subscriber.ssubscribe(this.channel) : this.#subscriber.subscribe(this.channel));
    } catch (error) {
      // Redis answered no (NOPERM): not a connection to wait for.
      if (error instanceof Error && error.name === 'ReplyError') throw error;
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
