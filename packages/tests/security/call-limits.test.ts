import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, type Envelope, RawClient } from '../rpc/harness.js';
import { heapUsedAfterGc } from '../support/heap.js';
import { until } from '../support/wait.js';
import { startTarget } from './fixtures/target.js';

// Findings 2, 7 and 8, and their siblings: what one connection can make the server keep
// through calls and subscriptions is bounded, in count and in bytes.

afterEach(closeAll);

const MiB = 1024 * 1024;

function code(reply: Envelope): unknown {
  return (reply.error as { code?: unknown } | undefined)?.code;
}

/** `[{},{},…]` of about `bytes` characters: small on the wire, ~20× that as objects. */
function emptyObjects(bytes: number): string {
  return `[${'{},'.repeat(Math.floor(bytes / 3) - 1)}{}]`;
}

describe('keyed calls (finding 2)', () => {
  it('keep a hash of their input, never the input: 30 calls of 1 MiB leave the heap as it was', async () => {
    const { url } = await startTarget();
    const client = await RawClient.open(url('ann'));
    const input = emptyObjects(MiB - 200);
    const before = heapUsedAfterGc();
    for (let id = 1; id <= 30; id++) {
      // Never acknowledged: every entry stays in the window.
      client.send(`{"type":"call","id":${id},"name":"sink.any","key":"s.${id}","input":${input}}`);
      expect((await client.reply(id)).output).toBe(1);
    }
    const grown = heapUsedAfterGc() - before;
    // Kept whole, each input would hold ~20 MiB (600 MiB in all).
    expect(grown).toBeLessThan(20 * MiB);
  });

  it('let go of the outcomes the window forgets: a session never acknowledged holds maxSessionBytes, not every outcome', async () => {
    const { url, server } = await startTarget();
    const client = await RawClient.open(url('ann'));
    const before = heapUsedAfterGc();
    for (let id = 1; id <= 40; id++) {
      client.send({ type: 'call', id, name: 'big.result', input: { size: 200_000 }, key: `s.${id}` });
      expect(code(await client.reply(id))).toBeUndefined();
      // This process is the client too: it keeps no reply.
      client.received.length = 0;
      client.texts.length = 0;
    }
    expect(server.metrics().idempotency.bytes).toBeLessThanOrEqual(MiB); // counted at 2 bytes a character
    // 40 outcomes of 200 kB: 8 MB if forgotten ones stayed reachable.
    expect(heapUsedAfterGc() - before).toBeLessThan(2 * MiB);
  });

  it('answer one reply each, also with a key reused for an input nested 200,000 deep', async () => {
    const { url } = await startTarget();
    const client = await RawClient.open(url('ann'));
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    for (const id of [1, 2]) {
      client.send(`{"type":"call","id":${id},"name":"sink.any","key":"k","input":${deep}}`);
      const reply = await client.reply(id);
      expect(reply.output).toBe(1); // the second is the first's outcome: the key hashes any depth
    }
    expect(client.received.filter((envelope) => envelope.id === 1 || envelope.id === 2)).toHaveLength(2);
  });
});

describe('keyed calls and their connection', () => {
  it('do not start, nor leave a session behind, when their connection closed while their input validated', async () => {
    const { url, server, probe } = await startTarget();
    const client = await RawClient.open(url('ann'));
    client.send({ type: 'call', id: 1, name: 'slow.validated', input: { ms: 100 }, key: 'V1StGXR8_Z5jdHi6B.1' });
    client.socket.terminate();
    await until(() => server.metrics().calls.total === 1, 'the call to end');
    expect(probe.runs).toEqual([]);
    expect(server.metrics().idempotency).toMatchObject({ keys: 0, sessions: 0 });
  });

  it('take their ack whatever becomes of the call that carries it', async () => {
    const { url, server } = await startTarget();
    const client = await RawClient.open(url('guest'));
    const key = (n: number) => `V1StGXR8_Z5jdHi6B.${n}`;
    client.send({ type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 }, key: key(1) });
    await client.reply(1);
    // Refused by its handler (a guest asking for the admin's secret), yet its ack counts.
    client.send({ type: 'call', id: 2, name: 'admin.secret', input: { n: 1 }, key: key(2), ack: 1 });
    expect(code(await client.reply(2))).toBe('FORBIDDEN');
    expect(server.metrics().idempotency.keys).toBe(1);
  });
});

