/** Reconnect timing: exponential backoff with full jitter. */
export interface BackoffOptions {
  /** Upper bound of the first delay (and the base of the exponent). @default 1,000 ms */
  initialDelayMs: number;
  /** No delay is longer than this. @default 30,000 ms */
  maxDelayMs: number;
  /** Growth per attempt. @default 2 */
  factor: number;
}

/** The defaults of BackoffOptions: the `reconnect` option's. */
export const BACKOFF_DEFAULTS: BackoffOptions = { initialDelayMs: 1_000, maxDelayMs: 30_000, factor: 2 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first): uniformly random in
 * [0, min(maxDelayMs, initialDelayMs × factor^attempt)] ("full jitter"). The first delay is
 * random too (RFC 6455 §7.2.3), so clients dropped together by a server restart do not
 * come back together.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * The delay after the server closed with 1013 (Try Again Later): it is overloaded, so the
 * client stays away for at least half the widest window — uniformly random in
 * [maxDelayMs / 2, maxDelayMs) — instead of the current step's, which may be short.
 */
export function tryAgainLaterDelayMs(options: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor((options.maxDelayMs * (1 + random())) / 2);
}
