import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { parsePosition, RpcError } from '@switchboard/contract';
import type { BroadcastListener, BroadcastListening, Broker, BrokerListener, HistoryResult } from '@switchboard/server';
import type { Redis } from 'ioredis';
import { Broadcasts } from './broadcasts.js';
import { disconnect, openConnection, pingWhileOpen, unavailable } from './connection.js';
import { type BrokerHealth, Health } from './health.js';
import { RedisIdempotencyStore } from './idempotency-store.js';
import { type RedisBrokerOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';
import type { BrokerPayload } from './payload-text.js';
import { detectSharded, parseMessage, TopicCommands, topicKeys } from './topic-commands.js';
import { type BrokerGap, type GapListener, type StreamRead, TopicStream } from './topic-stream.js';

/** The events of a RedisBroker, with their arguments. */
export interface RedisBrokerEvents {
  /** The health changed; `error` is the last connection error seen, if any. */
  health: [
    health: BrokerHealth,
    info: {
      /** The last connection error seen, if any. */
      error: Error | undefined;
    },
  ];
  /** A topic's listeners on this process missed messages that Redis no longer holds. */
  gap: [gap: BrokerGap];
  /** A listener threw (without a listener for this event, it is logged with console.error). */
  error: [error: unknown];
}

/** Channels per SUBSCRIBE when subscribing again after a reconnect. */
const RESUBSCRIBE_BATCH = 256;
/** Topics read back at once after a reconnect. */
const CATCH_UP_CONCURRENCY = 32;

/**
 * A broker shared by many server processes through Redis. Publish numbers, logs and
 * publishes in one Lua script (docs in scripts.ts): positions come from Redis. Each process
 * holds one Redis subscription per topic, whatever its number of listeners, and delivers in
 * offset order: a hole (after a lost connection) is read back from the topic's stream, and
 * what the stream no longer holds is reported as a gap, never skipped silently.
 *
 * Two connections: commands (publish, history, position) and subscriptions. While Redis is
 * unreachable, publish rejects at once with RpcError('UNAVAILABLE'); nothing is queued.
 */
export class RedisBroker extends EventEmitter<RedisBrokerEvents> implements Broker {
  /** The options with their defaults applied and checked. */
  readonly options: ResolvedRedisOptions;
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #topicCommands: TopicCommands;
  readonly #topics = new Map<string, TopicStream>();
  readonly #byChannel = new Map<string, TopicStream>();
  readonly #health: Health;
  /** SSUBSCRIBE/SPUBLISH; undefined until the server has been asked. */
  #sharded: boolean | undefined;
  /** Every topic's channel is subscribed on the current subscriber connection. */
  #resubscribed = true;
  /** Counts lost subscriber connections. */
  #subscriberGeneration = 0;
  #recovering = false;
  #recoverAgain = false;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #pingTimer: NodeJS.Timeout;
  readonly #epochSeed = randomBytes(5).toString('hex');
  #epochCount = 0;
  /** The shared idempotency window, on this broker's command connection. */
  readonly idempotency: RedisIdempotencyStore;
  readonly #broadcasts: Broadcasts;

  /**
   * Opens the broker's two connections; a bad option is a TypeError. Publishes wait for the first connection up to
   * `connectTimeoutMs`.
   */
  constructor(options: RedisBrokerOptions) {
    super();
    this.options = resolveRedisOptions(options);
    this.#health = new Health(this.options.connectTimeoutMs, (health, error) => this.emit('health', health, { error }));
    this.#command = openConnection(this.options, 'command');
    this.#subscriber = openConnection(this.options, 'subscriber');
    this.#topicCommands = new TopicCommands(this.#command, this.options);
    // Made with the connection, so that it waits for the same first attempt as publish does.
    this.idempotency = new RedisIdempotencyStore(this.#command, this.options.idempotency);
    const connections = { command: this.#command, subscriber: this.#subscriber, sharded: () => this.#sharded === true };
    this.#broadcasts = new Broadcasts(this.options.prefix, connections, (e) => this.#report(e));
    const onMessage = (channel: string, text: string) => {
      if (channel === this.#broadcasts.channel) return this.#broadcasts.receive(text);
      const stream = this.#byChannel.get(channel);
      if (stream === undefined) return;
      const message = parseMessage(text);
      if (message !== undefined) stream.receive(message);
    };
    this.#subscriber.on('smessage', onMessage);
    this.#subscriber.on('message', onMessage);
    for (const connection of [this.#command, this.#subscriber]) {
      connection.on('error', (error: Error) => {
        this.#health.lastError = error;
      });
      connection.on('ready', () => this.#onReady());
      connection.on('close', () => this.#onClose(connection));
    }
    this.#pingTimer = pingWhileOpen([this.#command, this.#subscriber], this.options.pingIntervalMs);
  }

  /** Whether Redis is reachable now. */
  get health(): BrokerHealth {
    return this.#health.state;
  }

  /** `sharded` (SSUBSCRIBE/SPUBLISH) or `classic`; undefined before the first connection. */
  get pubsub(): 'sharded' | 'classic' | undefined {
    return this.#sharded === undefined ? undefined : this.#sharded ? 'sharded' : 'classic';
  }

  /** Topics this process is subscribed to. */
  get topicCount(): number {
    return this.#topics.size;
  }

  /**
   * Delivers `topic`'s messages to `listener` from now on, in order. `onGap` (not part of
   * the Broker interface yet) is told when messages were lost for this process, before the
   * message after them.
   */
  async subscribe(topic: string, listener: BrokerListener, onGap?: GapListener): Promise<void> {
    this.#health.checkOpen('subscribe');
    let stream = this.#topics.get(topic);
    if (stream === undefined) {
      const { channel } = topicKeys(this.options.prefix, topic);
      stream = new TopicStream(topic, channel, {
        onBehind: (behind) => this.#readBack(behind),
        onGap: (gap) => this.emit('gap', gap),
        onListenerError: (error) => this.#report(error),
      });
      this.#topics.set(topic, stream);
      this.#byChannel.set(channel, stream);
      stream.ready = this.#join(stream);
    }
    stream.listeners.set(listener, onGap);
    try {
      await stream.ready;
    } catch (error) {
      stream.listeners.delete(listener);
      if (this.#topics.get(topic) === stream) this.#forget(stream);
      throw error;
    }
  }

  async unsubscribe(topic: string, listener: BrokerListener): Promise<void> {
    const stream = this.#topics.get(topic);
    if (stream === undefined || !stream.listeners.delete(listener) || stream.listeners.size > 0) return;
    this.#forget(stream);
  }

  async publish(topic: string, payload: BrokerPayload): Promise<string> {
    const waiting = this.#usable(false, 'publish');
    if (waiting !== undefined) await waiting;
    try {
      return await this.#topicCommands.publish(topic, payload, this.#epochCandidate(), this.#sharded === true);
    } catch (error) {
      throw unavailable(error, 'publish');
    }
  }

  async history(topic: string, from: string): Promise<HistoryResult> {
    const parsed = parsePosition(from);
    if (parsed === undefined) return { messages: [], complete: false };
    const waiting = this.#usable(false, 'history');
    if (waiting !== undefined) await waiting;
    let read: StreamRead;
    try {
      read = await this.#topicCommands.read(topic, parsed.epoch, parsed.offset, false);
    } catch (error) {
      throw unavailable(error, 'history');
    }
    // Another epoch (the topic's keys expired or were lost), or a position never reached.
    if (read.epoch !== parsed.epoch || parsed.offset > read.newest) return { messages: [], complete: false };
    await this.#barrier(topic);
    const messages = read.messages.map(({ payload, position }) => ({ payload, position }));
    // The held run ends at the newest: complete when it reaches back to `from`.
    return { messages, complete: messages.length === read.newest - parsed.offset };
  }

  async position(topic: string): Promise<string> {
    const waiting = this.#usable(false, 'position');
    if (waiting !== undefined) await waiting;
    let position: string;
    try {
      position = await this.#topicCommands.position(topic, this.#epochCandidate());
    } catch (error) {
      throw unavailable(error, 'position');
    }
    await this.#barrier(topic);
    return position;
  }

  async broadcast(payload: string): Promise<number> {
    await this.#usable(false, 'broadcast');
    return this.#broadcasts.send(payload);
  }

  async listenBroadcasts(listener: BroadcastListener): Promise<BroadcastListening> {
    const listening = this.#broadcasts.add(listener);
    // Redis down: the recovery subscribes it once it is back. Refused (an ACL): it throws.
    const live = await this.#broadcasts.start(() => this.#usable(true, 'listen for broadcasts'), listening);
    if (!live) this.#resubscribed = false;
    return listening;
  }

  async close(): Promise<void> {
    if (this.#health.closed) return;
    this.#health.move('closed');
    clearInterval(this.#pingTimer);
    clearTimeout(this.#retryTimer);
    for (const stream of this.#topics.values()) stream.close();
    this.#topics.clear();
    this.#byChannel.clear();
    await Promise.all([this.#command, this.#subscriber].map((connection) => disconnect(connection)));
  }

  // ── subscriptions ──────────────────────────────────────────────────────────

  /** Subscribes the topic's channel, then learns where the topic stands. */
  async #join(stream: TopicStream): Promise<void> {
    const waiting = this.#usable(true, 'subscribe');
    if (waiting !== undefined) await waiting;
    // Given up while waiting for the first connection: subscribing now would leak the channel.
    if (this.#topics.get(stream.topic) !== stream) return;
    let position: string;
    try {
      await this.#subscribeChannels([stream.channel]);
      // Read after the subscription is live: every message numbered after it is delivered.
      // Those numbered before it (even if they arrive later) are the past: join() drops them.
      position = await this.#topicCommands.position(stream.topic, this.#epochCandidate());
    } catch (error) {
      throw unavailable(error, 'subscribe');
    }
    const parsed = parsePosition(position);
    if (parsed === undefined) throw new RpcError('INTERNAL', `unreadable position ${position}`);
    stream.join(parsed.epoch, parsed.offset);
  }

  #subscribeChannels(channels: string[]): Promise<unknown> {
    return this.#sharded ? this.#subscriber.ssubscribe(...channels) : this.#subscriber.subscribe(...channels);
  }

  #forget(stream: TopicStream): void {
    this.#topics.delete(stream.topic);
    this.#byChannel.delete(stream.channel);
    stream.close();
    if (this.#subscriber.status !== 'ready') return; // the subscription went with the connection
    const done = this.#sharded
      ? this.#subscriber.sunsubscribe(stream.channel)
      : this.#subscriber.unsubscribe(stream.channel);
    done.catch(() => {
      // Lost with the connection, which is what unsubscribing wanted.
    });
  }

  /**
   * Once `position()` or `history()` resolves, every message numbered up to what it read
   * has reached this process's listeners: a PING on the subscriber connection is answered
   * after every message Redis pushed before it, and a topic that is live holds nothing back.
   */
  async #barrier(topic: string): Promise<void> {
    const stream = this.#topics.get(topic);
    if (stream === undefined || stream.phase === 'joining') return;
    if (this.#subscriber.status === 'ready') {
      try {
        await this.#subscriber.ping();
      } catch {
        return; // lost: the topic is stale and will be read back
      }
    }
    await stream.whenLive(this.options.commandTimeoutMs);
  }

  /** Reads a topic's stream after its last delivered message, until it is live again. */
  #readBack(stream: TopicStream): void {
    this.#sync(stream).catch((error: unknown) => {
      this.#health.failed(error);
      // Left behind: the next recovery reads it again.
      this.#retryLater();
    });
  }

  #sync(stream: TopicStream): Promise<void> {
    if (stream.reading !== undefined) return stream.reading;
    const run = async () => {
      // Each round is one read; another round only if the drain found a new hole.
      while (
        stream.needsRead() &&
        this.#topics.get(stream.topic) === stream &&
        (stream.phase !== 'stale' || this.#resubscribed)
      ) {
        const { epoch, after, generation } = stream.readRequest();
        stream.applyRead(await this.#topicCommands.read(stream.topic, epoch, after, true), generation);
      }
    };
    const reading = run().finally(() => {
      stream.reading = undefined;
    });
    stream.reading = reading;
    return reading;
  }

  // ── connections and recovery ───────────────────────────────────────────────

  #onClose(connection: Redis): void {
    if (this.#health.closed) return;
    if (connection === this.#subscriber) {
      this.#subscriberGeneration++;
      // Subscriptions went with the connection, and messages may be published meanwhile.
      if (this.#topics.size > 0 || this.#broadcasts.listening) this.#resubscribed = false;
      for (const stream of this.#topics.values()) stream.markStale();
    }
    this.#health.move('down');
  }

  #onReady(): void {
    if (this.#command.status === 'ready' && this.#subscriber.status === 'ready') void this.#recover();
  }

  /**
   * Both connections are up: learn the pub/sub mode, subscribe every topic again, and read
   * back what each missed, then report `ok`. A failure leaves it for the next attempt.
   */
  async #recover(): Promise<void> {
    if (this.#recovering) {
      this.#recoverAgain = true;
      return;
    }
    this.#recovering = true;
    try {
      do {
        this.#recoverAgain = false;
        if (!this.#connected()) return;
        this.#sharded ??= await detectSharded(this.#command, this.options.pubsub);
        if (!this.#resubscribed) {
          const generation = this.#subscriberGeneration;
          const channels = [...this.#byChannel.keys()];
          for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH) {
            await this.#subscribeChannels(channels.slice(i, i + RESUBSCRIBE_BATCH));
          }
          await this.#broadcasts.resubscribe(); // after the topics: a refusal here reports, topics go on
          if (generation === this.#subscriberGeneration) this.#resubscribed = true;
        }
        const behind = [...this.#topics.values()].filter((stream) => stream.needsRead());
        for (let i = 0; i < behind.length; i += CATCH_UP_CONCURRENCY) {
          await Promise.all(behind.slice(i, i + CATCH_UP_CONCURRENCY).map((stream) => this.#sync(stream)));
        }
      } while (this.#recoverAgain && !this.#health.closed);
      if (this.#connected() && this.#resubscribed) this.#health.move('ok');
    } catch (error) {
      this.#health.failed(error);
      this.#retryLater();
    } finally {
      this.#recovering = false;
    }
  }

  #connected(): boolean {
    return !this.#health.closed && this.#command.status === 'ready' && this.#subscriber.status === 'ready';
  }

  /** Recovers again soon, unless a connection event does first. */
  #retryLater(): void {
    if (this.#retryTimer !== undefined || this.#health.closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#recover();
    }, this.options.reconnectMaxDelayMs);
    this.#retryTimer.unref();
  }

  /** See Health.usable: whether the command (and with `subscriber`, the subscriber) connection can take commands. */
  #usable(subscriber: boolean, what: string): Promise<void> | undefined {
    return this.#health.usable(
      () =>
        this.#command.status === 'ready' &&
        this.#sharded !== undefined &&
        (!subscriber || this.#subscriber.status === 'ready'),
      what,
    );
  }

  /** A fresh epoch for a topic that has none yet: unique per call, so a topic made again never reuses one. */
  #epochCandidate(): string {
    return `${this.#epochSeed}${(this.#epochCount++).toString(36)}`;
  }

  #report(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else console.error('@switchboard/redis: a broker listener threw', error);
  }
}