describe('re-sends of a running keyed call (finding 7)', () => {
  it('count toward maxInFlightCalls', async () => {
    const { url } = await startTarget({ limits: { maxInFlightCalls: 4 } });
    const client = await RawClient.open(url('ann'));
    const call = (id: number) => ({ type: 'call', id, name: 'slow.whoami', input: { ms: 5_000, tag: 't' }, key: 'k' });
    for (let id = 1; id <= 8; id++) client.send(call(id));
    const refused = await Promise.all([5, 6, 7, 8].map((id) => client.reply(id)));
    expect(refused.map(code)).toEqual([
      'TOO_MANY_REQUESTS',
      'TOO_MANY_REQUESTS',
      'TOO_MANY_REQUESTS',
      'TOO_MANY_REQUESTS',
    ]);
  });

  it('have their own deadline', async () => {
    const { url, server } = await startTarget();
    const client = await RawClient.open(url('ann'));
    client.send({ type: 'call', id: 1, name: 'slow.whoami', input: { ms: 5_000, tag: 't' }, key: 'k' });
    client.send({ type: 'call', id: 2, name: 'slow.whoami', input: { ms: 5_000, tag: 't' }, key: 'k', timeoutMs: 50 });
    expect(code(await client.reply(2))).toBe('TIMEOUT');
    expect(server.metrics().idempotency.waiting).toBe(0);
  });

  it('are dropped with their connection', async () => {
    const { url, server } = await startTarget({ idempotency: { scope: (ctx) => ctx.user } });
    const runner = await RawClient.open(url('ann'));
    runner.send({ type: 'call', id: 1, name: 'slow.whoami', input: { ms: 5_000, tag: 't' }, key: 'k' });
    const waiter = await RawClient.open(url('ann'));
    for (let id = 1; id <= 50; id++) {
      waiter.send({ type: 'call', id, name: 'slow.whoami', input: { ms: 5_000, tag: 't' }, key: 'k' });
    }
    await until(() => server.metrics().idempotency.waiting === 50, '50 waiting re-sends');
    waiter.socket.terminate();
    await until(() => server.metrics().idempotency.waiting === 0, 'the waiters to go with their connection');
  });
});

describe('subscriptions (finding 8)', () => {
  it('still count toward maxSubscriptions while their authorize runs, unsubscribed or not', async () => {
    const { url, probe } = await startTarget({ limits: { maxSubscriptions: 3 } });
    const client = await RawClient.open(url('ann'));
    for (let id = 1; id <= 10; id++) {
      client.send({ type: 'subscribe', id, name: 'room.gated', params: { room: `r${id}` } });
      client.send({ type: 'unsubscribe', id });
    }
    const refused = await Promise.all([4, 5, 6, 7, 8, 9, 10].map((id) => client.reply(id)));
    expect(refused.every((reply) => code(reply) === 'TOO_MANY_REQUESTS')).toBe(true);
    expect(probe.authorizing).toBe(3);
    // Once they end, the slots are free again.
    for (const open of probe.gates.splice(0)) open(true);
    await until(() => probe.authorizing === 0, 'the authorizations to end');
    client.send({ type: 'subscribe', id: 11, name: 'room.gated', params: { room: 'r11' } });
    await until(() => probe.gates.length === 1, 'a new authorization');
  });

  it('get one reply when their snapshot cannot be sent: the error, not subscribed and then an error', async () => {
    const { url } = await startTarget();
    const client = await RawClient.open(url('ann'));
    client.send({ type: 'subscribe', id: 1, name: 'dag.snapshot', params: { depth: 30 } });
    expect(code(await client.reply(1))).toBe('INTERNAL');
    client.send({ type: 'subscribe', id: 2, name: 'dag.snapshot', params: { depth: 2 } });
    await client.next((envelope) => envelope.type === 'snapshot' && envelope.id === 2, 'the small snapshot');
    expect(client.received.filter((envelope) => envelope.id === 1).map((envelope) => envelope.type)).toEqual(['error']);
  });

  it('refuse params too large for a stream key before authorize runs', async () => {
    const { url } = await startTarget();
    const client = await RawClient.open(url('ann'));
    client.send({ type: 'subscribe', id: 1, name: 'room.any', params: { blob: 'x'.repeat(100_000) } });
    const reply = await client.reply(1);
    expect(code(reply)).toBe('BAD_REQUEST');
  });

  it('take limits.maxStreamKeyChars, for subscribers and publishers alike', async () => {
    const { url, server } = await startTarget({ limits: { maxStreamKeyChars: 64 } });
    const client = await RawClient.open(url('ann'));
    client.send({ type: 'subscribe', id: 1, name: 'room.gated', params: { room: 'x'.repeat(60) } });
    expect(code(await client.reply(1))).toBe('BAD_REQUEST');
    await expect(server.publish('room.gated', { room: 'x'.repeat(60) }, { text: 'hi' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await server.publish('room.gated', { room: 'short' }, { text: 'hi' });
  });
});

describe('calls in flight (a sibling of finding 2)', () => {
  it('hold at most maxInFlightBytes of client messages', async () => {
    const { url, probe } = await startTarget({ limits: { maxInFlightBytes: 3 * MiB } });
    const client = await RawClient.open(url('ann'));
    const tag = 'x'.repeat(MiB - 200);
    for (let id = 1; id <= 4; id++) {
      client.send({ type: 'call', id, name: 'slow.whoami', input: { ms: 5_000, tag }, key: `V1StGXR8_Z5jdHi6B.${id}` });
    }
    expect(code(await client.reply(4))).toBe('TOO_MANY_REQUESTS');
    // Refused before it ran: three handlers started, not four, and its key is free for a re-send.
    expect(probe.runs).toHaveLength(3);
    // A small call still goes through: only bytes in flight are bounded.
    client.send({ type: 'call', id: 5, name: 'math.add', input: { a: 1, b: 2 } });
    expect((await client.reply(5)).output).toBe(3);
  });
});
