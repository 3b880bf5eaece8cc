// What the client scripts report, and how run.ts aggregates it.

import { median } from './report.js';

/** load.ts result (the fields run.ts uses). */
export interface LoadResult {
  msgsPerSec: number;
  payloadMBps: number;
  clientCpu: number;
  msgsPerRead: number;
  /** Busy CPUs on the whole machine during the measurement, in cores. */
  machineCores: number;
  server: { cpu: number; sysShare: number; usPerMsg: number } | null;
}

/** handshakes.ts result. */
export interface HandshakeResult {
  perSec: number;
  clientCpu: number;
  machineCores: number;
  lingered: number;
  errors: number;
  server: { cpu: number; usPerHandshake: number } | null;
}

/** idle-memory.ts result. */
export interface MemoryResult {
  rssKiBPerConn: number;
  rssKiBPerConnSecondHalf: number;
  heapKiBPerConn: number;
  gcForced: boolean;
  openMs: number;
}

/** CPU (in cores) used during a run by processes other than its server and load generator. */
export const DISTURBED_CORES = 0.3;

export function otherCores(r: { machineCores: number; clientCpu: number; server: { cpu: number } | null }): number {
  return r.machineCores - r.clientCpu - (r.server?.cpu ?? 0);
}

export function disturbed(r: { machineCores: number; clientCpu: number; server: { cpu: number } | null }): boolean {
  return otherCores(r) > DISTURBED_CORES;
}

/** The runs to aggregate: the undisturbed ones if there are any, else all of them. */
export function usable<T extends { machineCores: number; clientCpu: number; server: { cpu: number } | null }>(
  runs: readonly T[],
): T[] {
  const clean = runs.filter((r) => !disturbed(r));
  return clean.length > 0 ? clean : [...runs];
}

/** Median of `pick` over the usable runs; NaN when there are none. */
export function medianOf<T extends { machineCores: number; clientCpu: number; server: { cpu: number } | null }>(
  runs: readonly T[] | undefined,
  pick: (r: T) => number | undefined,
): number {
  return median(usable(runs ?? []).map((r) => pick(r) ?? Number.NaN));
}

/** Everything one invocation of run.ts measured. Keys: contender id (and `@size` for echo). */
export interface Results {
  echo: Map<string, LoadResult[]>;
  handshakes: Map<string, HandshakeResult[]>;
  memory: Map<string, MemoryResult>;
}

export function append<T>(map: Map<string, T[]>, key: string, value: T): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}
