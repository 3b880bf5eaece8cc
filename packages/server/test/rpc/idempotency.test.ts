import { describe, expect, it } from 'vitest';
import { IdempotencyWindow, isSameCall, type Outcome } from '../../src/rpc/idempotency.js';

const ok = (output: unknown): Outcome => ({ ok: true, output, meta: undefined });

describe('IdempotencyWindow', () => {
  it('runs a new key, then answers a repeat with the stored outcome', () => {
    const window = new IdempotencyWindow(10, 1_000);
    expect(window.claim('k', 'add', { a: 1 }, undefined, 0)).toBeUndefined();
    window.finish(window.lastCreated!, ok(3), 10);
    expect(window.claim('k', 'add', { a: 1 }, undefined, 20)?.outcome).toEqual(ok(3));
  });

  it('lets a repeat of a running call wait for its outcome', () => {
    const window = new IdempotencyWindow(10, 1_000);
    window.claim('k', 'f', 1, undefined, 0);
    const running = window.lastCreated!;
    const entry = window.claim('k', 'f', 1, undefined, 1);
    expect(entry).toBe(running);
    expect(entry?.outcome).toBeUndefined();
    const seen: Outcome[] = [];
    if (entry) window.wait(entry, (outcome) => seen.push(outcome));
    window.finish(running, ok('late'), 2);
    expect(seen).toEqual([ok('late')]);
  });

  it('tells a reused key with other input from a repeat', () => {
    const window = new IdempotencyWindow(10, 1_000);
    window.claim('k', 'add', { a: 1 }, undefined, 0);
    const entry = window.claim('k', 'add', { a: 2 }, undefined, 1);
    expect(entry && isSameCall(entry, 'add', { a: 2 }, undefined)).toBe(false);
    expect(entry && isSameCall(entry, 'add', { a: 1 }, undefined)).toBe(true);
    expect(entry && isSameCall(entry, 'sub', { a: 1 }, undefined)).toBe(false);
  });

  it('forgets outcomes after ttlMs: a repeat then runs again', () => {
    const window = new IdempotencyWindow(10, 100);
    window.claim('k', 'f', 1, undefined, 0);
    window.finish(window.lastCreated!, ok(1), 0);
    expect(window.claim('k', 'f', 1, undefined, 99)?.outcome).toEqual(ok(1));
    expect(window.claim('k', 'f', 1, undefined, 100)).toBeUndefined();
  });

  it('keeps at most maxKeys keys, evicting the oldest', () => {
    const window = new IdempotencyWindow(2, 1_000);
    for (const key of ['a', 'b', 'c']) {
      window.claim(key, 'f', 1, undefined, 0);
      window.finish(window.lastCreated!, ok(key), 0);
    }
    expect(window.size).toBe(2);
    expect(window.claim('a', 'f', 1, undefined, 1)).toBeUndefined();
    expect(window.claim('c', 'f', 1, undefined, 1)?.outcome).toEqual(ok('c'));
  });

  it('stays bounded through many more keys than it holds', () => {
    const window = new IdempotencyWindow(100, 1_000);
    for (let i = 0; i < 10_000; i++) {
      window.claim(`k${i}`, 'f', i, undefined, i);
      window.finish(window.lastCreated!, ok(i), i);
    }
    expect(window.size).toBe(100);
    expect(window.claim('k9999', 'f', 9999, undefined, 10_000)?.outcome).toEqual(ok(9999));
  });
});
