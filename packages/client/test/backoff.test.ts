import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../tests/support/seeded-random.js';
import { BACKOFF_DEFAULTS, backoffDelayMs, tryAgainLaterDelayMs } from '../src/backoff.js';

describe('backoffDelayMs', () => {
  it('draws the first delay at random below initialDelayMs (RFC 6455 §7.2.3)', () => {
    expect(backoffDelayMs(0, BACKOFF_DEFAULTS, () => 0)).toBe(0);
    expect(backoffDelayMs(0, BACKOFF_DEFAULTS, () => 0.5)).toBe(500);
    expect(backoffDelayMs(0, BACKOFF_DEFAULTS, () => 0.999)).toBe(999);
  });

  it('grows the ceiling by factor per attempt and caps it at maxDelayMs', () => {
    const top = () => 0.999999;
    expect(backoffDelayMs(1, BACKOFF_DEFAULTS, top)).toBe(1999);
    expect(backoffDelayMs(3, BACKOFF_DEFAULTS, top)).toBe(7999);
    expect(backoffDelayMs(20, BACKOFF_DEFAULTS, top)).toBe(29999);
  });

  it('spreads 500 clients over the window: no 100 ms bucket holds more than 5% of them', () => {
    const buckets = new Map<number, number>();
    const random = seededRandom(6455);
    for (let i = 0; i < 500; i++) {
      const bucket = Math.floor(backoffDelayMs(2, BACKOFF_DEFAULTS, random) / 100);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    // 4 s window = 40 buckets, 12.5 expected per bucket; 25 (5%) is far in the tail.
    expect(Math.max(...buckets.values())).toBeLessThanOrEqual(25);
    expect(buckets.size).toBeGreaterThan(30);
  });

  it('keeps a client told 1013 away for at least half of maxDelayMs, below maxDelayMs', () => {
    expect(tryAgainLaterDelayMs(BACKOFF_DEFAULTS, () => 0)).toBe(15_000);
    expect(tryAgainLaterDelayMs(BACKOFF_DEFAULTS, () => 0.5)).toBe(22_500);
    expect(tryAgainLaterDelayMs(BACKOFF_DEFAULTS, () => 0.999999)).toBe(29_999);
    // A small window: 200–400 ms.
    expect(tryAgainLaterDelayMs({ initialDelayMs: 50, maxDelayMs: 400, factor: 2 }, () => 0)).toBe(200);
  });
});
