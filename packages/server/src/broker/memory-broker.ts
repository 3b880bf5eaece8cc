import { randomUUID } from 'node:crypto';
import { Deque } from '../deque.js';
import type {
  BroadcastListener,
  BroadcastListening,
  Broker,
  BrokerListener,
  BrokerPayload,
  HistoryOptions,
  HistoryResult,
} from './broker.js';
import { formatPosition, parsePosition } from './broker.js';

interface Logged {
  offset: number;
  payload: BrokerPayload;
  atMs: number;
}

interface Topic {
  /** The broker's epoch and this topic's generation: a topic made again (after eviction) starts a new one. */
  epoch: string;
  /** Who follows it: one listener (a server follows a topic once), or several; made by the first. */
  listeners: BrokerListener | Set<BrokerListener> | undefined;
  /** The offset the next message gets. */
  nextOffset: number;
  /** The newest messages, oldest first, at consecutive offsets; made by the first publish. */
  log: Deque<Logged> | undefined;
}

export const HISTORY_DEFAULTS = { maxMessages: 1_000, maxAgeMs: 120_000, maxTopics: 10_000 } as const;

/** The default broker: one process, delivery in the publishing call, history in memory. */
export class MemoryBroker implements Broker {
  /** Changes with every broker: history does not survive a restart. */
  readonly epoch = randomUUID().slice(0, 8);
  readonly #topics = new Map<string, Topic>();
  #generation = 0;
  readonly #maxMessages: number;
  readonly #maxAgeMs: number;
  readonly #maxTopics: number;
  readonly #broadcastListeners = new Set<BroadcastListener>();

  /** A broker keeping each topic's history within `history`'s bounds (HistoryOptions gives the defaults). */
  constructor(history: HistoryOptions = {}) {
    this.#maxMessages = history.maxMessages ?? HISTORY_DEFAULTS.maxMessages;
    this.#maxAgeMs = history.maxAgeMs ?? HISTORY_DEFAULTS.maxAgeMs;
    this.#maxTopics = history.maxTopics ?? HISTORY_DEFAULTS.maxTopics;
  }

  #topic(name: string): Topic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      // Room first, so that the new topic itself is never the one evicted.
      this.#evictTopics();
      topic = {
        // One flat string (`join`), not a concatenation that keeps its parts.
        epoch: [this.epoch, this.#generation++].join('.'),
        listeners: undefined,
        nextOffset: 1,
        log: undefined,
      };
      this.#topics.set(name, topic);
    }
    return topic;
  }

  /** Drops the history of the least recently published topics that nobody follows. */
  #evictTopics(): void {
    if (this.#topics.size < this.#maxTopics) return;
    for (const [name, topic] of this.#topics) {
      if (this.#topics.size < this.#maxTopics) return;
      if (topic.listeners === undefined) this.#topics.delete(name);
    }
  }

  async subscribe(name: string, listener: BrokerListener): Promise<void> {
    const topic = this.#topic(name);
    const { listeners } = topic;
    if (listeners === undefined) topic.listeners = listener;
    else if (listeners instanceof Set) listeners.add(listener);
    else if (listeners !== listener) topic.listeners = new Set([listeners, listener]);
  }

  async unsubscribe(name: string, listener: BrokerListener): Promise<void> {
    const topic = this.#topics.get(name);
    const listeners = topic?.listeners;
    if (topic === undefined || listeners === undefined) return;
    if (listeners === listener) topic.listeners = undefined;
    else if (listeners instanceof Set && listeners.delete(listener) && listeners.size === 0)
      topic.listeners = undefined;
  }

  async publish(name: string, payload: BrokerPayload): Promise<string> {
    const topic = this.#topic(name);
    // Most recently published last: eviction takes the stalest topics first.
    this.#topics.delete(name);
    this.#topics.set(name, topic);
    const offset = topic.nextOffset++;
    const nowMs = Date.now();
    topic.log ??= new Deque();
    topic.log.push({ offset, payload, atMs: nowMs });
    this.#trim(topic, nowMs);
    const position = formatPosition(topic.epoch, offset);
    const { listeners } = topic;
    if (typeof listeners === 'function') listeners(payload, position);
    else if (listeners !== undefined) for (const listener of listeners) listener(payload, position);
    return position;
  }

  async history(name: string, from: string): Promise<HistoryResult> {
    const parsed = parsePosition(from);
    const topic = this.#topics.get(name);
    // Another epoch (a restarted broker, or a topic evicted and made again), or a position
    // this topic never reached: what came after `from` cannot be told.
    if (
      parsed === undefined ||
      topic === undefined ||
      parsed.epoch !== topic.epoch ||
      parsed.offset >= topic.nextOffset
    ) {
      return { messages: [], complete: false };
    }
    this.#trim(topic, Date.now());
    const log = topic.log;
    const oldest = log?.peek()?.offset ?? topic.nextOffset;
    // Complete when nothing after `from` has been dropped yet.
    const complete = parsed.offset + 1 >= oldest;
    const messages: HistoryResult['messages'] = [];
    if (log === undefined) return { messages, complete };
    // Offsets are consecutive: the first message after `from` is found without a search.
    for (let i = Math.max(0, parsed.offset + 1 - oldest); i < log.length; i++) {
      const logged = log.at(i) as Logged;
      messages.push({ payload: logged.payload, position: formatPosition(topic.epoch, logged.offset) });
    }
    return { messages, complete };
  }

  position(name: string): string {
    const topic = this.#topic(name);
    return formatPosition(topic.epoch, topic.nextOffset - 1);
  }

  #trim(topic: Topic, nowMs: number): void {
    const log = topic.log;
    if (log === undefined) return;
    for (let oldest = log.peek(); oldest !== undefined; oldest = log.peek()) {
      if (log.length <= this.#maxMessages && nowMs - oldest.atMs < this.#maxAgeMs) break;
      log.shift();
    }
  }

  /** To the servers sharing this broker in this process, each in its own microtask (as if it crossed a network). */
  async broadcast(payload: string): Promise<number> {
    for (const listener of this.#broadcastListeners) queueMicrotask(() => listener(payload));
    return this.#broadcastListeners.size;
  }

  /** Each listener is a group of its own: broadcast() counts listeners. */
  async listenBroadcasts(listener: BroadcastListener): Promise<BroadcastListening> {
    const own = (payload: string) => listener(payload);
    this.#broadcastListeners.add(own);
    return { stop: () => this.#broadcastListeners.delete(own), group: randomUUID(), groupSize: 1 };
  }

  async close(): Promise<void> {
    this.#topics.clear();
    this.#broadcastListeners.clear();
  }

  /** Topics with a listener or a history. */
  get topicCount(): number {
    return this.#topics.size;
  }
}

/** The in-memory broker. */
export function memoryBroker(history?: HistoryOptions): MemoryBroker {
  return new MemoryBroker(history);
}
