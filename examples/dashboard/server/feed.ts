// The synthetic feed: 200 temperature sensors in four zones, cheap enough to publish
// tens of thousands of readings per second. Each reading drifts back towards its sensor's
// base temperature (plus a slow wave per zone) with a little noise; now and then one
// sensor spikes past the alert threshold.
import type { FeedStatusData, ReadingData } from '../contract.js';
import { ALERT_CELSIUS, DEFAULT_RATE, SENSORS_PER_ZONE, sensorId, ZONES, type Zone } from '../shared.js';

export interface FeedOptions {
  /** Total readings per second across all zones. @default 200 */
  updatesPerSecond?: number;
  /** How often the feed publishes what has come due. @default 20 ms */
  tickMs?: number;
  /** Mean time between spikes past the alert threshold. @default 4 s */
  spikeEveryMs?: number;
  /** Numbers in [0, 1); pass a seeded one for repeatable runs. @default Math.random */
  random?: () => number;
  /** Sensors in each of the four zones. @default 50 */
  sensorsPerZone?: number;
}

interface Sensor {
  id: string;
  zone: Zone;
  base: number;
  value: number;
  time: number;
}

/** Pull towards the base per reading, and the noise added to each. */
const REVERSION = 0.08;
const NOISE_CELSIUS = 0.9;
/** A zone's slow wave: amplitude and period. */
const WAVE_CELSIUS = 4;
const WAVE_PERIOD_MS = 40_000;
/** After a stall (a long GC, a paused debugger) the feed catches up at most this much. */
const MAX_CATCH_UP_MS = 1_000;

/** Publishes readings at a set total rate; zones can be paused. */
export class SensorFeed {
  readonly #publish: (reading: ReadingData) => void;
  readonly #random: () => number;
  readonly #tickMs: number;
  readonly #spikeEveryMs: number;
  readonly #zones: ReadonlyMap<Zone, Sensor[]>;
  readonly #cursor = new Map<Zone, number>();
  readonly #paused = new Map<Zone, boolean>();
  readonly #startedAt = Date.now();
  #updatesPerSecond: number;
  #revision = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTickMs = 0;
  /** Fractional readings owed from earlier ticks. */
  #owed = 0;
  /** Which zone the next reading comes from: readings are shared out evenly. */
  #zoneTurn = 0;
  #nextSpikeAtMs = 0;
  #published = 0;

  constructor(publish: (reading: ReadingData) => void, options: FeedOptions = {}) {
    this.#publish = publish;
    this.#random = options.random ?? Math.random;
    this.#tickMs = options.tickMs ?? 20;
    this.#spikeEveryMs = options.spikeEveryMs ?? 4_000;
    this.#updatesPerSecond = options.updatesPerSecond ?? DEFAULT_RATE;
    const now = Date.now();
    const zones = new Map<Zone, Sensor[]>();
    for (const zone of ZONES) {
      const sensors: Sensor[] = [];
      for (let index = 0; index < (options.sensorsPerZone ?? SENSORS_PER_ZONE); index++) {
        const base = 38 + this.#random() * 34;
        sensors.push({ id: sensorId(zone, index), zone, base, value: base, time: now });
      }
      zones.set(zone, sensors);
      this.#cursor.set(zone, 0);
      this.#paused.set(zone, false);
    }
    this.#zones = zones;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastTickMs = Date.now();
    this.#nextSpikeAtMs = this.#lastTickMs + this.#spikeDelayMs();
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Readings published since the feed was made. */
  get published(): number {
    return this.#published;
  }

  status(): FeedStatusData {
    const paused = Object.fromEntries(ZONES.map((zone) => [zone, this.#paused.get(zone) === true]));
    return {
      startedAt: this.#startedAt,
      revision: this.#revision,
      updatesPerSecond: this.#updatesPerSecond,
      paused: paused as Record<Zone, boolean>,
    };
  }

  setRate(updatesPerSecond: number): FeedStatusData {
    if (updatesPerSecond !== this.#updatesPerSecond) {
      this.#updatesPerSecond = updatesPerSecond;
      this.#owed = 0;
      this.#revision++;
    }
    return this.status();
  }

  setPaused(zone: Zone, paused: boolean): FeedStatusData {
    if (this.#paused.get(zone) !== paused) {
      this.#paused.set(zone, paused);
      this.#revision++;
    }
    return this.status();
  }

  /** The latest reading of every sensor. */
  readings(): ReadingData[] {
    const readings: ReadingData[] = [];
    for (const sensors of this.#zones.values()) {
      for (const { id, zone, value, time } of sensors) readings.push({ id, zone, value, time });
    }
    return readings;
  }

  #tick(): void {
    const now = Date.now();
    const elapsedMs = Math.min(now - this.#lastTickMs, MAX_CATCH_UP_MS);
    this.#lastTickMs = now;
    this.#owed += (elapsedMs * this.#updatesPerSecond) / 1000;
    const due = Math.floor(this.#owed);
    this.#owed -= due;
    if (now >= this.#nextSpikeAtMs) {
      this.#nextSpikeAtMs = now + this.#spikeDelayMs();
      this.#spike();
    }
    for (let i = 0; i < due; i++) {
      const zone = ZONES[this.#zoneTurn] as Zone;
      this.#zoneTurn = (this.#zoneTurn + 1) % ZONES.length;
      // A paused zone's share is skipped, not handed to the others: pausing lowers the total.
      if (this.#paused.get(zone) === true) continue;
      this.#publishNext(zone, now);
    }
  }

  #publishNext(zone: Zone, now: number): void {
    const sensors = this.#zones.get(zone) as Sensor[];
    const index = this.#cursor.get(zone) as number;
    this.#cursor.set(zone, (index + 1) % sensors.length);
    const sensor = sensors[index] as Sensor;
    const target = sensor.base + WAVE_CELSIUS * Math.sin((2 * Math.PI * now) / WAVE_PERIOD_MS + ZONES.indexOf(zone));
    const noise = (this.#random() + this.#random() + this.#random() - 1.5) * 2 * NOISE_CELSIUS;
    sensor.value += (target - sensor.value) * REVERSION + noise;
    sensor.time = now;
    this.#published++;
    this.#publish({ id: sensor.id, zone, value: Math.round(sensor.value * 100) / 100, time: now });
  }

  /** One sensor of a running zone jumps past the alert threshold; reversion brings it back. */
  #spike(): void {
    const running = ZONES.filter((zone) => this.#paused.get(zone) !== true);
    if (running.length === 0) return;
    const zone = running[Math.floor(this.#random() * running.length)] as Zone;
    const sensors = this.#zones.get(zone) as Sensor[];
    const sensor = sensors[Math.floor(this.#random() * sensors.length)] as Sensor;
    sensor.value = ALERT_CELSIUS + 6 + this.#random() * 12;
  }

  #spikeDelayMs(): number {
    return this.#spikeEveryMs * (0.5 + this.#random());
  }
}
