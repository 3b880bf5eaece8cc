import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Client, createClient, type RpcError } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// docs/protocol.md: an `error` carrying a subscription's id ends that subscription, whether
// or not it was `subscribed`; it is not sent again after a reconnect. Envelope types the
// client does not know are ignored.

type Untyped = {
  subscribe(
    name: string,
    params: unknown,
    handlers: { onMessage: (message: unknown) => void; onError: (error: RpcError) => void },
  ): { ready: Promise<void>; unsubscribe(): void };
};

let client: Client<never> | undefined;

beforeEach(() => FakeWebSocket.reset());
afterEach(async () => {
  await client?.close();
  client = undefined;
});

async function subscribedOnce() {
  client = createClient<never>({
    url: 'ws://fake',
    WebSocket: FakeWebSocket as never,
    heartbeat: false,
    reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const socket = FakeWebSocket.last();
  socket.open();
  const onMessage = vi.fn();
  const onError = vi.fn();
  const subscription = (client as unknown as Untyped).subscribe('feed', {}, { onMessage, onError });
  await new Promise((resolve) => setTimeout(resolve, 0)); // the subscribe leaves
  const [sent] = socket.sentOfType('subscribe');
  const id = sent?.id as number;
  socket.receive({ type: 'subscribed', id, key: '{}', position: 'e:0' });
  await subscription.ready;
  return { socket, id, onMessage, onError };
}

describe('a subscription the server ends', () => {
  it('ends on an error with its id after subscribed: onError once, no more messages, not restored', async () => {
    const { socket, id, onMessage, onError } = await subscribedOnce();
    socket.receive({ type: 'message', channel: 'feed', key: '{}', position: 'e:1', data: 1 });
    socket.receive({ type: 'error', id, error: { code: 'FORBIDDEN', message: 'no longer yours' } });
    socket.receive({ type: 'message', channel: 'feed', key: '{}', position: 'e:2', data: 2 });

    expect(onMessage.mock.calls.map(([message]) => message)).toEqual([1]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ code: 'FORBIDDEN', message: 'no longer yours' });

    socket.drop();
    await vi.waitFor(() => expect(FakeWebSocket.last()).not.toBe(socket), { timeout: 2_000 });
    const next = FakeWebSocket.last();
    next.open();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(next.sentOfType('subscribe')).toEqual([]);
  });

  it('ignores an envelope type it does not know, and keeps the connection and the subscription', async () => {
    const { socket, id, onMessage, onError } = await subscribedOnce();
    const errors = vi.fn();
    client?.on('error', errors);
    socket.receive({ type: 'unsubscribed', id });
    socket.receive({ type: 'notice', text: 'from a later server' });
    socket.receive({ type: 'message', channel: 'feed', key: '{}', position: 'e:1', data: 1 });

    expect(onMessage).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
    expect(errors).not.toHaveBeenCalled();
    expect(client?.state).toBe('open');
    expect(FakeWebSocket.last()).toBe(socket);
  });
});
