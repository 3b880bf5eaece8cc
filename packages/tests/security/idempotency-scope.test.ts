import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closeAll, type Envelope, PROTOCOL, RawClient } from '../rpc/harness.js';
import { once, until } from '../support/wait.js';
import { startTarget, type TargetOptions } from './fixtures/target.js';

// Finding 1: idempotency keys were shared by every user. A stored outcome now goes only to
// the caller that produced it: the application's scope (a user id), or without one the
// connection (plain keys) and the connection holding the session (session keys).

afterEach(closeAll);

const byUser = { idempotency: { scope: (ctx: { user: string }) => ctx.user } } satisfies TargetOptions;

async function target(options: TargetOptions = {}) {
  const t = await startTarget(options);
  const open = (user: string) => RawClient.open(t.url(user));
  return { ...t, open };
}

function secretCall(id: number, key: string, n = 1) {
  return { type: 'call', id, name: 'admin.secret', input: { n }, key };
}

async function ask(client: RawClient, call: { id: number; [field: string]: unknown }): Promise<Envelope> {
  client.send(call);
  return client.reply(call.id);
}

function errorCode(reply: Envelope): unknown {
  return (reply.error as { code?: unknown } | undefined)?.code;
}

describe.each([
  ['with idempotency.scope', byUser],
  ['without a scope', {}],
])('a key reused by another user (%s)', (_name, options) => {
  it('runs the call as that user (its own permission check) instead of answering with the stored outcome', async () => {
    const { open, probe } = await target(options);
    const admin = await open('admin');
    const guest = await open('guest');
    for (const key of ['plain-key', 'victim-session.1']) {
      expect((await ask(admin, secretCall(1, key))).output).toBe("the admin's secret #1");
      const stolen = await ask(guest, secretCall(1, key));
      expect(stolen.type).toBe('error');
      expect(errorCode(stolen)).toBe('FORBIDDEN');
      admin.received.length = 0;
      guest.received.length = 0;
    }
    expect(probe.runs).toEqual([
      'admin.secret admin 1',
      'admin.secret guest 1',
      'admin.secret admin 1',
      'admin.secret guest 1',
    ]);
  });

  it('does not reveal through CONFLICT that another user used a key', async () => {
    const { open } = await target(options);
    const admin = await open('admin');
    const guest = await open('guest');
    await ask(admin, secretCall(1, 'k.1', 1));
    const other = await ask(guest, secretCall(2, 'k.1', 2)); // same key, other input
    expect(errorCode(other)).toBe('FORBIDDEN'); // a run of its own, not CONFLICT
  });

  it("ignores another user's ack and claims: the owner's re-send still gets its outcome, its next call runs", async () => {
    const { open, probe } = await target(options);
    const admin = await open('admin');
    const guest = await open('guest');
    expect((await ask(admin, secretCall(1, 'sess.1'))).output).toBe("the admin's secret #1");
    // The guest acknowledges the admin's session and takes its next key first.
    await ask(guest, { ...secretCall(5, 'sess.2', 2), ack: 1 });
    // The admin re-sends call 1 (its answer was lost, say) and makes call 2.
    expect((await ask(admin, secretCall(7, 'sess.1'))).output).toBe("the admin's secret #1");
    expect((await ask(admin, secretCall(8, 'sess.2', 2))).output).toBe("the admin's secret #2");
    expect(probe.runs.filter((run) => run.startsWith('admin.secret admin'))).toEqual([
      'admin.secret admin 1',
      'admin.secret admin 2',
    ]);
  });

  it('keeps the simple keys of two honest clients apart', async () => {
    const { open } = await target(options);
    const ann = await open('ann');
    const bob = await open('bob');
    const sum = (id: number, key: string, a: number) => ({
      type: 'call',
      id,
      name: 'math.add',
      input: { a, b: 0 },
      key,
    });
    expect((await ask(ann, sum(1, '1', 10))).output).toBe(10);
    expect((await ask(bob, sum(1, '1', 20))).output).toBe(20);
    expect((await ask(bob, sum(2, '2', 30))).output).toBe(30);
    expect((await ask(ann, sum(2, '2', 40))).output).toBe(40);
  });
});

describe('a session whose connection is gone', () => {
  it("goes to the same user's next connection at once with a scope, even while the old one seems open", async () => {
    const { open, probe } = await target(byUser);
    const first = await open('ann');
    first.send({ type: 'call', id: 1, name: 'slow.whoami', input: { ms: 200, tag: 't1' }, key: 's.1' });
    await until(() => probe.runs.length === 1, 'the first run');
    const second = await open('ann');
    const reply = await ask(second, {
      type: 'call',
      id: 1,
      name: 'slow.whoami',
      input: { ms: 200, tag: 't1' },
      key: 's.1',
    } as never);
    expect(reply.output).toBe('t1 ran for ann');
    expect(probe.runs).toEqual(['slow.whoami ann t1']);
  });

  it('without a scope, goes to a new connection once the holder is found dead (it answers no ping), and the call runs once', async () => {
    const { url, probe } = await target({ heartbeat: { intervalMs: 60_000, timeoutMs: 300 } });
    // A holder whose link died silently: it never answers pings.
    const silent = new WebSocket(url('ann'), PROTOCOL, { autoPong: false });
    await once(silent, 'open');
    const call = { type: 'call', id: 1, name: 'slow.whoami', input: { ms: 50, tag: 't1' }, key: 'V1StGXR8_Z5jdHi6B.1' };
    silent.send(JSON.stringify(call));
    await until(() => probe.runs.length === 1, 'the first run');
    const closed = once(silent, 'close', 5_000);
    const next = await RawClient.open(url('ann'));
    const reply = await ask(next, call);
    expect(reply.output).toBe('t1 ran for ann');
    await closed; // the server terminated the silent holder
    expect(probe.runs).toEqual(['slow.whoami ann t1']);
  });

  it('reads dotted session names one way: a re-send after a reconnect runs once', async () => {
    const { open, probe } = await target(byUser);
    const first = await open('ann');
    await ask(first, secretCall(2, 'a.b.3', 3)); // session 'a.b', call 3
    first.socket.terminate();
    const second = await open('ann');
    await ask(second, secretCall(1, 'a.1')); // the connection's hint now points at session 'a'
    await ask(second, secretCall(2, 'a.b.3', 3)); // the re-send
    expect(probe.runs.filter((run) => run.endsWith(' 3'))).toEqual(['admin.secret ann 3']);
  });
});
