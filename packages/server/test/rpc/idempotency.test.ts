import { describe, expect, it } from 'vitest';
import { callHash } from '../../src/rpc/fingerprint.js';
import {
  type Claim,
  ENTRY_BYTES,
  type Holder,
  IdempotencyWindow,
  type KeyEntry,
  NOT_KEPT,
  type WindowLimits,
} from '../../src/rpc/idempotency.js';
import { type Outcome, resultOutcome } from '../../src/rpc/outcome.js';

const ok = (output: unknown): Outcome => resultOutcome(output, undefined);

const LIMITS: WindowLimits = {
  maxKeys: 100,
  maxSessionBytes: 1024 * 1024,
  maxSessions: 100,
  maxBytes: 64 * 1024 * 1024,
  maxSessionsPerConnection: 4,
  ttlMs: 60_000,
};

let ids = 0;

/** A connection as the window sees it; `open` can be switched off as a close would. */
function holder(scope?: string): Holder & { open: boolean } {
  return { scope, id: ++ids, open: true, sessions: 0, probe: async () => true };
}

function windowOf(limits: Partial<WindowLimits> = {}): IdempotencyWindow {
  return new IdempotencyWindow({ ...LIMITS, ...limits });
}

const hash = (input: unknown) => callHash('f', input, undefined);

/** Claims and, when new, finishes with `output`: the claim's state. */
function run(window: IdempotencyWindow, key: string, who: Holder, output: unknown, nowMs = 0): Claim['state'] {
  const claim = window.claim(key, hash(key), who, nowMs);
  if (claim.state === 'new') window.finish(claim.entry, ok(output), nowMs);
  return claim.state;
}

function stored(claim: Claim): Outcome | undefined {
  return claim.state === 'repeat' ? claim.entry.outcome : undefined;
}

function entryOf(claim: Claim): KeyEntry {
  if (claim.state !== 'new') throw new Error(`expected a new claim, got ${claim.state}`);
  return claim.entry;
}

