import { RpcError } from '@switchboard/contract';
import { createTestPair, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { heapUsedAfterGc } from '../support/heap.js';
import { until } from '../support/wait.js';
import { type StreamCtx, StreamProbe, type streamContract, streamRouter } from './fixtures.js';

let pair: TestPair<typeof streamContract, StreamCtx> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

async function open(probe: StreamProbe, server = {}) {
  pair = await createTestPair({ router: streamRouter(probe), clock: false, server });
  return pair;
}

describe('streaming procedures on one connection', () => {
  it('delivers 5,000 chunks in order, then the typed result; the handler runs once', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const stream = client.stream('count', { to: 5_000, tag: 'a' });
    const seen: number[] = [];
    for await (const chunk of stream) seen.push(chunk.n);
    expect(seen).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
    expect(await stream.result).toEqual({ total: 5_000 });
    expect(probe.runs.get('a')).toBe(1);
  });

  it('takes chunks by callback for a UI layer', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const tokens: string[] = [];
    const seqs: number[] = [];
    const stream = client.stream(
      'tokens',
      { text: 'the quick brown fox' },
      {
        onChunk: (token, meta) => {
          tokens.push(token);
          seqs.push(meta.seq);
        },
      },
    );
    expect(await stream.result).toBeUndefined();
    expect(tokens).toEqual(['the', 'quick', 'brown', 'fox']);
    expect(seqs).toEqual([1, 2, 3, 4]);
  });

  it('pauses the generator while the reader does not read: its yield does not resolve', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const stream = client.stream('count', { to: 100_000, tag: 'slow-reader' }, { credit: 8 });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ n: 1 });
    // The handler may make the window (8) and one more for the chunk read, and no more: it then waits for credit.
    await probe.until(() => (probe.produced.get('slow-reader') ?? 0) >= 9, '9 chunks made');
    // Round trips to the server and back: had it gone on, more chunks would be made by now.
    await client.call('plain', {});
    await client.call('plain', {});
    expect(probe.produced.get('slow-reader')).toBe(9);
    // Each chunk read is granted again (in batches): 3 more read, 3 more made.
    for (let i = 0; i < 3; i++) await iterator.next();
    await probe.until(() => (probe.produced.get('slow-reader') ?? 0) >= 12, 'credit granted');
    await client.call('plain', {});
    expect(probe.produced.get('slow-reader')).toBe(12);
    await iterator.return?.();
    await probe.until(() => probe.finished.has('slow-reader'), 'the handler to finish');
    expect(probe.produced.get('slow-reader')).toBe(12);
  });

  it('keeps server memory flat under a slow reader: 20,000 chunks of 1 KiB, the generator paused between reads', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const iterator = client.stream('kib', { tag: 'flat' }, { credit: 16 })[Symbol.asyncIterator]();
    const samples: number[] = [];
    for (let read = 1; read <= 20_000; read++) {
      await iterator.next();
      // The reader is slower than the generator: a turn of the event loop for every chunk.
      await new Promise((resolve) => setImmediate(resolve));
      if (read === 1_000 || read % 5_000 === 0) samples.push(heapUsedAfterGc());
    }
    await iterator.return?.();
    const grewMiB = ((samples.at(-1) as number) - (samples[0] as number)) / 2 ** 20;
    console.log(
      `[streams] heap after 1,000 / 5,000 … 20,000 chunks read slowly: ${samples.map((b) => (b / 2 ** 20).toFixed(1)).join(' / ')} MiB`,
    );
    // 19,000 more chunks went through (≈ 37 MiB as strings): what stays is within a few MiB of noise.
    expect(grewMiB).toBeLessThan(4);
    // The generator never ran ahead of the reader by more than the credit.
    expect(probe.produced.get('flat')).toBeLessThanOrEqual(20_000 + 16 + 1);
  });

  it('never stalls when the server keeps fewer chunks than the client grants (by count, or by bytes)', async () => {
    const probe = new StreamProbe();
    // 256 chunks kept at most, a client window of 1,024: the server waits for the client to say what it has.
    const { client } = await open(probe, { limits: { streamBufferChunks: 256 } });
    let read = 0;
    for await (const _ of client.stream('count', { to: 3_000, tag: 'wide' }, { credit: 1_024, timeoutMs: 5_000 }))
      read++;
    expect(read).toBe(3_000);
  });

  it('never stalls on chunks so large that the byte budget holds only a few', async () => {
    const probe = new StreamProbe();
    // 100 KiB chunks (200 KiB as counted) in a 1 MiB budget: 5 fit, the window is 128.
    const { client } = await open(probe, { limits: { streamBufferBytes: 1024 * 1024 } });
    let read = 0;
    for await (const chunk of client.stream('big', { count: 200, kib: 100 }, { timeoutMs: 5_000 })) {
      expect(chunk.length).toBe(100 * 1024);
      read++;
    }
    expect(read).toBe(200);
  });

  it('stops the handler within 100 ms of a cancel: its signal fires, its finally runs', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const controller = new AbortController();
    const stream = client.stream('slow', { tag: 'c' }, { signal: controller.signal });
    await probe.until(() => probe.runs.has('c'), 'the run to start');
    const cancelledAt = performance.now();
    controller.abort();
    await expect(stream.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await probe.until(() => probe.finished.has('c'), 'the handler to stop');
    const latencyMs = (probe.finished.get('c') as number) - cancelledAt;
    console.log(`[streams] cancel → handler stopped: ${latencyMs.toFixed(2)} ms`);
    expect(latencyMs).toBeLessThan(100);
    expect(probe.aborted.get('c')).toBeInstanceOf(RpcError);
    expect(probe.aborted.get('c')).toMatchObject({ code: 'CANCELLED' });
  });

  it('breaking out of for await cancels the run', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    for await (const chunk of client.stream('count', { to: 1_000_000, tag: 'break' })) {
      if (chunk.n === 10) break;
    }
    await probe.until(() => probe.finished.has('break'), 'the handler to stop');
    expect(probe.aborted.get('break')).toMatchObject({ code: 'CANCELLED' });
  });

  it('ends with INTERNAL when a chunk fails its schema, after the chunks before it', async () => {
    const probe = new StreamProbe();
    const errors: unknown[] = [];
    pair = await createTestPair({
      router: streamRouter(probe),
      clock: false,
      server: { onError: (error: unknown) => errors.push(error) },
    });
    const seen: number[] = [];
    const stream = pair.client.stream('bad', { at: 4 });
    await expect(
      (async () => {
        for await (const n of stream) seen.push(n);
      })(),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(seen).toEqual([1, 2, 3]);
    expect(String(errors[0])).toMatch(/chunk of procedure 'bad' fails its schema/);
    // The generator, paused at its bad `yield`, is ended: its finally runs, its signal aborted.
    await probe.until(() => probe.finished.has('bad'), 'the handler to end');
    expect(probe.aborted.get('bad')).toMatchObject({ code: 'INTERNAL' });
  });

  it('stops the server handlers when the client closes', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const stream = client.stream('slow', { tag: 'closing' });
    await probe.until(() => probe.runs.has('closing'), 'the run to start');
    await client.close();
    await expect(stream.result).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await probe.until(() => probe.finished.has('closing'), 'the handler to stop');
    expect(probe.aborted.get('closing')).toMatchObject({ code: 'CANCELLED' });
  });

  it('sends nothing for an already aborted signal', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const stream = client.stream('count', { to: 5, tag: 'pre-aborted' }, { signal: AbortSignal.abort() });
    await expect(stream.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await client.call('plain', {}); // a round trip: a stream sent would have started by now
    expect(probe.runs.has('pre-aborted')).toBe(false);
  });

  it('goes on when onChunk throws: the error is reported, every chunk still delivered', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const thrown: unknown[] = [];
    const onUncaught = (error: unknown) => thrown.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const seqs: number[] = [];
      const stream = client.stream(
        'count',
        { to: 300, tag: 'throws' },
        {
          onChunk: (_chunk, { seq }) => {
            seqs.push(seq);
            if (seq % 100 === 0) throw new Error(`ui bug at ${seq}`);
          },
        },
      );
      expect(await stream.result).toEqual({ total: 300 });
      expect(seqs).toHaveLength(300);
      await until(() => thrown.length === 3, 'the three errors to be reported');
      expect(thrown.map(String)).toEqual(['Error: ui bug at 100', 'Error: ui bug at 200', 'Error: ui bug at 300']);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('refuses call() of a streaming procedure and stream() of a plain one', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    await expect(client.call('count' as never, { to: 1 } as never)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const wrong = client.stream('plain' as never, {} as never);
    await expect((wrong as { result: Promise<unknown> }).result).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('refuses invalid input with BAD_REQUEST before the handler runs', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe);
    const stream = client.stream('count', { to: -1, tag: 'invalid' });
    await expect(stream.result).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(probe.runs.has('invalid')).toBe(false);
  });

  it('refuses more than maxStreams per connection with TOO_MANY_REQUESTS', async () => {
    const probe = new StreamProbe();
    const { client } = await open(probe, { limits: { maxStreams: 2 } });
    const a = client.stream('slow', { tag: 'm1' });
    const b = client.stream('slow', { tag: 'm2' });
    const c = client.stream('slow', { tag: 'm3' });
    await expect(c.result).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    a.cancel();
    b.cancel();
  });
});
