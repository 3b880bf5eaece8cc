// What the page knows, without any DOM. Readings are buffered as they arrive (the newest
// per sensor: a burst costs no more than one reading per sensor) and applied once per
// animation frame; the rest is small and applied at once, marked for the next frame.
import type { AlertData, AlertEventData, FeedStatusData, ReadingData, StatsData } from '../contract.js';

/** One subscription's stream as the page saw it: how much arrived, where it is, what broke. */
export class StreamTracker {
  readonly label: string;
  count = 0;
  /** The last position received, `epoch:offset`. */
  position: string | undefined;
  /**
   * Offsets skipped within one epoch: none, unless this page was too slow for a `latest`
   * channel (readings), whose superseded messages the server skips.
   */
  holes = 0;
  /**
   * Messages missed that could not be replayed: a gap the client reported (onGap), or a
   * fresh snapshot that replaced them (after a restarted server, say).
   */
  gaps = 0;
  snapshots = 0;
  #epoch = '';
  #offset = 0;

  constructor(label: string) {
    this.label = label;
  }

  /** A snapshot at `position`: the messages that follow continue from it. True when it replaced missed ones. */
  snapshot(position: string): boolean {
    this.snapshots++;
    this.#moveTo(position);
    const resync = this.snapshots > 1;
    if (resync) this.gaps++;
    return resync;
  }

  received(position: string): void {
    this.count++;
    const colon = position.lastIndexOf(':');
    const epoch = position.slice(0, colon);
    const offset = Number(position.slice(colon + 1));
    // A new epoch follows a gap or a snapshot (a restarted broker); within one, offsets rise by one.
    if (epoch === this.#epoch && offset !== this.#offset + 1) this.holes++;
    this.#moveTo(position);
  }

  #moveTo(position: string): void {
    this.position = position;
    const colon = position.lastIndexOf(':');
    this.#epoch = position.slice(0, colon);
    this.#offset = Number(position.slice(colon + 1));
  }
}

/** Which feed status is newer: a later server run, or a later revision of the same run. */
function isNewer(next: FeedStatusData, current: FeedStatusData | undefined): boolean {
  if (current === undefined) return true;
  if (next.startedAt !== current.startedAt) return next.startedAt > current.startedAt;
  return next.revision > current.revision;
}

export class DashboardModel {
  /** The latest applied reading of every sensor. */
  readonly readings = new Map<string, ReadingData>();
  readonly alerts = new Map<number, AlertData>();
  readonly streams = new Map<string, StreamTracker>();
  feed: FeedStatusData | undefined;
  stats: StatsData | undefined;
  /** Set when alerts, feed or stats changed; the view clears them once drawn. */
  alertsChanged = true;
  feedChanged = true;
  statsChanged = false;
  readonly #pending = new Map<string, ReadingData>();

  stream(label: string): StreamTracker {
    let tracker = this.streams.get(label);
    if (tracker === undefined) {
      tracker = new StreamTracker(label);
      this.streams.set(label, tracker);
    }
    return tracker;
  }

  /** Buffers a reading until the next frame; a newer one of the same sensor replaces it. */
  bufferReading(reading: ReadingData): void {
    this.#pending.set(reading.id, reading);
  }

  /** Applies the buffered readings; returns the sensors that changed. */
  flushReadings(): string[] {
    if (this.#pending.size === 0) return [];
    const changed: string[] = [];
    for (const reading of this.#pending.values()) {
      if (this.#apply(reading)) changed.push(reading.id);
    }
    this.#pending.clear();
    return changed;
  }

  #apply(reading: ReadingData): boolean {
    const current = this.readings.get(reading.id);
    // A reading older than what a state snapshot already gave is stale.
    if (current !== undefined && current.time > reading.time) return false;
    this.readings.set(reading.id, reading);
    return true;
  }

  alertEvent(event: AlertEventData): void {
    if (event.kind === 'raised') this.alerts.set(event.alert.id, event.alert);
    else this.alerts.delete(event.id);
    this.alertsChanged = true;
  }

  acknowledged(id: number): void {
    if (this.alerts.delete(id)) this.alertsChanged = true;
  }

  feedStatus(status: FeedStatusData): void {
    if (!isNewer(status, this.feed)) return;
    this.feed = status;
    this.feedChanged = true;
  }

  serverStats(stats: StatsData): void {
    this.stats = stats;
    this.statsChanged = true;
  }

  /** A zone's readings snapshot: merged by time, so a live reading that overtook it is kept. */
  readingsSnapshot(readings: readonly ReadingData[]): void {
    for (const reading of readings) this.bufferReading(reading);
  }

  /** The open alerts, replacing what the page had. */
  alertsSnapshot(alerts: readonly AlertData[]): void {
    this.alerts.clear();
    for (const alert of alerts) this.alerts.set(alert.id, alert);
    this.alertsChanged = true;
  }
}
