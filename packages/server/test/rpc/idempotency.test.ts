import { describe, expect, it } from 'vitest';
import { IdempotencyWindow, type Outcome } from '../../src/rpc/idempotency.js';

const ok = (output: unknown): Outcome => ({ ok: true, output, meta: undefined });

describe('IdempotencyWindow', () => {
  it('runs a new key, then answers a repeat with the stored outcome', () => {
    const window = new IdempotencyWindow(10, 1_000);
    expect(window.begin('k', () => 'add:1', 0)).toEqual({ kind: 'new' });
    window.finish('k', ok(3), 10);
    expect(window.begin('k', () => 'add:1', 20)).toEqual({ kind: 'done', outcome: ok(3) });
  });

  it('lets a repeat of a running call wait for its outcome', () => {
    const window = new IdempotencyWindow(10, 1_000);
    window.begin('k', () => 'f', 0);
    const lookup = window.begin('k', () => 'f', 1);
    expect(lookup.kind).toBe('running');
    const seen: Outcome[] = [];
    if (lookup.kind === 'running') lookup.wait((outcome) => seen.push(outcome));
    window.finish('k', ok('late'), 2);
    expect(seen).toEqual([ok('late')]);
  });

  it('calls the same key with other input a conflict', () => {
    const window = new IdempotencyWindow(10, 1_000);
    window.begin('k', () => 'add:1', 0);
    expect(window.begin('k', () => 'add:2', 1)).toEqual({ kind: 'conflict' });
  });

  it('forgets outcomes after ttlMs: a repeat then runs again', () => {
    const window = new IdempotencyWindow(10, 100);
    window.begin('k', () => 'f', 0);
    window.finish('k', ok(1), 0);
    expect(window.begin('k', () => 'f', 99).kind).toBe('done');
    expect(window.begin('k', () => 'f', 100)).toEqual({ kind: 'new' });
  });

  it('keeps at most maxKeys keys, evicting the oldest', () => {
    const window = new IdempotencyWindow(2, 1_000);
    for (const key of ['a', 'b', 'c']) {
      window.begin(key, () => 'f', 0);
      window.finish(key, ok(key), 0);
    }
    expect(window.size).toBe(2);
    expect(window.begin('a', () => 'f', 1)).toEqual({ kind: 'new' });
    expect(window.begin('c', () => 'f', 1).kind).toBe('done');
  });
});