describe('IdempotencyWindow', () => {
  it('runs a new key, then answers a repeat with the stored outcome', () => {
    const window = windowOf();
    const a = holder();
    const entry = entryOf(window.claim('k', hash(1), a, 0));
    window.finish(entry, ok(3), 10);
    expect(stored(window.claim('k', hash(1), a, 20))).toEqual(ok(3));
  });

  it('has(): tells a repeat (kept or running, from another connection of the scope) from a new call, and changes nothing', () => {
    const window = windowOf();
    const first = holder('u1');
    const second = holder('u1');
    const stranger = holder('u2');
    run(window, 'session-name.1', first, 'one');
    const running = entryOf(window.claim('plain', hash('plain'), first, 0));
    expect(window.has('session-name.1', second, 1)).toBe(true); // after a reconnect, same scope
    expect(window.has('session-name.1', stranger, 1)).toBe(false);
    expect(window.has('session-name.2', second, 1)).toBe(false);
    expect(window.has('plain', first, 1)).toBe(true);
    expect(window.has('plain', second, 1)).toBe(true); // a scope's plain keys are the scope's
    expect(window.has('other', first, 1)).toBe(false);
    const unscoped = holder();
    run(window, 'mine', unscoped, 'x');
    expect(window.has('mine', unscoped, 1)).toBe(true);
    expect(window.has('mine', holder(), 1)).toBe(false); // without a scope, plain keys are their connection's
    // A peek: the session stayed with its holder, and a claim still finds the repeat.
    expect([first.sessions, second.sessions]).toEqual([2, 0]);
    window.finish(running, ok('p'), 2);
    expect(stored(window.claim('session-name.1', hash('session-name.1'), second, 3))).toEqual(ok('one'));
  });

  it('lets a repeat of a running call wait for its outcome, and stop waiting', () => {
    const window = windowOf();
    const a = holder();
    const running = entryOf(window.claim('k', hash(1), a, 0));
    const repeat = window.claim('k', hash(1), a, 1);
    expect(repeat).toEqual({ state: 'repeat', entry: running });
    const seen: string[] = [];
    const first = (outcome: Outcome) => seen.push(`first ${outcome.body}`);
    const second = (outcome: Outcome) => seen.push(`second ${outcome.body}`);
    window.wait(running, first);
    window.wait(running, second);
    window.unwait(running, second); // its call ended (deadline, cancel, connection closed)
    window.finish(running, ok('late'), 2);
    expect(seen).toEqual(['first ,"output":"late"}']);
  });

  it('tells a reused key with another call from a repeat', () => {
    const window = windowOf();
    const a = holder();
    window.claim('k', callHash('add', { a: 1 }, undefined), a, 0);
    expect(window.claim('k', callHash('add', { a: 2 }, undefined), a, 1).state).toBe('conflict');
    expect(window.claim('k', callHash('sub', { a: 1 }, undefined), a, 1).state).toBe('conflict');
    expect(window.claim('k', callHash('add', { a: 1 }, undefined), a, 1).state).toBe('repeat');
  });

  it('forgets outcomes of plain keys after ttlMs: a repeat then runs again', () => {
    const window = windowOf({ ttlMs: 100 });
    const a = holder();
    run(window, 'k', a, 1, 0);
    expect(window.claim('k', hash('k'), a, 99).state).toBe('repeat');
    expect(window.claim('k', hash('k'), a, 100).state).toBe('new');
  });

  it('lets go of plain keys ttlMs after their call ended, not only when they are asked for', () => {
    const window = windowOf({ ttlMs: 5_000 });
    const a = holder();
    run(window, 'old', a, 'x', 0);
    run(window, 'new', a, 'x', 4_000);
    run(window, 'other', a, 'x', 6_000); // a claim after ttlMs sweeps
    expect(window.size).toBe(2);
    expect(window.claim('new', hash('new'), a, 6_000).state).toBe('repeat');
  });

  it("keeps at most maxKeys of a caller's plain keys, evicting the oldest", () => {
    const window = windowOf({ maxKeys: 2 });
    const a = holder();
    for (const key of ['a', 'b', 'c']) run(window, key, a, key);
    expect(window.size).toBe(2);
    expect(window.claim('a', hash('a'), a, 1).state).toBe('new');
    expect(stored(window.claim('c', hash('c'), a, 1))).toEqual(ok('c'));
  });

  it('stays bounded through many more keys than it holds', () => {
    const window = windowOf({ maxKeys: 100 });
    const a = holder();
    for (let i = 0; i < 10_000; i++) run(window, `k${i}`, a, i, i);
    expect(window.size).toBe(100);
    expect(stored(window.claim('k9999', hash('k9999'), a, 10_000))).toEqual(ok(9999));
  });

  describe('whose keys they are', () => {
    it('never answers one scope with the outcome another scope stored under the same key', () => {
      const window = windowOf();
      const admin = holder('admin');
      const guest = holder('guest');
      run(window, 'session.1', admin, 'secret');
      run(window, '1', admin, 'secret');
      // The guest's call with the admin's keys is a new call of its own: it runs.
      expect(window.claim('session.1', hash('session.1'), guest, 1).state).toBe('new');
      expect(window.claim('1', hash('1'), guest, 1).state).toBe('new');
      // Another key for the same input tells nothing either: no conflict across scopes.
      expect(window.claim('session.2', hash('other'), guest, 1).state).toBe('new');
      expect(stored(window.claim('session.1', hash('session.1'), admin, 2))).toEqual(ok('secret'));
    });

    it("ignores an ack from another scope: the owner's re-sent call still gets its outcome", () => {
      const window = windowOf();
      const owner = holder('u1');
      const other = holder('u2');
      run(window, 's.1', owner, 'mine');
      window.release('s.9', 5, other, 1);
      expect(stored(window.claim('s.1', hash('s.1'), owner, 2))).toEqual(ok('mine'));
    });

    it('lets a session follow its scope to another connection at once', () => {
      const window = windowOf();
      const first = holder('u1');
      const second = holder('u1');
      run(window, 's.1', first, 'one'); // first is still open: a half-open link
      expect(stored(window.claim('s.1', hash('s.1'), second, 1))).toEqual(ok('one'));
      expect(first.sessions).toBe(0);
      expect(second.sessions).toBe(1);
    });

    it('without a scope, keeps plain keys per connection', () => {
      const window = windowOf();
      const a = holder();
      const b = holder();
      run(window, '1', a, 'a');
      expect(window.claim('1', hash('1'), b, 1).state).toBe('new');
      a.open = false;
      expect(window.claim('1', hash('1'), b, 1).state).toBe('repeat'); // b's own, just made
      expect(stored(window.claim('1', hash('1'), a, 1))).toEqual(ok('a'));
    });

    it('without a scope, hands a session to another connection only once its holder is gone', () => {
      const window = windowOf();
      const a = holder();
      const b = holder();
      const key = (n: number) => `V1StGXR8_Z5jdHi6B.${n}`; // a session name that is hard to guess
      run(window, key(1), a, 'a');
      expect(window.claim(key(1), hash(key(1)), b, 1)).toEqual({ state: 'held', holder: a });
      expect(window.claim(key(2), hash(key(2)), b, 1)).toEqual({ state: 'held', holder: a });
      window.release(key(2), 1, b, 1); // not b's: no effect
      a.open = false;
      expect(stored(window.claim(key(1), hash(key(1)), b, 2))).toEqual(ok('a'));
      expect([a.sessions, b.sessions]).toEqual([0, 1]);
      // Now b holds it: a (were it to come back) is the stranger.
      a.open = true;
      expect(window.claim(key(1), hash(key(1)), a, 3)).toEqual({ state: 'held', holder: b });
    });

    it('without a scope, keeps keys of a short session name with their connection, like any other key', () => {
      const window = windowOf();
      const a = holder();
      const b = holder();
      run(window, 'sess.1', a, 'a');
      a.open = false;
      expect(window.claim('sess.1', hash('sess.1'), b, 1).state).toBe('new');
    });

    it("forgets a closed connection's own keys at once, and never holds the connection", () => {
      const window = windowOf();
      const a = holder();
      run(window, 'k', a, 'a');
      run(window, 'V1StGXR8_Z5jdHi6B.1', a, 'a');
      expect(window.size).toBe(2);
      a.open = false;
      window.leave(a);
      expect(window.size).toBe(1); // the session stays, for the client's next connection
    });

    it('keeps scopes apart whatever characters they hold', () => {
      const window = windowOf();
      const victim = holder('admin\nb');
      const other = holder('admin');
      run(window, 'c.1', victim, 'secret');
      expect(window.claim('b\nc.1', hash('c.1'), other, 1).state).toBe('new');
    });

    it('reads the session of a dotted name the same way whatever came before on the connection', () => {
      const window = windowOf();
      const a = holder('u');
      const hint = { session: undefined };
      run(window, 'a.1', a, 'a.1', 0);
      const first = window.claim('a.b.3', hash('a.b.3'), a, 0, hint);
      window.finish(entryOf(first), ok('a.b.3'), 0);
      // Another connection of the scope (no hint, or another hint) finds the same entry.
      const b = holder('u');
      expect(stored(window.claim('a.b.3', hash('a.b.3'), b, 1))).toEqual(ok('a.b.3'));
      expect(stored(window.claim('a.b.3', hash('a.b.3'), a, 1, { session: undefined }))).toEqual(ok('a.b.3'));
    });

    it('refuses a connection one more session than it may hold', () => {
      const window = windowOf({ maxSessionsPerConnection: 2 });
      const a = holder('u');
      run(window, 's1.1', a, 1);
      run(window, 's2.1', a, 1);
      const refused = window.claim('s3.1', hash('s3.1'), a, 0);
      expect(refused.state).toBe('refused');
      expect(refused.state === 'refused' && refused.error.code).toBe('TOO_MANY_REQUESTS');
    });
  });

  describe('bounds in bytes', () => {
    it('keeps only a hash of the input, and outcomes as text, counted in bytes', () => {
      const window = windowOf();
      const a = holder('u');
      const entry = entryOf(window.claim('s.1', callHash('f', { big: 'x'.repeat(100_000) }, undefined), a, 0));
      expect(window.bytes).toBe(ENTRY_BYTES);
      window.finish(entry, ok('yes'), 0);
      expect(window.bytes).toBe(ENTRY_BYTES + ok('yes').body.length * 2);
      window.release('s.2', 1, a, 1);
      expect([window.size, window.bytes]).toEqual([0, 0]);
    });

    it('does not keep an outcome too large for its session, and says so to a re-send', () => {
      const window = windowOf({ maxSessionBytes: 10_000 });
      const a = holder('u');
      run(window, 's.1', a, 'x'.repeat(6_000));
      expect(stored(window.claim('s.1', hash('s.1'), a, 1))).toBe(NOT_KEPT);
      expect(window.bytes).toBe(ENTRY_BYTES + NOT_KEPT.body.length * 2);
    });

    it('keeps a session within maxSessionBytes, dropping its oldest outcomes', () => {
      const window = windowOf({ maxSessionBytes: 4_000 });
      const a = holder('u');
      for (let id = 1; id <= 20; id++) run(window, `s.${id}`, a, 'x'.repeat(400));
      expect(window.bytes).toBeLessThanOrEqual(4_000);
      expect(window.claim('s.1', hash('s.1'), a, 1).state).toBe('new');
      expect(window.claim('s.20', hash('s.20'), a, 1).state).toBe('repeat');
    });

    it('past maxBytes in all, drops the least recently used session', () => {
      const window = windowOf({ maxSessionBytes: 6_000, maxBytes: 6_000 });
      const [a, b, c] = [holder('a'), holder('b'), holder('c')];
      run(window, 'a.1', a, 'x'.repeat(1_000), 0); // ~2.2 kB each
      run(window, 'b.1', b, 'x'.repeat(1_000), 1);
      run(window, 'a.2', a, 'x', 2); // a used again: b is now the least recent
      run(window, 'c.1', c, 'x'.repeat(1_000), 3);
      expect(window.bytes).toBeLessThanOrEqual(6_000);
      expect(window.claim('b.1', hash('b.1'), b, 4).state).toBe('new');
      expect(window.claim('a.1', hash('a.1'), a, 4).state).toBe('repeat');
      expect(b.sessions).toBe(1); // its old session went, the new one is charged
    });

    it('past maxSessions, drops the least recently used one', () => {
      const window = windowOf({ maxSessions: 2 });
      const [a, b, c] = [holder('a'), holder('b'), holder('c')];
      run(window, 'a.1', a, 1, 0);
      run(window, 'b.1', b, 1, 1);
      run(window, 'c.1', c, 1, 2);
      expect(window.sessionCount).toBe(2);
      expect(a.sessions).toBe(0);
      expect(window.claim('b.1', hash('b.1'), b, 3).state).toBe('repeat');
    });
  });

  describe('session keys (<session>.<call id>)', () => {
    it('forgets outcomes the client acknowledged, keeps the rest, and refuses an acknowledged call', () => {
      const window = windowOf();
      const a = holder('u');
      for (const id of [1, 2, 3]) run(window, `s.${id}`, a, id);
      window.release('s.4', 2, a, 1);
      expect(window.size).toBe(1);
      expect(stored(window.claim('s.3', hash('s.3'), a, 2))).toEqual(ok(3));
      expect(window.claim('s.1', hash('s.1'), a, 2).state).toBe('acknowledged');
    });

    it('forgets a call acknowledged while it still runs (the client will not ask again)', () => {
      const window = windowOf();
      const a = holder('u');
      const running = entryOf(window.claim('s.1', hash('s.1'), a, 0));
      window.release('s.2', 1, a, 1); // the client gave up on call 1 (a timeout)
      expect(window.size).toBe(1); // still running: forgotten when it ends
      window.finish(running, ok(1), 3);
      expect([window.size, window.bytes]).toEqual([0, 0]);
    });

    it('finds a repeat wherever it sits, also after a call that arrived out of order', () => {
      const window = windowOf();
      const a = holder('u');
      const hint = { session: undefined };
      for (const id of [1, 2, 5, 3]) {
        const claim = window.claim(`s.${id}`, hash(id), a, 0, hint);
        window.finish(entryOf(claim), ok(id), 0);
      }
      for (const id of [1, 2, 3, 5]) expect(stored(window.claim(`s.${id}`, hash(id), a, 1, hint))).toEqual(ok(id));
      expect(window.claim('s.4', hash(4), a, 1, hint).state).toBe('new');
      window.release('s.6', 3, a, 2, hint);
      expect(window.size).toBe(2); // 4 and 5
    });

    it('does not mix sessions, and ignores an ack that goes backwards', () => {
      const window = windowOf();
      const a = holder('u');
      for (const key of ['a.1', 'b.1']) run(window, key, a, key);
      window.release('a.2', 1, a, 1);
      window.release('a.2', 0, a, 1);
      expect(stored(window.claim('b.1', hash('b.1'), a, 2))).toEqual(ok('b.1'));
      expect(window.size).toBe(1);
    });

    it('drops a session silent for ttlMs, and bounds one that never acknowledges', () => {
      const window = windowOf({ maxKeys: 3, ttlMs: 1_000 });
      const a = holder('u');
      for (let id = 1; id <= 5; id++) run(window, `s.${id}`, a, id);
      expect(window.size).toBe(3); // the oldest two were pushed out
      expect(stored(window.claim('s.5', hash('s.5'), a, 1))).toEqual(ok(5));
      run(window, 'other', a, 0, 2_000); // a later claim sweeps
      expect(window.size).toBe(1);
      expect(a.sessions).toBe(1);
    });
  });
});
