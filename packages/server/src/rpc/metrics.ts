import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { DeliveryCounters } from './delivery.js';

/** What `server.metrics()` returns: plain data, ready to publish on a channel. */
export interface ServerMetrics {
  /** When this was taken (ms since the epoch). */
  at: number;
  /** Time since the server was created. */
  uptimeMs: number;
  /** Open client connections. */
  connections: number;
  /** Calls over all procedures. */
  calls: {
    /** Calls run since the server started. */
    total: number;
    /** Of them, those that ended in an error. */
    errors: number;
    /** Calls running now. */
    inFlight: number;
    /** Calls per second, over the last 5 s. */
    perSecond: number;
  };
  /** Per procedure that has been called; latency over the last 5 s. */
  procedures: Record<string, ProcedureMetrics>;
  /** Per channel: local subscribers, messages this process delivered, and slow-subscriber counts. */
  channels: Record<string, ChannelMetrics>;
  /** The idempotency window: keys and outcomes held, their sessions and bytes, re-sends waiting for a run. */
  idempotency: IdempotencyMetrics;
  /** Streaming calls on this process. */
  streams: {
    /** Runs held now: running, waiting for a resume, or ended and not yet acknowledged. */
    runs: number;
  };
  /** Event-loop delay over the last second. */
  eventLoop: {
    /** Median delay. */
    p50Ms: number;
    /** 99th percentile delay. */
    p99Ms: number;
    /** Longest delay. */
    maxMs: number;
  };
  /** The process's memory, from `process.memoryUsage()`. */
  memory: {
    /** Resident set size. */
    rssBytes: number;
    /** V8 heap in use. */
    heapUsedBytes: number;
  };
}

/** The idempotency window of this process (`ServerMetrics.idempotency`). */
export interface IdempotencyMetrics {
  /** Idempotency keys held, with their outcomes or running calls. */
  keys: number;
  /** Sessions held. */
  sessions: number;
  /** Bytes the window holds (entries and outcome texts), counted against `idempotency.maxBytes`. */
  bytes: number;
  /** Re-sent calls waiting for a run still going. */
  waiting: number;
}

/** One procedure's counts and latencies (`ServerMetrics.procedures`). */
export interface ProcedureMetrics {
  /** Calls run since the server started. */
  calls: number;
  /** Of them, those that ended in an error. */
  errors: number;
  /** Calls per second, over the last 5 s. */
  perSecond: number;
  /** Median latency, over the last 5 s. */
  p50Ms: number;
  /** 99th percentile latency, over the last 5 s. */
  p99Ms: number;
}

/** One channel's subscribers and deliveries on this process (`ServerMetrics.channels`). */
export interface ChannelMetrics extends DeliveryCounters {
  /** Connections following at least one of the channel's streams. */
  subscribers: number;
  /** Messages per second, over the last 5 s. */
  perSecond: number;
}

/** Rates and latencies cover the last this many seconds. */
const RATE_WINDOW_S = 5;
/** Latency buckets: 4 per power of two of microseconds (a bucket's lower bound is at most 20% low), up to 2^32 µs. */
const BUCKETS = 128;

function bucketOf(micros: number): number {
  const us = Math.max(1, Math.min(0xffff_ffff, Math.round(micros)));
  const exponent = 31 - Math.clz32(us);
  const sub = exponent < 2 ? us & 3 : (us >>> (exponent - 2)) & 3;
  return exponent * 4 + sub;
}

/** The lower bound of a bucket, in ms. */
function bucketMs(bucket: number): number {
  const exponent = bucket >> 2;
  const sub = bucket & 3;
  return (exponent < 2 ? sub : 2 ** exponent + sub * 2 ** (exponent - 2)) / 1000;
}

/** Counts per second, the last RATE_WINDOW_S of them kept. */
class Rate {
  total = 0;
  #marks: number[] = [];

