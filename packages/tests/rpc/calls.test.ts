import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Rich } from './fixtures/contract.js';
import { closeAll, connectClient, settle, startServer, whenOpen } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

describe('calls over a real server', () => {
  it('adds two numbers through a dotted procedure name', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    await expect(client.call('math.add', { a: 2, b: 40 })).resolves.toBe(42);
    expect(probe.handled).toEqual(['math.add']);
  });

  it('correlates 2,000 concurrent calls that complete out of order', async () => {
    const { url, probe } = await startServer({ limits: { maxInFlightCalls: 2_500 } });
    const client = connectClient(url);
    // The client queues at most 1,000 requests before the socket opens.
    await whenOpen(client);
    const count = 2_000;
    const results = await Promise.all(
      Array.from({ length: count }, (_, n) => client.call('util.echo', { n, delayMs: (n * 7919) % 23 })),
    );
    expect(results).toEqual(Array.from({ length: count }, (_, n) => ({ n })));
    expect(probe.handled.filter((name) => name === 'util.echo')).toHaveLength(count);
  });

  it('round-trips Date, Map, Set, BigInt and undefined both ways', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const input: Rich = {
      when: new Date('2024-02-29T12:34:56.789Z'),
      counts: new Map([
        ['a', 1n],
        ['b', 2n ** 70n],
      ]),
      tags: new Set(['x', 'y']),
      big: 9_007_199_254_740_993n,
      maybe: undefined,
      nested: { at: [new Date(0), new Date('2000-01-01T00:00:00Z')] },
    };
    const output = await client.call('types.shift', input);

    // What the handler received was revived, not left as strings.
    const received = probe.inputs[0] as Rich;
    expect(received.when).toBeInstanceOf(Date);
    expect(received).toEqual(input);
    expect(Object.hasOwn(received, 'maybe')).toBe(true);

    expect(output.when).toBeInstanceOf(Date);
    expect(output.when.toISOString()).toBe('2024-03-01T12:34:56.789Z');
    expect(output.counts).toBeInstanceOf(Map);
    expect([...output.counts]).toEqual([
      ['A', 2n],
      ['B', 2n ** 71n],
    ]);
    expect(output.tags).toBeInstanceOf(Set);
    expect([...output.tags]).toEqual(['x', 'y', 'seen']);
    expect(output.big).toBe(9_007_199_254_740_994n);
    expect(Object.hasOwn(output, 'maybe')).toBe(true);
    expect(output.maybe).toBeUndefined();
    expect(output.nested.at.map((date) => date.toISOString())).toEqual([
      '1970-01-01T00:00:01.000Z',
      '2000-01-01T00:00:01.000Z',
    ]);
  });

  it('passes undefined as the whole input and output', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('types.nothing', undefined));
    expect(outcome).toEqual({ ok: true, value: undefined });
    expect(probe.handled).toEqual(['types.nothing']);
    expect(probe.inputs).toEqual([undefined]);
  });

  it('passes a typed RpcError from a handler through with its code, message and data', async () => {
    const { url, onError } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('fail.typed', { id: 'u-7' }));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('NOT_FOUND');
    expect(outcome.error.message).toBe('no such user');
    expect(outcome.error.data).toEqual({ id: 'u-7' });
    expect(onError).not.toHaveBeenCalled();
  });
});
