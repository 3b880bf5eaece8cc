// How the page folds a zone's readings: one Map per zone, newest reading per sensor. Every
// component reading the zone shares this state (one subscription per zone); a message makes
// a new Map in which only that sensor's entry is new, so the other tiles' selections stay equal.
import type { MessageMeta } from '@switchboard/client';
import type { ReadingData } from '../../dashboard/contract.js';
import { readingFolded } from './probe.js';

export type Zone = ReadingData['zone'];
export type ZoneReadings = ReadonlyMap<string, ReadingData>;

export const zoneFold = {
  initial: (readings: ReadingData[]): ZoneReadings => new Map(readings.map((reading) => [reading.id, reading])),
  reduce: (byId: ZoneReadings, reading: ReadingData, meta: MessageMeta): ZoneReadings => {
    readingFolded(reading.zone, meta.position);
    return new Map(byId).set(reading.id, reading);
  },
};
