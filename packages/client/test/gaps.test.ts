import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Client, createClient, type GapInfo } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// Which subscriptions a `gap` envelope reaches: without `id`, every subscription of the
// connection on its stream; with `id`, that subscription only, if it is on that stream.

type Untyped = {
  subscribe(
    name: string,
    params: unknown,
    handlers: { onMessage: (message: unknown) => void; onGap: (gap: GapInfo) => void },
  ): { ready: Promise<void>; unsubscribe(): void };
};

let client: Client<never> | undefined;

beforeEach(() => FakeWebSocket.reset());
afterEach(async () => {
  await client?.close();
  client = undefined;
});

/** A client with subscriptions `a` and `b` on stream feed/{} and `c` on feed/{"x":1}, all registered. */
async function threeSubscriptions() {
  client = createClient<never>({ url: 'ws://fake', WebSocket: FakeWebSocket as never, heartbeat: false });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const socket = FakeWebSocket.last();
  socket.open();
  const gaps: Record<string, GapInfo[]> = { a: [], b: [], c: [] };
  const subscribe = (label: string, params: unknown) =>
    (client as unknown as Untyped).subscribe('feed', params, {
      onMessage() {},
      onGap: (gap) => gaps[label]?.push(gap),
    });
  const subscriptions = [subscribe('a', {}), subscribe('b', {}), subscribe('c', { x: 1 })];
  await new Promise((resolve) => setTimeout(resolve, 0)); // the subscribes leave
  const ids = socket.sentOfType('subscribe').map((envelope) => envelope.id as number);
  const keys = ['{}', '{}', '{"x":1}'];
  ids.forEach((id, i) => {
    socket.receive({ type: 'subscribed', id, key: keys[i], position: 'e:0' });
  });
  await Promise.all(subscriptions.map((s) => s.ready));
  return {
    socket,
    gaps,
    ids: ids as [number, number, number],
    unsubscribe: (i: number) => subscriptions[i]?.unsubscribe(),
  };
}

describe('gap envelopes', () => {
  it('without id: every subscription on the stream, none on another', async () => {
    const { socket, gaps } = await threeSubscriptions();
    socket.receive({ type: 'gap', channel: 'feed', key: '{}', reason: 'history', dropped: 2 });
    expect(gaps.a).toEqual([{ channel: 'feed', reason: 'history', dropped: 2 }]);
    expect(gaps.b).toEqual([{ channel: 'feed', reason: 'history', dropped: 2 }]);
    expect(gaps.c).toEqual([]);
  });

  it('with id: that subscription only', async () => {
    const { socket, gaps, ids } = await threeSubscriptions();
    socket.receive({ type: 'gap', channel: 'feed', key: '{}', reason: 'history', id: ids[1] });
    expect(gaps.a).toEqual([]);
    expect(gaps.b).toEqual([{ channel: 'feed', reason: 'history' }]);
    expect(gaps.c).toEqual([]);
  });

  it('with the id of a subscription on another stream, or one that has ended: nobody', async () => {
    const { socket, gaps, ids, unsubscribe } = await threeSubscriptions();
    socket.receive({ type: 'gap', channel: 'feed', key: '{}', reason: 'history', id: ids[2] });
    unsubscribe(0);
    socket.receive({ type: 'gap', channel: 'feed', key: '{}', reason: 'history', id: ids[0] });
    socket.receive({ type: 'gap', channel: 'feed', key: '{}', reason: 'history', id: 999 });
    expect(gaps).toEqual({ a: [], b: [], c: [] });
  });
});
