// Alerts: a reading at or above the threshold raises one, at most one open per sensor.
// A sensor raises again only after it has cooled below the threshold by a margin, so a
// value hovering at the line does not raise a storm. Open alerts are bounded by the
// number of sensors.
import type { AlertData, ReadingData } from '../contract.js';
import { ALERT_CELSIUS, CRITICAL_CELSIUS } from '../shared.js';

/** How far below the threshold a sensor must fall before it may raise again. */
const REARM_MARGIN_CELSIUS = 5;

export class AlertBook {
  readonly #open = new Map<number, AlertData>();
  /** Sensor → its open alert's id. */
  readonly #openBySensor = new Map<string, number>();
  /** Sensors that have raised and not yet cooled down. */
  readonly #hot = new Set<string>();
  #lastId = 0;

  /** The alert this reading raises, if it raises one. */
  observe(reading: ReadingData): AlertData | undefined {
    if (reading.value < ALERT_CELSIUS - REARM_MARGIN_CELSIUS) {
      this.#hot.delete(reading.id);
      return undefined;
    }
    if (reading.value < ALERT_CELSIUS || this.#hot.has(reading.id) || this.#openBySensor.has(reading.id)) {
      return undefined;
    }
    this.#hot.add(reading.id);
    const alert: AlertData = {
      id: ++this.#lastId,
      sensor: reading.id,
      zone: reading.zone,
      level: reading.value >= CRITICAL_CELSIUS ? 'critical' : 'warning',
      value: reading.value,
      threshold: ALERT_CELSIUS,
      raisedAt: reading.time,
    };
    this.#open.set(alert.id, alert);
    this.#openBySensor.set(alert.sensor, alert.id);
    return alert;
  }

  /** Closes an open alert; false when there is none with this id (already acknowledged, or never raised). */
  acknowledge(id: number): boolean {
    const alert = this.#open.get(id);
    if (alert === undefined) return false;
    this.#open.delete(id);
    this.#openBySensor.delete(alert.sensor);
    return true;
  }

  /** Open alerts, oldest first. */
  open(): AlertData[] {
    return [...this.#open.values()];
  }
}
