// Constants the server and the page share. No zod here: the page imports this file, and
// only types of the contract, so its bundle carries no validator code.

/** The plant's zones; each is one feed, published on its own `readings` stream. */
export const ZONES = ['north', 'south', 'east', 'west'] as const;
export type Zone = (typeof ZONES)[number];

/** Sensors per zone: 4 × 50 = 200 in all. */
export const SENSORS_PER_ZONE = 50;

/** A reading at or above this raises an alert; at or above CRITICAL_CELSIUS it is critical. */
export const ALERT_CELSIUS = 90;
export const CRITICAL_CELSIUS = 95;

/** Total feed rate bounds, in updates per second across all zones. */
export const MIN_RATE = 1;
export const MAX_RATE = 50_000;
export const DEFAULT_RATE = 200;

/** The rate presets the page offers. */
export const RATE_PRESETS = [20, 200, 1_000, 5_000, 20_000] as const;

/** `north-007` */
export function sensorId(zone: Zone, index: number): string {
  return `${zone}-${String(index + 1).padStart(3, '0')}`;
}
