import { createServer } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, RawClient } from '../rpc/harness.js';
import { StreamProbe, streamRouter } from './fixtures.js';

// Streams as a hostile client drives them: raw envelopes over `ws`.

afterEach(closeAll);

async function start(limits = {}, users = false) {
  const probe = new StreamProbe();
  const server = createServer({
    router: streamRouter(probe, users),
    heartbeat: false,
    limits,
    ...(users ? { idempotency: { scope: (ctx: unknown) => (ctx as { user: string }).user } } : {}),
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const url = `ws://127.0.0.1:${port}`;
  const connect = async (user?: string) => {
    const raw = await RawClient.open(url);
    raw.send({ type: 'auth', id: 0, data: user === undefined ? undefined : { user } });
    await raw.next((e) => e.type === 'authenticated', 'authenticated');
    return raw;
  };
  return { probe, server, connect, close: () => server.close() };
}

const chunksOf = (raw: RawClient, id: number) =>
  raw.received.filter((e) => e.type === 'chunk' && e.id === id).map((e) => e.seq as number);

describe('stream envelopes from a hostile client', () => {
  it('refuses malformed stream and credit envelopes with BAD_REQUEST, the connection staying', async () => {
    const { connect, close } = await start();
    const raw = await connect();
    const bad = [
      { type: 'stream', id: 1, name: 'count', input: { to: 1 }, credit: 4 }, // no key
      { type: 'stream', id: 2, name: 'count', input: { to: 1 }, key: 'k', credit: -1 },
      { type: 'stream', id: 3, name: 'count', input: { to: 1 }, key: 'k', credit: 4, after: 1.5 },
      { type: 'stream', id: 4, name: 'count', input: { to: 1 }, key: 'x'.repeat(129), credit: 4 },
      { type: 'credit', id: 5, n: 'many', read: 0 },
      { type: 'stream', id: 6, name: 'plain', input: {}, key: 'k6', credit: 4 },
      { type: 'stream', id: 7, name: 'nope', input: {}, key: 'k7', credit: 4 },
    ];
    for (const envelope of bad) raw.send(envelope);
    const codes = [];
    for (const { id } of bad) codes.push(((await raw.reply(id)).error as { code: string }).code);
    expect(codes).toEqual([
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'NOT_FOUND',
    ]);
    raw.send({ type: 'stream', id: 8, name: 'tokens', input: { text: 'still here' }, key: 'k8', credit: 4 });
    expect(await raw.next((e) => e.type === 'end' && e.id === 8, 'the end')).toMatchObject({ seq: 2 });
    await close();
  });

  it('pauses a run at streamBufferChunks however much credit a client grants without reading', async () => {
    const { probe, connect, close } = await start({ streamBufferChunks: 32 });
    const raw = await connect();
    raw.send({
      type: 'stream',
      id: 1,
      name: 'count',
      input: { to: 1_000_000, tag: 'greedy' },
      key: 'g.1',
      credit: 1e9,
    });
    await probe.until(() => (probe.produced.get('greedy') ?? 0) >= 32, '32 chunks');
    // Round trips: had the run gone on, it would have made more by now.
    for (let i = 2; i < 6; i++) {
      raw.send({ type: 'stream', id: i, name: 'tokens', input: { text: 'a' }, key: `g.${i}`, credit: 2 });
      await raw.next((e) => e.type === 'end' && e.id === i, 'a round trip');
    }
    expect(probe.produced.get('greedy')).toBe(32);
    // Saying it has them frees room: the run goes on by as many.
    raw.send({ type: 'credit', id: 1, n: 0, read: 16 });
    await probe.until(() => (probe.produced.get('greedy') ?? 0) >= 48, '16 more');
    await close();
  });

  it("holds one connection's kept chunks within streamBufferBytes, across its streams", async () => {
    const { probe, connect, close } = await start({ streamBufferBytes: 64 * 1024 });
    const raw = await connect();
    for (const id of [1, 2, 3]) {
      raw.send({ type: 'stream', id, name: 'kib', input: { tag: `b${id}` }, key: `b.${id}`, credit: 10_000 });
    }
    const made = () => ['b1', 'b2', 'b3'].reduce((sum, tag) => sum + (probe.produced.get(tag) ?? 0), 0);
    // Each chunk counts ~2 KiB (its text, 2 bytes a character): about 32 fit, with one over per run.
    await probe.until(() => made() >= 30, 'the budget to fill');
    // Another stream still runs: one with nothing kept may always make a chunk; read, it may go on.
    for (let i = 10; i < 14; i++) {
      raw.send({ type: 'stream', id: i, name: 'tokens', input: { text: 'a' }, key: `b.${i}`, credit: 2 });
      await raw.next((e) => e.type === 'chunk' && e.id === i, 'a chunk');
      raw.send({ type: 'credit', id: i, n: 1, read: 1 });
      await raw.next((e) => e.type === 'end' && e.id === i, 'a round trip');
    }
    expect(made()).toBeLessThanOrEqual(32 + 3 + 3);
    await close();
  });

  it('answers CONFLICT to a key re-sent with another input, and STREAM_LOST to a resume of a run it never had', async () => {
    const { connect, close } = await start();
    const raw = await connect();
    raw.send({ type: 'stream', id: 1, name: 'count', input: { to: 1_000, tag: 'c' }, key: 'c.1', credit: 2 });
    await raw.next((e) => e.type === 'chunk' && e.id === 1 && e.seq === 2, 'two chunks');
    const other = await connect();
    other.send({ type: 'stream', id: 1, name: 'count', input: { to: 5, tag: 'c' }, key: 'c.1', credit: 2 });
    expect(await other.reply(1)).toMatchObject({ type: 'error', error: { code: 'CONFLICT' } });
    other.send({ type: 'stream', id: 2, name: 'count', input: { to: 5 }, key: 'never.1', credit: 2, after: 3 });
    expect(await other.reply(2)).toMatchObject({
      type: 'error',
      error: { code: 'STREAM_LOST', data: { reason: 'expired', after: 3 } },
    });
    await close();
  });

  it("keeps a user's runs to that user: another user's resume with the same key does not reach them", async () => {
    const { probe, connect, close } = await start({}, true);
    const ada = await connect('ada');
    ada.send({ type: 'stream', id: 1, name: 'count', input: { to: 1_000, tag: 'ada' }, key: 's.1', credit: 4 });
    await raw4(ada);
    const eve = await connect('eve');
    eve.send({
      type: 'stream',
      id: 1,
      name: 'count',
      input: { to: 1_000, tag: 'ada' },
      key: 's.1',
      credit: 4,
      after: 2,
    });
    expect(await eve.reply(1)).toMatchObject({ type: 'error', error: { code: 'STREAM_LOST' } });
    // Ada's run is hers still: it goes on on her connection.
    ada.send({ type: 'credit', id: 1, n: 4, read: 4 });
    await ada.next((e) => e.type === 'chunk' && e.id === 1 && e.seq === 8, 'ada gets more');
    expect(chunksOf(eve, 1)).toEqual([]);
    expect(probe.runs.get('ada')).toBe(1);
    await close();
  });

  it('moves a run to the connection that resumes it: the old one (half-open, say) gets no more', async () => {
    const { connect, close } = await start();
    const first = await connect();
    first.send({ type: 'stream', id: 7, name: 'count', input: { to: 100, tag: 'm' }, key: 'm.7', credit: 4 });
    await raw4(first, 7);
    const second = await connect();
    second.send({
      type: 'stream',
      id: 7,
      name: 'count',
      input: { to: 100, tag: 'm' },
      key: 'm.7',
      credit: 200,
      after: 4,
    });
    const end = await second.next((e) => e.type === 'end' && e.id === 7, 'the end on the new connection');
    expect(end).toMatchObject({ seq: 100, output: { total: 100 } });
    expect(chunksOf(second, 7)).toEqual(Array.from({ length: 96 }, (_, i) => i + 5));
    expect(chunksOf(first, 7)).toEqual([1, 2, 3, 4]);
    await close();
  });
});

describe('a run nobody resumes', () => {
  it('is stopped after streamIdleMs; a late re-send of its key gets STREAM_LOST, never a second run', async () => {
    const { probe, connect, close } = await start({ streamIdleMs: 50 });
    const first = await connect();
    first.send({ type: 'stream', id: 1, name: 'count', input: { to: 1_000, tag: 'late' }, key: 'late.1', credit: 4 });
    await raw4(first);
    first.socket.terminate();
    await probe.until(() => probe.finished.has('late'), 'the abandoned run to stop');
    expect(probe.aborted.get('late')).toMatchObject({ code: 'UNAVAILABLE' });
    const again = await connect();
    again.send({ type: 'stream', id: 1, name: 'count', input: { to: 1_000, tag: 'late' }, key: 'late.1', credit: 4 });
    expect(await again.reply(1)).toMatchObject({ type: 'error', error: { code: 'STREAM_LOST' } });
    expect(probe.runs.get('late')).toBe(1);
    await close();
  });
});

describe("the process's bound on what closed connections' streams keep", () => {
  it('stops the oldest waiting runs once they keep more than streamDetachedBytes, long before streamIdleMs', async () => {
    const { probe, server, connect, close } = await start({ streamDetachedBytes: 100 * 1024, streamIdleMs: 60_000 });
    for (const tag of ['d1', 'd2', 'd3']) {
      const raw = await connect();
      // ~2 KiB per chunk as counted (1 KiB strings), 40 of them made and kept: ~80 KiB per run.
      raw.send({ type: 'stream', id: 1, name: 'kib', input: { tag }, key: `${tag}.1`, credit: 40 });
      await probe.until(() => (probe.produced.get(tag) ?? 0) >= 40, `${tag} to fill its credit`);
      raw.socket.terminate();
    }
    // Two runs of ~80 KiB are over 100 KiB: the oldest go, the newest waits for its resume.
    await probe.until(() => probe.aborted.has('d1') && probe.aborted.has('d2'), 'the oldest runs to be stopped');
    expect(probe.aborted.get('d1')).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/streamDetachedBytes/),
    });
    expect(probe.aborted.has('d3')).toBe(false);
    expect(server.metrics().streams.runs).toBe(1);
    await close();
  });
});

/** Waits for chunks 1–4 of stream `id`. */
function raw4(raw: RawClient, id = 1) {
  return raw.next((e) => e.type === 'chunk' && e.id === id && e.seq === 4, 'four chunks');
}
