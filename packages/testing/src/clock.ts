import { type Clock, withGlobal } from '@sinonjs/fake-timers';

/** What a test clock fakes: the timers heartbeats, backoff, deadlines and expiry run on, and both clocks (Date, performance). */
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] as const;

/** Real timers, taken before any clock is installed: the kit's own safety bounds use them. */
export const realSetTimeout = globalThis.setTimeout;
export const realClearTimeout = globalThis.clearTimeout;

/**
 * The clock of a test pair. Faked (the default): time stands still until `advance()`, for
 * the client and the server alike, so a 30 s heartbeat or a backoff takes no real time.
 * Real (`clock: false`): `advance()` waits for real.
 */
export interface TestClock {
  /** Whether timers and Date are faked (the pair's `clock` option). */
  readonly faked: boolean;
  /** Moves time forward `ms`, running every timer due on the way (and what they start). */
  advance(ms: number): Promise<void>;
  /** Runs the timers due now and what they start, without moving time. */
  settle(): Promise<void>;
  /** Now, in ms since the epoch, as `Date.now()` says it. */
  now(): number;
}

/** @internal */
export interface OwnedClock extends TestClock {
  uninstall(): void;
}

/** Lets what the last timers started run to its end: nextTicks, promises, in-memory I/O. */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** When the next faked timer is due, if any (fake-timers keeps them in `timers`, by id). */
function nextDue(clock: Clock): number | undefined {
  const timers = (clock as unknown as { timers?: Record<string, { callAt: number }> }).timers;
  let due: number | undefined;
  for (const timer of Object.values(timers ?? {})) if (due === undefined || timer.callAt < due) due = timer.callAt;
  return due;
}

/** @internal */
export function fakeClock(): OwnedClock {
  // Timers made before it (a socket's, say) may still be cleared through the faked functions.
  const clock: Clock = withGlobal(globalThis).install({
    toFake: [...FAKED],
    now: Date.now(),
    shouldClearNativeTimers: true,
  });
  return {
    faked: true,
    // Timer by timer, with what each starts (a refresh's round trip, a reconnect) let run
    // before the next: time jumps, but nothing that takes no time is skipped over.
    advance: async (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`advance needs a duration ≥ 0 ms, got ${ms}`);
      const end = clock.now + ms;
      await settleIo();
      for (let due = nextDue(clock); due !== undefined && due <= end; due = nextDue(clock)) {
        await clock.tickAsync(Math.max(0, due - clock.now));
        await settleIo();
      }
      await clock.tickAsync(Math.max(0, end - clock.now));
      await settleIo();
    },
    settle: async () => {
      await settleIo();
      await clock.tickAsync(0);
      await settleIo();
    },
    now: () => clock.now,
    uninstall: () => clock.uninstall(),
  };
}

/** @internal */
export function realClock(): OwnedClock {
  return {
    faked: false,
    advance: (ms) => new Promise((resolve) => realSetTimeout(resolve, ms)),
    settle: settleIo,
    now: () => Date.now(),
    uninstall: () => {},
  };
}
