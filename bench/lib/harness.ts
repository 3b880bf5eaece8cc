// "Start a contender's server, run, stop it" for the run.ts scripts: a bounded wait for a quiet
// machine before timed runs, and failures reported loudly and recorded, never thrown.

import type { Contender } from '../echo/contenders.js';
import { loud, say } from './out.js';
import { ServerProcess } from './proc.js';
import { waitForQuiet } from './quiet.js';
import * as fmt from './report.js';

const BUSY_THRESHOLD = 0.15; // share of all CPUs used by others before a run
const QUIET_WAIT_MS = 20_000;
/** Quiet-waits that may time out in a row before the harness stops waiting. */
const BUSY_WAITS = 2;

export interface HarnessOptions<C extends Contender> {
  /** Prefix of the loud lines (default '!!'). */
  mark?: string;
  /** Say so when the harness stops waiting for a quiet machine. */
  sayWhenGivingUp?: boolean;
  /** Checks on a freshly started server, before the run. */
  onStart?: (c: C, server: ServerProcess) => void;
}

export class Harness<C extends Contender = Contender> {
  readonly failedToStart = new Map<string, string>();
  readonly runFailures: string[] = [];
  readonly raw: Record<string, unknown[]> = {};
  private busyWaitsLeft = BUSY_WAITS;

  constructor(private readonly options: HarnessOptions<C> = {}) {}

  loud(lines: readonly string[]): void {
    loud(lines, this.options.mark);
  }

  /**
   * Starts the contender's server, runs `fn`, stops the server. For timed runs, first waits
   * (bounded) for the machine to be quiet. null if anything failed; a contender whose server does
   * not start is skipped from then on.
   */
  async withServer<T>(
    c: C,
    what: string,
    timed: boolean,
    fn: (server: ServerProcess) => Promise<T>,
  ): Promise<T | null> {
    if (this.failedToStart.has(c.id)) return null;
    if (timed && this.busyWaitsLeft > 0) {
      const busy = await waitForQuiet(BUSY_THRESHOLD, QUIET_WAIT_MS, (b) =>
        say(`  ... other processes keep the machine ${fmt.pct(b)} busy; waiting up to ${QUIET_WAIT_MS / 1000} s`),
      );
      this.busyWaitsLeft = busy > BUSY_THRESHOLD ? this.busyWaitsLeft - 1 : BUSY_WAITS;
      if (this.busyWaitsLeft === 0 && this.options.sayWhenGivingUp) {
        say('  ... the machine stays busy: no more waiting; disturbed runs will be flagged');
      }
    }
    let server: ServerProcess;
    try {
      server = await ServerProcess.start(c);
    } catch (err) {
      const reason = (err as Error).message;
      this.failedToStart.set(c.id, reason);
      this.loud([`SKIPPING ${c.label}: its server failed to start`, ...reason.split('\n')]);
      return null;
    }
    try {
      this.options.onStart?.(c, server);
      const result = await fn(server);
      const key = `${c.id} ${what}`;
      this.raw[key] = [...(this.raw[key] ?? []), result];
      return result;
    } catch (err) {
      const message = `${c.label} ${what}: ${(err as Error).message}`;
      this.runFailures.push(message);
      this.loud([`RUN FAILED: ${message}`]);
      return null;
    } finally {
      await server.stop();
    }
  }

  reportFailures(): void {
    for (const [id, reason] of this.failedToStart) {
      this.loud([`NOT RUN: ${id} (server failed to start)`, ...reason.split('\n')]);
    }
    for (const f of this.runFailures) this.loud([`FAILED RUN: ${f}`]);
  }

  get failed(): boolean {
    return this.failedToStart.size > 0 || this.runFailures.length > 0;
  }
}