  /** Once a second. */
  tick(): void {
    this.#marks.push(this.total);
    if (this.#marks.length > RATE_WINDOW_S + 1) this.#marks.shift();
  }

  get perSecond(): number {
    const first = this.#marks[0];
    const last = this.#marks.at(-1);
    if (first === undefined || last === undefined || this.#marks.length < 2) return 0;
    return (last - first) / (this.#marks.length - 1);
  }
}

class ProcedureStats {
  readonly rate = new Rate();
  errors = 0;
  /** One histogram per second of the window, the newest last. */
  #histograms: Uint32Array[] = [new Uint32Array(BUCKETS)];

  record(micros: number, ok: boolean): void {
    this.rate.total++;
    if (!ok) this.errors++;
    const histogram = this.#histograms.at(-1) as Uint32Array;
    histogram[bucketOf(micros)] = (histogram[bucketOf(micros)] as number) + 1;
  }

  tick(): void {
    this.rate.tick();
    this.#histograms.push(new Uint32Array(BUCKETS));
    if (this.#histograms.length > RATE_WINDOW_S) this.#histograms.shift();
  }

  percentileMs(p: number): number {
    let count = 0;
    for (const histogram of this.#histograms) for (const n of histogram) count += n;
    if (count === 0) return 0;
    let rank = Math.ceil(p * count);
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      for (const histogram of this.#histograms) rank -= histogram[bucket] as number;
      if (rank <= 0) return bucketMs(bucket);
    }
    return bucketMs(BUCKETS - 1);
  }
}

/** A server's counters; ticks once a second while the server runs. */
export class Metrics {
  readonly #startedAt = Date.now();
  readonly #procedures = new Map<string, ProcedureStats>();
  readonly #channels = new Map<string, { counters: DeliveryCounters; rate: Rate }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #loop: IntervalHistogram | undefined;
  #lastLoop = { p50Ms: 0, p99Ms: 0, maxMs: 0 };

  start(): void {
    if (this.#timer !== undefined) return;
    this.#loop = monitorEventLoopDelay({ resolution: 10 });
    this.#loop.enable();
    this.#timer = setInterval(() => this.#tick(), 1_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#loop?.disable();
  }

  /** A call settled `micros` after it arrived. */
  recordCall(procedure: string, micros: number, ok: boolean): void {
    let stats = this.#procedures.get(procedure);
    if (stats === undefined) {
      stats = new ProcedureStats();
      this.#procedures.set(procedure, stats);
    }
    stats.record(micros, ok);
  }

  /** The delivery counters of a channel (one object, updated in place by its lanes). */
  channelCounters(channel: string): DeliveryCounters {
    let entry = this.#channels.get(channel);
    if (entry === undefined) {
      entry = { counters: { messages: 0, dropped: 0, coalesced: 0, slowDisconnects: 0 }, rate: new Rate() };
      this.#channels.set(channel, entry);
    }
    return entry.counters;
  }

  #tick(): void {
    for (const stats of this.#procedures.values()) stats.tick();
    for (const entry of this.#channels.values()) {
      entry.rate.total = entry.counters.messages;
      entry.rate.tick();
    }
    const loop = this.#loop;
    if (loop !== undefined) {
      const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
      this.#lastLoop = { p50Ms: ms(loop.percentile(50)), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max) };
      loop.reset();
    }
  }

  snapshot(live: {
    connections: number;
    inFlight: number;
    subscribers: Map<string, number>;
    idempotency: IdempotencyMetrics;
    streams: number;
  }): ServerMetrics {
    const procedures: Record<string, ProcedureMetrics> = {};
    let total = 0;
    let errors = 0;
    let perSecond = 0;
    for (const [name, stats] of this.#procedures) {
      total += stats.rate.total;
      errors += stats.errors;
      perSecond += stats.rate.perSecond;
      procedures[name] = {
        calls: stats.rate.total,
        errors: stats.errors,
        perSecond: stats.rate.perSecond,
        p50Ms: stats.percentileMs(0.5),
        p99Ms: stats.percentileMs(0.99),
      };
    }
    const channels: Record<string, ChannelMetrics> = {};
    for (const [name, { counters, rate }] of this.#channels) {
      channels[name] = { ...counters, subscribers: live.subscribers.get(name) ?? 0, perSecond: rate.perSecond };
    }
    const memory = process.memoryUsage();
    return {
      at: Date.now(),
      uptimeMs: Date.now() - this.#startedAt,
      connections: live.connections,
      calls: { total, errors, inFlight: live.inFlight, perSecond },
      procedures,
      channels,
      idempotency: live.idempotency,
      streams: { runs: live.streams },
      eventLoop: { ...this.#lastLoop },
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    };
  }
}
