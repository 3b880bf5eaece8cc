import { createClient } from '@switchboard/client';
import { MIN_MAX_PAYLOAD_BYTES } from '@switchboard/contract';
import { createServer } from '@switchboard/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { once, within } from '../support/wait.js';
import type { TestContract } from './fixtures/contract.js';
import { closeAll, connectClient, makeRouter, Probe, RawClient, settle, startServer, whenOpen } from './harness.js';

// A message holding a JSON array of envelopes (a batch) is handled as if each had come alone.

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

describe('batches of envelopes', () => {
  it('handles each envelope of a batch in order and answers each on its own', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send([
      { type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 } },
      { type: 'subscribe', id: 2, name: 'chat.room', params: { room: 'lobby' } },
      { type: 'call', id: 3, name: 'math.add', input: { a: 'not a number', b: 2 } },
      { type: 'explode', id: 4 },
      { type: 'ping' },
      { type: 'call', id: 5, name: 'util.echo', input: { n: 5, delayMs: 0 } },
    ]);
    expect(await raw.reply(1)).toEqual({ type: 'result', id: 1, output: 3 });
    expect(await raw.reply(2)).toMatchObject({ type: 'subscribed', id: 2 });
    expect(await raw.reply(3)).toMatchObject({ type: 'error', id: 3, error: { code: 'BAD_REQUEST' } });
    expect(await raw.reply(4)).toMatchObject({ type: 'error', id: 4, error: { code: 'BAD_REQUEST' } });
    expect(await raw.reply(5)).toEqual({ type: 'result', id: 5, output: { n: 5 } });
    expect(raw.received.filter((envelope) => envelope.type === 'pong')).toHaveLength(1);
    // Each reply is its own message; what settles at once comes in the order of the batch
    // (a subscription is validated and authorized asynchronously).
    const order = raw.received.map((envelope) => envelope.id ?? envelope.type);
    expect(order.filter((id) => id !== 2 && id !== 5)).toEqual([1, 3, 4, 'pong']);
    expect(probe.handled).toEqual(['math.add', 'util.echo']);
    expect(raw.isOpen).toBe(true);
  });

  it('answers calls past maxInFlightCalls in a batch with TOO_MANY_REQUESTS, one by one', async () => {
    const { url } = await startServer({ limits: { maxInFlightCalls: 2 } });
    const raw = await RawClient.open(url);
    raw.send([1, 2, 3].map((id) => ({ type: 'call', id, name: 'slow.wait', input: { tag: `t${id}`, ms: 50 } })));
    expect(await raw.reply(3)).toMatchObject({ type: 'error', id: 3, error: { code: 'TOO_MANY_REQUESTS' } });
    expect(await raw.reply(1)).toEqual({ type: 'result', id: 1, output: 'done:t1' });
    expect(await raw.reply(2)).toEqual({ type: 'result', id: 2, output: 'done:t2' });
  });

  it('carries a burst of 2,000 calls from the client in a few messages and answers every one', async () => {
    const { url, probe } = await startServer({ limits: { maxInFlightCalls: 2_500 } });
    let messages = 0;
    // `ws`, counting the messages the client sends (called with `new`: the socket is returned).
    function CountingWebSocket(address: string, protocol: string): WebSocket {
      const socket = new WebSocket(address, protocol);
      const send = socket.send.bind(socket);
      socket.send = ((data: string) => {
        messages++;
        send(data);
      }) as typeof socket.send;
      return socket;
    }
    const client = createClient<TestContract>({ url, WebSocket: CountingWebSocket as never, reconnect: false });
    try {
      await whenOpen(client);
      const results = await within(
        Promise.all(Array.from({ length: 2_000 }, (_, n) => client.call('math.add', { a: n, b: 1 }))),
        5_000,
        '2,000 results',
      );
      expect(results).toEqual(Array.from({ length: 2_000 }, (_, n) => n + 1));
      expect(probe.handled).toHaveLength(2_000);
      // About 130 characters per call, 16 KiB per batch: some 16 messages, not 2,000.
      expect(messages).toBeLessThan(40);
    } finally {
      await client.close();
    }
  });

  it('counts a batch against maxPayloadBytes as one message', async () => {
    const { url } = await startServer({ limits: { maxPayloadBytes: MIN_MAX_PAYLOAD_BYTES } });
    const raw = await RawClient.open(url);
    const closed = new Promise<number>((resolve) => raw.socket.once('close', (code) => resolve(code)));
    const call = { type: 'call', name: 'math.add', input: { a: 1, b: 2 } };
    raw.send(Array.from({ length: 2_000 }, (_, id) => ({ ...call, id }))); // about 100 KB
    expect(await within(closed, 3_000, 'the close')).toBe(1009);
    expect(raw.received).toEqual([]);
  });

  it(`refuses a maxPayloadBytes below ${MIN_MAX_PAYLOAD_BYTES} bytes, which a batch might not fit`, () => {
    const router = makeRouter(new Probe());
    expect(() => createServer({ router, limits: { maxPayloadBytes: MIN_MAX_PAYLOAD_BYTES - 1 } })).toThrow(
      /limits\.maxPayloadBytes must be an integer ≥ 65536/,
    );
  });
});

describe("a message over the server's maxPayloadBytes", () => {
  it('fails that call or subscription with PAYLOAD_TOO_LARGE, once, and carries on with the rest', async () => {
    const { url, probe } = await startServer({ limits: { maxPayloadBytes: MIN_MAX_PAYLOAD_BYTES } });
    const client = connectClient(url, { reconnect: true });
    await whenOpen(client);
    const huge = 'x'.repeat(100_000);
    const running = client.call('slow.wait', { tag: 'before', ms: 300 });
    await once(probe, 'started');
    const tooBig = settle(client.call('user.create', { name: huge, age: 1, tags: [] }), 5_000);
    const refusedSubscription = client.subscribe('chat.room', { room: huge }, { onMessage: () => {} });

    const call = await tooBig;
    expect(call.ok).toBe(false);
    if (!call.ok) expect(call.error.code).toBe('PAYLOAD_TOO_LARGE');
    const subscription = await settle(refusedSubscription.ready, 5_000);
    expect(subscription.ok).toBe(false);
    if (!subscription.ok) expect(subscription.error.code).toBe('PAYLOAD_TOO_LARGE');
    // The call that was running when the connection closed is re-sent with its key: it
    // runs once and resolves once.
    expect(await within(running, 5_000, 'the running call')).toBe('done:before');
    expect(probe.handled.filter((name) => name === 'slow.wait')).toHaveLength(1);
    expect(probe.handled).not.toContain('user.create');
    await whenOpen(client, 5_000);
    await expect(client.call('math.add', { a: 1, b: 2 })).resolves.toBe(3);
  });

  it('fails nothing in its place when the refused call is gone already', async () => {
    const { url, probe } = await startServer({ limits: { maxPayloadBytes: MIN_MAX_PAYLOAD_BYTES } });
    const client = connectClient(url, { reconnect: true });
    await whenOpen(client);
    const running = client.call('slow.wait', { tag: 'innocent', ms: 300 });
    await once(probe, 'started');
    const abort = new AbortController();
    const big = settle(
      client.call('user.create', { name: 'x'.repeat(100_000), age: 1, tags: [] }, { signal: abort.signal }),
    );
    abort.abort(); // sent in this task, settled before the server's 1009 arrives
    const outcome = await big;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.code).toBe('CANCELLED');
    expect(await within(running, 5_000, 'the running call')).toBe('done:innocent');
    expect(probe.handled.filter((name) => name === 'slow.wait')).toHaveLength(1);
  });
});
