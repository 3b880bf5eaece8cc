// One `add` caller per connection for each contender, with the contender's own client library
// (the thin layer: a plain ws client with an id -> resolver map). Shared by bench/rpc/load.ts.

import { HOST, socketioConnected, trpcOverWs } from '../lib/peers.js';
import type { AppRouter } from './servers/trpc.js';

export type Add = (a: number, b: number) => Promise<number>;
export interface Caller {
  add: Add;
  close(): void;
}

export const CONTENDER_IDS = ['switchboard', 'thin', 'socketio', 'trpc'] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

export async function connect(id: ContenderId, port: number): Promise<Caller> {
  switch (id) {
    case 'switchboard':
      return switchboard(port);
    case 'thin':
      return thin(port);
    case 'socketio':
      return socketio(port);
    case 'trpc':
      return trpc(port);
  }
}

async function switchboard(port: number): Promise<Caller> {
  const { WebSocket } = await import('ws');
  const { createClient } = await import('@switchboard/client');
  type C = import('./contract.js').BenchContract;
  const client = createClient<C>({
    url: `ws://${HOST}:${port}`,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  return { add: (a, b) => client.call('add', { a, b }), close: () => void client.close() };
}

async function thin(port: number): Promise<Caller> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
  const pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id: number; result?: number; error?: unknown };
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(JSON.stringify(msg.error)));
    else p.resolve(msg.result as number);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    for (const p of pending.values()) p.reject(new Error('closed'));
    pending.clear();
  });
  return {
    add: (a, b) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method: 'add', params: { a, b } }));
      }),
    close: () => ws.close(),
  };
}

async function socketio(port: number): Promise<Caller> {
  const socket = await socketioConnected(port);
  return {
    add: async (a, b) => {
      const r = (await socket.emitWithAck('add', { a, b })) as { result?: number; error?: unknown };
      if (r.error !== undefined) throw new Error(JSON.stringify(r.error));
      return r.result as number;
    },
    close: () => void socket.close(),
  };
}

async function trpc(port: number): Promise<Caller> {
  const { client, wsClient } = await trpcOverWs<AppRouter>(port);
  return { add: (a, b) => client.add.query({ a, b }), close: () => void wsClient.close() };
}
