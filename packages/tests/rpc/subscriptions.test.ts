import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { untilEvent } from '../support/wait.js';
import { closeAll, connectClient, type Envelope, RawClient, settle, startServer } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

/** Collects a subscription's messages; `when(check)` waits until the check holds. */
function inbox<T>() {
  const messages: T[] = [];
  const events = new EventEmitter();
  return {
    messages,
    onMessage(message: T) {
      messages.push(message);
      events.emit('message');
    },
    when(check: (messages: T[]) => boolean, what: string): Promise<void> {
      return untilEvent(events, ['message'], () => check(messages), what, 3_000);
    },
  };
}

describe('subscriptions', () => {
  it('resolves ready once registered, then delivers a publish with its Date revived', async () => {
    const { url, server } = await startServer();
    const client = connectClient(url);
    const box = inbox<{ seq: number; at: Date }>();
    const subscription = client.subscribe('metrics.host', { host: 'a' }, { onMessage: box.onMessage });
    await subscription.ready;
    const at = new Date('2024-05-06T07:08:09.010Z');
    await server.publish('metrics.host', { host: 'a' }, { seq: 1, at });
    await box.when((messages) => messages.length === 1, 'the published message');
    expect(box.messages[0]?.at).toBeInstanceOf(Date);
    expect(box.messages).toEqual([{ seq: 1, at }]);
  });

  it('stops delivery after unsubscribe (the server stops sending)', async () => {
    const { url, server } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'subscribe', id: 's1', name: 'chat.room', params: { room: 'lobby' } });
    await raw.next((envelope) => envelope.type === 'subscribed' && envelope.id === 's1', 'subscribed s1');
    await server.publish('chat.room', { room: 'lobby' }, { text: 'before' });
    await raw.next((envelope) => envelope.type === 'message', 'the first message');

    raw.send({ type: 'unsubscribe', id: 's1' });
    // Messages are handled in order: once s2 is subscribed, s1's unsubscribe has been too.
    raw.send({ type: 'subscribe', id: 's2', name: 'chat.room', params: { room: 'marker' } });
    await raw.next((envelope) => envelope.type === 'subscribed' && envelope.id === 's2', 'subscribed s2');
    await server.publish('chat.room', { room: 'lobby' }, { text: 'after' });
    await server.publish('chat.room', { room: 'marker' }, { text: 'marker' });
    await raw.next(
      (envelope) => envelope.type === 'message' && (envelope.data as Envelope).text === 'marker',
      'marker',
    );
    const texts = raw.received.filter((e) => e.type === 'message').map((e) => (e.data as { text: string }).text);
    expect(texts).toEqual(['before', 'marker']);
  });

  it('stops calling onMessage after unsubscribe on the typed client', async () => {
    const { url, server } = await startServer();
    const client = connectClient(url);
    const lobby = inbox<{ text: string }>();
    const marker = inbox<{ text: string }>();
    const subscription = client.subscribe('chat.room', { room: 'lobby' }, { onMessage: lobby.onMessage });
    const markerSubscription = client.subscribe('chat.room', { room: 'marker' }, { onMessage: marker.onMessage });
    await Promise.all([subscription.ready, markerSubscription.ready]);
    await server.publish('chat.room', { room: 'lobby' }, { text: 'one' });
    await lobby.when((messages) => messages.length === 1, 'the first message');
    subscription.unsubscribe();
    await server.publish('chat.room', { room: 'lobby' }, { text: 'two' });
    await server.publish('chat.room', { room: 'marker' }, { text: 'end' });
    await marker.when((messages) => messages.length === 1, 'the marker');
    expect(lobby.messages).toEqual([{ text: 'one' }]);
  });

  it('delivers to each client only the streams of its own params', async () => {
    const { url, server } = await startServer();
    const alice = connectClient(url);
    const bob = connectClient(url);
    const a = inbox<{ text: string }>();
    const b = inbox<{ text: string }>();
    const subscriptions = [
      alice.subscribe('chat.room', { room: 'a' }, { onMessage: a.onMessage }),
      bob.subscribe('chat.room', { room: 'b' }, { onMessage: b.onMessage }),
    ];
    await Promise.all(subscriptions.map((subscription) => subscription.ready));
    await server.publish('chat.room', { room: 'a' }, { text: 'a1' });
    await server.publish('chat.room', { room: 'b' }, { text: 'b1' });
    await server.publish('chat.room', { room: 'a' }, { text: 'a-end' });
    await server.publish('chat.room', { room: 'b' }, { text: 'b-end' });
    await a.when((messages) => messages.some((m) => m.text === 'a-end'), "alice's marker");
    await b.when((messages) => messages.some((m) => m.text === 'b-end'), "bob's marker");
    expect(a.messages.map((m) => m.text)).toEqual(['a1', 'a-end']);
    expect(b.messages.map((m) => m.text)).toEqual(['b1', 'b-end']);
  });

  it('matches params by value: {a:1,b:2} and {b:2,a:1} are the same stream', async () => {
    const { url, server } = await startServer();
    const first = connectClient(url);
    const second = connectClient(url);
    const one = inbox<{ n: number }>();
    const two = inbox<{ n: number }>();
    const s1 = first.subscribe('pairs.sum', { a: 1, b: 2 }, { onMessage: one.onMessage });
    const s2 = second.subscribe('pairs.sum', { b: 2, a: 1 }, { onMessage: two.onMessage });
    await Promise.all([s1.ready, s2.ready]);
    await server.publish('pairs.sum', { a: 1, b: 2 }, { n: 1 });
    await server.publish('pairs.sum', { b: 2, a: 1 }, { n: 2 });
    await server.publish('pairs.sum', { a: 2, b: 1 }, { n: 99 });
    await server.publish('pairs.sum', { a: 1, b: 2 }, { n: 3 });
    for (const box of [one, two]) {
      await box.when((messages) => messages.length >= 3, 'three messages');
      expect(box.messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    }
  });

  it('delivers messages in publish order', async () => {
    const { url, server } = await startServer();
    const client = connectClient(url);
    const box = inbox<{ seq: number; at: Date }>();
    await client.subscribe('metrics.host', { host: 'h' }, { onMessage: box.onMessage }).ready;
    const count = 300;
    for (let seq = 0; seq < count; seq++)
      await server.publish('metrics.host', { host: 'h' }, { seq, at: new Date(seq) });
    // And publishes started together, without waiting for each other.
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        server.publish('metrics.host', { host: 'h' }, { seq: count + i, at: new Date(i) }),
      ),
    );
    await box.when((messages) => messages.length >= 2 * count, 'every message');
    expect(box.messages.map((message) => message.seq)).toEqual(Array.from({ length: 2 * count }, (_, i) => i));
  });

  it('refuses a subscription that authorize rejects: FORBIDDEN via onError, ready rejects', async () => {
    const { url, server, probe } = await startServer();
    const client = connectClient(url);
    const secret = inbox<{ text: string }>();
    const marker = inbox<{ text: string }>();
    const onError = vi.fn();
    const refused = client.subscribe('chat.room', { room: 'private-1' }, { onMessage: secret.onMessage, onError });
    const outcome = await settle(refused.ready);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(probe.authorized).toEqual(['private-1']);

    await client.subscribe('chat.room', { room: 'public' }, { onMessage: marker.onMessage }).ready;
    await server.publish('chat.room', { room: 'private-1' }, { text: 'secret' });
    await server.publish('chat.room', { room: 'public' }, { text: 'marker' });
    await marker.when((messages) => messages.length === 1, 'the marker');
    expect(secret.messages).toEqual([]);
  });

  it('sends nothing of a refused stream to the raw socket', async () => {
    const { url, server } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'subscribe', id: 1, name: 'chat.room', params: { room: 'private-2' } });
    expect(await raw.reply(1)).toMatchObject({ type: 'error', id: 1, error: { code: 'FORBIDDEN' } });
    raw.send({ type: 'subscribe', id: 2, name: 'chat.room', params: { room: 'public' } });
    await raw.next((envelope) => envelope.type === 'subscribed' && envelope.id === 2, 'subscribed 2');
    await server.publish('chat.room', { room: 'private-2' }, { text: 'secret' });
    await server.publish('chat.room', { room: 'public' }, { text: 'marker' });
    await raw.next((envelope) => envelope.type === 'message', 'the marker');
    expect(raw.received.filter((envelope) => envelope.type === 'message')).toHaveLength(1);
    expect(raw.texts.join('\n')).not.toContain('secret');
  });

  it('lets an authorized user subscribe to a private room', async () => {
    const { url, server } = await startServer();
    const client = connectClient(`${url}/?user=admin`);
    const box = inbox<{ text: string }>();
    await client.subscribe('chat.room', { room: 'private-3' }, { onMessage: box.onMessage }).ready;
    await server.publish('chat.room', { room: 'private-3' }, { text: 'hi admin' });
    await box.when((messages) => messages.length === 1, 'the message');
  });

  it('answers subscribe params that fail the schema with BAD_REQUEST via onError', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const onError = vi.fn();
    const subscription = client.subscribe('chat.room', { room: 42 } as never, { onMessage() {}, onError });
    const outcome = await settle(subscription.ready);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(probe.authorized).toEqual([]);
  });

  it('rejects a publish whose message fails the channel schema with BAD_REQUEST', async () => {
    const { server } = await startServer();
    const outcome = await settle(server.publish('metrics.host', { host: 'a' }, { seq: 'one', at: 'now' } as never));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    if (outcome.ok) return;
    const { issues } = outcome.error.data as { issues: Array<{ path: unknown[] }> };
    expect(issues.map((issue) => issue.path)).toEqual([['seq'], ['at']]);
  });

  it('rejects a publish to an unknown channel with NOT_FOUND', async () => {
    const { server } = await startServer();
    const outcome = await settle(server.publish('nope' as 'chat.room', { room: 'a' }, { text: 'x' }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});
