// Is anything else using the CPUs? Benchmarks on a shared machine are only worth reading if
// they ran while it was otherwise idle. Linux only (/proc/stat); elsewhere busy is NaN.

import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** Machine-wide CPU time counters (jiffies), or null off Linux. */
export function readCpuTimes(): CpuTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return null;
  }
}

/** Fraction of all CPUs busy (including hypervisor steal) over `ms`; NaN if unknown. */
export async function machineBusy(ms = 500): Promise<number> {
  const a = readCpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return busyBetween(a, readCpuTimes());
}

/** Fraction of all CPUs busy between two readings; NaN if unknown. */
export function busyBetween(a: CpuTimes | null, b: CpuTimes | null): number {
  if (!a || !b || b.total <= a.total) return Number.NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

/** Busy CPUs (in cores, e.g. 1.7 of 2) between two readings; NaN if unknown. */
export function coresBusy(a: CpuTimes | null, b: CpuTimes | null): number {
  return busyBetween(a, b) * os.cpus().length;
}

/**
 * Waits (at most `maxWaitMs`) until the machine is below `threshold` busy while none of our
 * processes run. Resolves with the last reading, so the caller can flag a busy run.
 */
export async function waitForQuiet(
  threshold: number,
  maxWaitMs: number,
  onWait: (busy: number) => void,
): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await machineBusy();
  let told = false;
  while (busy > threshold && Date.now() < deadline) {
    if (!told) onWait(busy);
    told = true;
    busy = await machineBusy(1000);
  }
  return busy;
}
