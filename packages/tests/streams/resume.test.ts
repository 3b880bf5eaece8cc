import { createTestPair, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../support/seeded-random.js';
import { until } from '../support/wait.js';
import { type StreamCtx, StreamProbe, type streamContract, streamRouter } from './fixtures.js';

let pair: TestPair<typeof streamContract, StreamCtx> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** Reconnects at once: the test is about what crosses the cut, not about backoff. */
const QUICK = { reconnect: { initialDelayMs: 1, maxDelayMs: 5 } };

describe('a stream across link cuts (one process)', () => {
  it('delivers a 5,000-chunk stream through 20 seeded cuts: every chunk once, in order; the handler ran once', async () => {
    const probe = new StreamProbe();
    pair = await createTestPair({ router: streamRouter(probe), clock: false, client: QUICK });
    const { client, link } = pair;
    const random = seededRandom(15);
    const cuts = new Set<number>();
    while (cuts.size < 20) cuts.add(1 + Math.floor(random() * 4_999));
    const received: number[] = [];
    let reconnects = 0;
    client.on('state', (state) => {
      if (state === 'open') reconnects++;
    });
    const stream = client.stream('count', { to: 5_000, tag: 'cuts' });
    for await (const { n } of stream) {
      received.push(n);
      if (cuts.has(n)) {
        // Each cut on a live connection (the reader may be ahead of the reconnect, on chunks it has).
        await pair.whenState('open');
        link.cut();
        await pair.whenState('reconnecting');
        link.restore();
      }
    }
    expect(await stream.result).toEqual({ total: 5_000 });
    const duplicated = received.length - new Set(received).size;
    const lost = 5_000 - new Set(received).size;
    const inOrder = received.every((n, i) => n === i + 1);
    console.log(
      `[streams] 5,000 chunks, 20 cuts: received ${received.length}, duplicated ${duplicated}, lost ${lost}, ` +
        `in order ${inOrder}, reconnects ${reconnects}, handler runs ${probe.runs.get('cuts')}`,
    );
    expect({ duplicated, lost, inOrder }).toEqual({ duplicated: 0, lost: 0, inOrder: true });
    expect(reconnects).toBe(20);
    expect(probe.runs.get('cuts')).toBe(1);
    expect(pair.server.metrics().connections).toBe(1);
    // The client acknowledged the end: the server holds nothing of the run.
    await until(() => pair?.server.metrics().streams.runs === 0, 'the run to be released');
  });

  it('keeps the run going without its connection: a resume gets what was made meanwhile', async () => {
    const probe = new StreamProbe();
    pair = await createTestPair({ router: streamRouter(probe), clock: false, client: QUICK });
    const { client, link } = pair;
    const iterator = client.stream('count', { to: 100, tag: 'offline' }, { credit: 16 })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ n: 1 });
    link.cut();
    await pair.whenState('reconnecting');
    // Cut off, the handler still fills its credit (16, of which the client read 1).
    await probe.until(() => (probe.produced.get('offline') ?? 0) >= 16, 'the run to go on');
    link.restore();
    const rest: number[] = [];
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) rest.push(step.value.n);
    expect(rest).toEqual(Array.from({ length: 99 }, (_, i) => i + 2));
    expect(probe.runs.get('offline')).toBe(1);
  });

  it('stops a run nobody resumes after streamIdleMs, and frees it', async () => {
    const probe = new StreamProbe();
    pair = await createTestPair({
      router: streamRouter(probe),
      client: { reconnect: false },
      server: { limits: { streamIdleMs: 5_000 } },
    });
    const { client, link, clock } = pair;
    const stream = client.stream('count', { to: 1_000_000, tag: 'idle' }, { credit: 4 });
    const failed = stream.result.catch((error: unknown) => error);
    await probe.until(() => (probe.produced.get('idle') ?? 0) >= 4, 'the run to start');
    link.cut();
    await clock.advance(4_999);
    expect(probe.finished.has('idle')).toBe(false);
    await clock.advance(1);
    await probe.until(() => probe.finished.has('idle'), 'the idle run to stop');
    expect(probe.aborted.get('idle')).toMatchObject({ code: 'UNAVAILABLE' });
    expect(await failed).toMatchObject({ code: 'UNAVAILABLE' });
    expect(pair.server.metrics().streams.runs).toBe(0);
  });
});
