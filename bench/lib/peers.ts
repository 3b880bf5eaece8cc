// The peers' own clients, connected as every benchmark connects them: tRPC 11 over its ws
// link (superjson), socket.io-client on the websocket transport only. Loaded on first use, so
// a run that leaves a peer out never loads it.

import type { TRPCClient } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { Socket } from 'socket.io-client';

export const HOST = '127.0.0.1';

/** A tRPC client of router R on ws://HOST:port, and its ws client (close that to disconnect). */
export async function trpcOverWs<R extends AnyTRPCRouter>(
  port: number,
): Promise<{ client: TRPCClient<R>; wsClient: { close(): unknown } }> {
  const { WebSocket } = await import('ws');
  const { createTRPCClient, createWSClient, wsLink } = await import('@trpc/client');
  const superjson = (await import('superjson')).default;
  const wsClient = createWSClient({
    url: `ws://${HOST}:${port}`,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const client = createTRPCClient<R>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  return { client, wsClient };
}

/** A socket.io client of http://HOST:port, connected (or the connect error). */
export async function socketioConnected(port: number): Promise<Socket> {
  const { io } = await import('socket.io-client');
  const socket = io(`http://${HOST}:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}
