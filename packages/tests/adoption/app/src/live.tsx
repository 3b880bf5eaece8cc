// The fresh app's React side: a live tile with the contract registered once, a query helper,
// and a server-side render of the tile from a preloaded snapshot (type-checked and run).
import type { Client } from '@switchboard/client';
import {
  preloadChannel,
  SwitchboardProvider,
  serializePreloaded,
  useChannel,
  useConnectionState,
} from '@switchboard/react';
import { callQueryOptions } from '@switchboard/react/query';
import { renderToString } from 'react-dom/server';
import type { AppContract } from './contract.js';
import { withServer } from './server.js';

declare module '@switchboard/react' {
  interface Register {
    contract: AppContract;
  }
}

export function Tile({ id }: { id: string }) {
  const { data, status } = useChannel(
    'board',
    { room: 'a' },
    { initial: (board) => board, reduce: (board, m) => ({ ...board, [m.id]: m.value }), select: (board) => board[id] },
  );
  const value: number | undefined = data;
  return <p>{`${status}:${useConnectionState()}:${value}`}</p>;
}

export const sumQuery = (client: Client<AppContract>) => callQueryOptions(client, 'add', { a: 1, b: 2 });

/** The tile rendered on the server from a preloaded snapshot, and the script that carries it. */
export function firstPaint(): Promise<string> {
  return withServer(async (client) => {
    const preloaded = [await preloadChannel(client, 'board', { room: 'a' })];
    const html = renderToString(
      <SwitchboardProvider client={client} preloaded={preloaded}>
        <Tile id="x" />
      </SwitchboardProvider>,
    );
    return `${html}<script>window.__SB__=${serializePreloaded(preloaded)}</script>`;
  });
}
