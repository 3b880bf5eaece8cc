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
      pushed(shape, signal, (take, end, fail) => {
        // The server's generator returned ('stopped'); tRPC sends no return value.
        const handlers = { signal, onData: take, onComplete: () => end(null), onError: fail };
        const subscription = subscribe(shape, { count }, handlers);
        return () => subscription.unsubscribe();
      }),
    close: () => void wsClient.close(),
  };
}

async function socketio(port: number): Promise<Receiver> {
  const socket = await socketioConnected(port);
  return {
    receive: (shape, count, signal) =>
      pushed(shape, signal, (take, end, fail) => {
        const onEnd = (e: { count?: number; error?: string }): void =>
          e.error === undefined ? end(e.count ?? null) : fail(new Error(e.error));
        socket.on('chunk', take);
        socket.on('end', onEnd);
        socket.emit('stream', { shape, count });
        return () => {
          socket.off('chunk', take);
          socket.off('end', onEnd);
        };
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
      pushed(shape, signal, (take, end) => {
        const onMessage = (data: Buffer, isBinary: boolean): void => {
          const text = isBinary ? '' : data.toString();
          if (isBinary) take(data);
          else if (text.startsWith('end ')) end(Number(text.slice(4)));
          else take(JSON.parse(text));
        };
        socket.on('message', onMessage);
        socket.send(JSON.stringify({ shape, count }));
        return () => socket.off('message', onMessage);
      }),
    close: () => socket.close(),
  };
}

/**
 * A stream whose library pushes the chunks: `start` asks for it, hands each chunk to `take`
 * and what the server says it made to `end` (or an error to `fail`), and returns how to stop
 * listening. Every chunk is checked (chunk i, in order); the signal's abort fails it.
 */
function pushed(
  shape: ShapeId,
  signal: AbortSignal,
  start: (
    take: (chunk: unknown) => void,
    end: (count: number | null) => void,
    fail: (err: unknown) => void,
  ) => () => void,
): Promise<Received> {
  return new Promise((resolve, reject) => {
    const check = SHAPES[shape].check;
    let chunks = 0;
    let wrong = 0;
    const take = (chunk: unknown): void => {
      if (!check(chunk, chunks)) wrong++;
      chunks++;
    };
    const stop = start(
      take,
      (count) => {
        stop();
        resolve({ chunks, wrong, count });
      },
      (err) => {
        stop();
        reject(err);
      },
    );
    signal.addEventListener('abort', () => {
      stop();
      reject(new Error(`aborted after ${chunks} chunks`));
    });
  });
}
