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

  describe('session keys (<session>.<call id>)', () => {
    it('forgets outcomes the client acknowledged, and keeps the rest', () => {
      const window = new IdempotencyWindow(100, 60_000);
      for (const id of [1, 2, 3]) {
        window.claim(`s.${id}`, 'f', id, undefined, 0);
        window.finish(window.lastCreated!, ok(id), 0);
      }
      window.release('s.4', 2, 1);
      expect(window.size).toBe(1);
      expect(window.claim('s.3', 'f', 3, undefined, 2)?.outcome).toEqual(ok(3));
      expect(window.claim('s.1', 'f', 1, undefined, 2)).toBeUndefined(); // forgotten: runs again
    });

    it('forgets a call acknowledged while it still runs (the client will not ask again)', () => {
      const window = new IdempotencyWindow(100, 60_000);
      window.claim('s.1', 'f', 1, undefined, 0);
      const running = window.lastCreated!;
      window.release('s.2', 1, 1); // the client gave up on call 1 (a timeout)
      expect(window.size).toBe(0);
      window.finish(running, ok(1), 3);
      expect(window.size).toBe(0);
    });

    it('finds a repeat wherever it sits, also after a call that arrived out of order', () => {
      const window = new IdempotencyWindow(100, 60_000);
      const hint = { session: undefined };
      for (const id of [1, 2, 5, 3]) {
        window.claim(`s.${id}`, 'f', id, undefined, 0, hint);
        window.finish(window.lastCreated!, ok(id), 0);
      }
      for (const id of [1, 2, 3, 5]) {
        expect(window.claim(`s.${id}`, 'f', id, undefined, 1, hint)?.outcome).toEqual(ok(id));
      }
      expect(window.claim('s.4', 'f', 4, undefined, 1, hint)).toBeUndefined();
      window.release('s.6', 3, 2, hint);
      expect(window.size).toBe(2); // 4 and 5
    });

    it('does not mix sessions, and ignores an ack that goes backwards', () => {
      const window = new IdempotencyWindow(100, 60_000);
      for (const key of ['a.1', 'b.1']) {
        window.claim(key, 'f', 1, undefined, 0);
        window.finish(window.lastCreated!, ok(key), 0);
      }
      window.release('a.2', 1, 1);
      window.release('a.2', 0, 1);
      expect(window.claim('b.1', 'f', 1, undefined, 2)?.outcome).toEqual(ok('b.1'));
      expect(window.size).toBe(1);
    });

    it('drops a session silent for ttlMs, and bounds one that never acknowledges', () => {
      const window = new IdempotencyWindow(3, 1_000);
      for (let id = 1; id <= 5; id++) {
        window.claim(`s.${id}`, 'f', id, undefined, 0);
        window.finish(window.lastCreated!, ok(id), 0);
      }
      expect(window.size).toBe(3); // the oldest two were pushed out
      expect(window.claim('s.5', 'f', 5, undefined, 1)?.outcome).toEqual(ok(5));
      window.claim('other', 'f', 0, undefined, 2_000); // a later claim sweeps
      expect(window.size).toBe(1);
    });
  });
});
