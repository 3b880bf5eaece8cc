import { type Clock, withGlobal } from '@sinonjs/fake-timers';

/** The timers a test clock fakes: what heartbeats, backoff, deadlines and expiry run on. */
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

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
    advance: async (ms) => {
      await clock.tickAsync(ms);
    },
    settle: async () => {
      await clock.tickAsync(0);
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
    settle: () => new Promise((resolve) => setImmediate(resolve)),
    now: () => Date.now(),
    uninstall: () => {},
  };
}
