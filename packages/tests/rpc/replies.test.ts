import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, type Envelope, RawClient, startServer } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

// docs/protocol.md, "Replies": every call and subscribe gets exactly one reply, except in the
// cases that table lists. Each test ends with a `ping`: the server reads messages in order,
// so once its `pong` is in, every reply the server made for what came before it has been
// sent (the handlers here settle before the ping is sent), and the count is final.

async function settled(raw: RawClient): Promise<Envelope[]> {
  const pongs = raw.received.filter((envelope) => envelope.type === 'pong').length;
  raw.send({ type: 'ping' });
  await raw.next(() => raw.received.filter((envelope) => envelope.type === 'pong').length > pongs, 'the pong');
  return raw.received.filter((envelope) => envelope.type !== 'pong');
}

function repliesTo(received: Envelope[], id: unknown): Envelope[] {
  return received.filter((envelope) => envelope.id === id);
}

describe('exactly one reply per call and subscribe', () => {
  it('answers each outcome once: result, invalid input, unknown name, handler error, bad output', async () => {
    const { url } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 } });
    raw.send({ type: 'call', id: 2, name: 'math.add', input: { a: 'one' } });
    raw.send({ type: 'call', id: 3, name: 'math.nope', input: {} });
    raw.send({ type: 'call', id: 4, name: 'fail.typed', input: { id: 'x' } });
    raw.send({ type: 'call', id: 5, name: 'fail.badOutput', input: {} });
    raw.send({ type: 'call', id: 6, name: 'util.echo', input: { n: 6, delayMs: 20 } });
    for (const id of [1, 2, 3, 4, 5, 6]) await raw.reply(id);
    const received = await settled(raw);

    expect(received).toHaveLength(6);
    expect(repliesTo(received, 1)).toEqual([{ type: 'result', id: 1, output: 3 }]);
    expect(repliesTo(received, 2)).toMatchObject([{ type: 'error', error: { code: 'BAD_REQUEST' } }]);
    expect(repliesTo(received, 3)).toMatchObject([{ type: 'error', error: { code: 'NOT_FOUND' } }]);
    expect(repliesTo(received, 4)).toMatchObject([{ type: 'error', error: { code: 'NOT_FOUND' } }]);
    expect(repliesTo(received, 5)).toMatchObject([{ type: 'error', error: { code: 'INTERNAL' } }]);
    expect(repliesTo(received, 6)).toEqual([{ type: 'result', id: 6, output: { n: 6 } }]);
  });

  it('answers each subscribe once: subscribed, refused, unknown channel, invalid params', async () => {
    const { url } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'subscribe', id: 1, name: 'chat.room', params: { room: 'lobby' } });
    raw.send({ type: 'subscribe', id: 2, name: 'chat.room', params: { room: 'private-1' } });
    raw.send({ type: 'subscribe', id: 3, name: 'chat.nope', params: {} });
    raw.send({ type: 'subscribe', id: 4, name: 'chat.room', params: { room: 4 } });
    for (const id of [1, 2, 3, 4]) await raw.reply(id);
    raw.send({ type: 'unsubscribe', id: 1 });
    const received = await settled(raw);

    expect(received).toHaveLength(4);
    expect(repliesTo(received, 1)).toMatchObject([{ type: 'subscribed', key: '{"room":"lobby"}' }]);
    expect(repliesTo(received, 2)).toMatchObject([{ type: 'error', error: { code: 'FORBIDDEN' } }]);
    expect(repliesTo(received, 3)).toMatchObject([{ type: 'error', error: { code: 'NOT_FOUND' } }]);
    expect(repliesTo(received, 4)).toMatchObject([{ type: 'error', error: { code: 'BAD_REQUEST' } }]);
  });

  it('sends nothing for a cancelled call, and nothing for cancel or unsubscribe', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'slow.wait', input: { tag: 'cancelled', ms: 60_000 } });
    await probe.whenStarted('cancelled');
    raw.send({ type: 'cancel', id: 1 });
    expect(await probe.whenAborted('cancelled')).toMatchObject({ code: 'CANCELLED' });
    raw.send({ type: 'cancel', id: 1 }); // again: no longer running
    raw.send({ type: 'cancel', id: 99 }); // never was
    raw.send({ type: 'unsubscribe', id: 98 });

    expect(await settled(raw)).toEqual([]);
  });

  it('sends TIMEOUT once, and nothing when the handler finishes later', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'slow.stubborn', input: { tag: 'late', ms: 200 }, timeoutMs: 20 });
    expect(await raw.reply(1)).toMatchObject({ type: 'error', id: 1, error: { code: 'TIMEOUT' } });
    await new Promise<void>((resolve) => {
      if (probe.finished.has('late')) resolve();
      else probe.once('finished', () => resolve());
    });
    // The handler's value is handed over on the next turn: the ping goes after it.
    await new Promise((resolve) => setImmediate(resolve));

    expect(await settled(raw)).toEqual([{ type: 'error', id: 1, error: expect.objectContaining({ code: 'TIMEOUT' }) }]);
  });

  it('answers a reused id with an error for the newcomer, and the running call still once', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'slow.wait', input: { tag: 'first', ms: 50 } });
    await probe.whenStarted('first');
    raw.send({ type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 } });
    raw.send({ type: 'subscribe', id: 2, name: 'chat.room', params: { room: 'a' } });
    await raw.reply(2);
    raw.send({ type: 'subscribe', id: 2, name: 'chat.room', params: { room: 'b' } });
    await raw.next((envelope) => envelope.type === 'result', 'the first call to finish');
    const received = await settled(raw);

    expect(repliesTo(received, 1)).toMatchObject([
      { type: 'error', error: { code: 'BAD_REQUEST' } },
      { type: 'result', output: 'done:first' },
    ]);
    expect(repliesTo(received, 2)).toMatchObject([
      { type: 'subscribed', key: '{"room":"a"}' },
      { type: 'error', error: { code: 'BAD_REQUEST' } },
    ]);
    expect(probe.handled).not.toContain('math.add');
  });

  it('refuses a whole message once (id null) and runs none of it: not JSON, an empty batch, a __proto__ key', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send('[{"type":"call","id":1,"name":"math.add","input":{"a":1,"b":2}}');
    raw.send('[]');
    raw.send('[{"type":"call","id":2,"name":"math.add","input":{"a":1,"b":2}},{"x":{"__proto__":{}}}]');
    raw.socket.send(Buffer.from('{"type":"call","id":3,"name":"math.add","input":{"a":1,"b":2}}'));
    const received = await settled(raw);

    expect(received).toHaveLength(4);
    for (const reply of received)
      expect(reply).toMatchObject({ type: 'error', id: null, error: { code: 'BAD_REQUEST' } });
    expect(received.map((reply) => (reply.error as { message: string }).message)).toEqual([
      'malformed JSON',
      'an empty batch',
      'a __proto__ key is not accepted',
      'bad binary message: a JSON part of 2065855609 bytes, over 1048576',
    ]);
    expect(probe.handled).toEqual([]);
  });

  it('answers each bad element of a batch on its own and runs the rest', async () => {
    const { url } = await startServer();
    const raw = await RawClient.open(url);
    raw.send([
      { type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 } },
      42,
      { type: 'call', name: 'math.add' },
      { type: 'explode', id: 2 },
      { type: 'explode' },
      { type: 'ping' },
      { type: 'call', id: 3, name: 'math.add', input: { a: 3, b: 4 } },
    ]);
    await raw.reply(3);
    const received = await settled(raw);

    expect(repliesTo(received, 1)).toEqual([{ type: 'result', id: 1, output: 3 }]);
    expect(repliesTo(received, 2)).toMatchObject([
      { type: 'error', error: { code: 'BAD_REQUEST', message: 'unknown message type' } },
    ]);
    expect(repliesTo(received, 3)).toEqual([{ type: 'result', id: 3, output: 7 }]);
    expect(repliesTo(received, null)).toHaveLength(3); // 42, the call without id, the unknown type without id
    expect(raw.received.filter((envelope) => envelope.type === 'pong')).toHaveLength(2);
  });

  it('answers UNAVAILABLE to calls and subscribes while the server shuts down', async () => {
    const { url, server, probe } = await startServer({ limits: { drainTimeoutMs: 5_000 } });
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'slow.wait', input: { tag: 'running', ms: 100 } });
    await probe.whenStarted('running');
    const closed = server.close();
    raw.send({ type: 'call', id: 2, name: 'math.add', input: { a: 1, b: 2 } });
    raw.send({ type: 'subscribe', id: 3, name: 'chat.room', params: { room: 'a' } });
    const received = [await raw.reply(2), await raw.reply(3), await raw.reply(1)];
    await closed;

    expect(received).toMatchObject([
      { type: 'error', error: { code: 'UNAVAILABLE' } },
      { type: 'error', error: { code: 'UNAVAILABLE' } },
      { type: 'result', output: 'done:running' },
    ]);
    expect(raw.received.filter((envelope) => envelope.id === 1 || envelope.id === 2 || envelope.id === 3)).toHaveLength(
      3,
    );
  });
});
