// One subscriber per connection for each client library, all on the feed: Switchboard's client
// (over `ws`), a thin ws JSON client (JSON.parse, then the callback: the floor), socket.io-client.
// Each hands every message's `{ seq, t, p }` to `onMessage`.

import { ROOM } from '../rpc/contract.js';

export const RECEIVER_IDS = ['switchboard', 'thin', 'socketio'] as const;
export type ReceiverId = (typeof RECEIVER_IDS)[number];

export interface FeedMessage {
  seq: number;
  t: number;
  p: number;
}
export type OnMessage = (message: FeedMessage) => void;

const HOST = '127.0.0.1';

/** Connects one subscriber; resolves once its subscription is registered. Returns its closer. */
export function subscribe(id: ReceiverId, port: number, onMessage: OnMessage): Promise<() => void> {
  switch (id) {
    case 'switchboard':
      return switchboard(port, onMessage);
    case 'thin':
      return thin(port, onMessage);
    case 'socketio':
      return socketio(port, onMessage);
  }
}

async function switchboard(port: number, onMessage: OnMessage): Promise<() => void> {
  const { WebSocket } = await import('ws');
  const { createClient } = await import('@switchboard/client');
  type C = import('../rpc/contract.js').BenchContract;
  const client = createClient<C>({
    url: `ws://${HOST}:${port}`,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const subscription = client.subscribe('feed', { room: ROOM }, { onMessage });
  await subscription.ready;
  return () => void client.close();
}

async function thin(port: number, onMessage: OnMessage): Promise<() => void> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  const subscribed = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; data?: FeedMessage };
      if (message.data !== undefined) onMessage(message.data);
      else if (message.id === 1) resolve();
    });
  });
  ws.send(JSON.stringify({ id: 1, method: 'subscribe', params: { room: ROOM } }));
  await subscribed;
  return () => ws.close();
}

async function socketio(port: number, onMessage: OnMessage): Promise<() => void> {
  const { io } = await import('socket.io-client');
  const socket = io(`http://${HOST}:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.on('feed', onMessage);
  await new Promise<void>((resolve) => socket.emit('join', { room: ROOM }, () => resolve()));
  return () => void socket.close();
}
