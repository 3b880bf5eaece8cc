// One stream receiver per contender, with the contender's own client library: asks for a
// stream of `count` chunks of a shape and reads it to its end, checking every chunk (it is
// chunk i, in order). Bounded in time by `signal` (the load script's deadline). Every client here
// talks through Node's `ws` over one TCP connection (socket.io-client too, websocket transport
// only): load.ts counts its bytes on the wire.

import { HOST, socketioConnected, trpcOverWs } from '../lib/peers.js';
import type { StreamAppRouter } from './servers/trpc.js';
import type { ShapeId } from './shapes.js';
import { SHAPES } from './shapes.js';

export const CONTENDER_IDS = ['switchboard', 'trpc', 'socketio', 'thin'] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

export interface Received {
  /** Chunks read. */
  chunks: number;
  /** Chunks that were not the one expected at their place. */
  wrong: number;
  /** What the server says it made (its result or end message), when the contender tells. */
  count: number | null;
}

export interface Receiver {
  receive(shape: ShapeId, count: number, signal: AbortSignal): Promise<Received>;
  close(): void;
}

export interface ReceiverOptions {
  /** Switchboard's `credit` (chunks the server may send ahead of the reader); undefined: the client's default. */
  credit: number | undefined;
}

export async function connect(id: ContenderId, port: number, options: ReceiverOptions): Promise<Receiver> {
  switch (id) {
    case 'switchboard':
      return switchboard(port, options);
    case 'trpc':
      return trpc(port);
    case 'socketio':
      return socketio(port);
    case 'thin':
      return thin(port);
  }
}

async function switchboard(port: number, { credit }: ReceiverOptions): Promise<Receiver> {
  const { WebSocket } = await import('ws');
  const { createClient } = await import('@switchboard/client');
  type C = import('./contract.js').StreamBenchContract;
  const client = createClient<C>({
    url: `ws://${HOST}:${port}`,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  return {
    async receive(shape, count, signal) {
      const check = SHAPES[shape].check;
      const stream = client.stream(shape, { count }, credit === undefined ? { signal } : { credit, signal });
      let chunks = 0;
      let wrong = 0;
      for await (const chunk of stream) {
        if (!check(chunk, chunks)) wrong++;
        chunks++;
      }
      return { chunks, wrong, count: (await stream.result).count };
    },
    close: () => void client.close(),
  };
}

async function trpc(port: number): Promise<Receiver> {
  const { client, wsClient } = await trpcOverWs<StreamAppRouter>(port);
  type Handlers = {
    signal: AbortSignal;
    onData(chunk: unknown): void;
    onComplete(): void;
    onError(err: unknown): void;
  };
  const subscribe = (shape: ShapeId, input: { count: number }, handlers: Handlers) => {
    switch (shape) {
      case 'small':
        return client.small.subscribe(input, handlers);
      case 'kib':
        return client.kib.subscribe(input, handlers);
      case 'bin16k':
        return client.bin16k.subscribe(input, handlers);
      case 'bin1m':
        return client.bin1m.subscribe(input, handlers);
    }
  };
  return {
    receive: (shape, count, signal) =>
      new Promise((resolve, reject) => {
        const check = SHAPES[shape].check;
        let chunks = 0;
        let wrong = 0;
        const handlers = {
          signal,
          onData(chunk: unknown) {
            if (!check(chunk, chunks)) wrong++;
            chunks++;
          },
          // The server's generator returned ('stopped'); tRPC sends no return value.
          onComplete: () => resolve({ chunks, wrong, count: null }),
          onError: (err: unknown) => reject(err),
        };
        const subscription = subscribe(shape, { count }, handlers);
        signal.addEventListener('abort', () => {
          subscription.unsubscribe();
          reject(new Error(`aborted after ${chunks} chunks`));
        });
      }),
    close: () => void wsClient.close(),
  };
}

async function socketio(port: number): Promise<Receiver> {
  const socket = await socketioConnected(port);
  return {
    receive: (shape, count, signal) =>
      new Promise((resolve, reject) => {
        const check = SHAPES[shape].check;
        let chunks = 0;
        let wrong = 0;
        const onChunk = (chunk: unknown): void => {
          if (!check(chunk, chunks)) wrong++;
          chunks++;
        };
        const done = (): void => {
          socket.off('chunk', onChunk);
          socket.off('end', onEnd);
        };
        const onEnd = (end: { count?: number; error?: string }): void => {
          done();
          if (end.error !== undefined) reject(new Error(end.error));
          else resolve({ chunks, wrong, count: end.count ?? null });
        };
        socket.on('chunk', onChunk);
        socket.on('end', onEnd);
        signal.addEventListener('abort', () => {
          done();
          reject(new Error(`aborted after ${chunks} chunks`));
        });
        socket.emit('stream', { shape, count });
      }),
    close: () => void socket.close(),
  };
}

/** `ws` with no protocol (servers/thin.ts): binary messages are the chunks' bytes, text ones their JSON, then `end <count>`. */
async function thin(port: number): Promise<Receiver> {
  const { WebSocket } = await import('ws');
  const socket = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    receive: (shape, count, signal) =>
      new Promise((resolve, reject) => {
        const check = SHAPES[shape].check;
        let chunks = 0;
        let wrong = 0;
        const onMessage = (data: Buffer, isBinary: boolean): void => {
          let chunk: unknown = data;
          if (!isBinary) {
            const text = data.toString();
            if (text.startsWith('end ')) {
              socket.off('message', onMessage);
              resolve({ chunks, wrong, count: Number(text.slice(4)) });
              return;
            }
            chunk = JSON.parse(text);
          }
          if (!check(chunk, chunks)) wrong++;
          chunks++;
        };
        socket.on('message', onMessage);
        signal.addEventListener('abort', () => {
          socket.off('message', onMessage);
          reject(new Error(`aborted after ${chunks} chunks`));
        });
        socket.send(JSON.stringify({ shape, count }));
      }),
    close: () => socket.close(),
  };
}
