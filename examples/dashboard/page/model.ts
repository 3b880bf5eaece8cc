// What the page knows, without any DOM. Readings are buffered as they arrive (the newest
// per sensor: a burst costs no more than one reading per sensor) and applied once per
// animation frame; the rest is small and applied at once, marked for the next frame.
import type {
  AlertData,
  AlertEventData,
  DashboardStateData,
  FeedStatusData,
  ReadingData,
  StatsData,
} from '../contract.js';

/** One subscription's stream as the page saw it: how much arrived, where it is, what broke. */
export class StreamTracker {
  readonly label: string;
  count = 0;
  /** The last position received, `epoch:offset`. */
  position: string | undefined;
  /** Offsets skipped within one epoch. The client promises none: this stays 0. */
  holes = 0;
  /** Gaps the client reported (onGap): missed messages it could not replay. */
  gaps = 0;
  #epoch = '';
  #offset = 0;

  constructor(label: string) {
    this.label = label;
  }

  received(position: string): void {
    this.count++;
    this.position = position;
    const colon = position.lastIndexOf(':');
    const epoch = position.slice(0, colon);
    const offset = Number(position.slice(colon + 1));
    // A new epoch follows a gap report (a restarted broker); within one, offsets rise by one.
    if (epoch === this.#epoch && offset !== this.#offset + 1) this.holes++;
    this.#epoch = epoch;
    this.#offset = offset;
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

  /**
   * The whole current state, from `dashboard.state`: first paint, and again after a gap.
   * It replaces alerts and feed settings; readings merge by time, so a live reading that
   * overtook the reply is kept.
   */
  applyState(state: DashboardStateData): string[] {
    this.feed = state.feed;
    this.feedChanged = true;
    this.alerts.clear();
    for (const alert of state.alerts) this.alerts.set(alert.id, alert);
    this.alertsChanged = true;
    const changed = this.flushReadings();
    for (const reading of state.readings) {
      if (this.#apply(reading)) changed.push(reading.id);
    }
    return changed;
  }
}
