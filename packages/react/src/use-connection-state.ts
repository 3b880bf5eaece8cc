import type { ClientState } from '@switchboard/client';
import { useCallback, useSyncExternalStore } from 'react';
import { useEntries } from './provider.js';

/** What a server render (and the hydration after it) shows: the client has not connected yet. */
const SERVER_STATE: ClientState = 'connecting';

/** The client's connection state ('connecting', 'open', 'reconnecting', …), for a status pill. */
export function useConnectionState(): ClientState {
  const { client } = useEntries();
  const subscribe = useCallback(
    (onChange: () => void) => {
      client.on('state', onChange);
      return () => void client.off('state', onChange);
    },
    [client],
  );
  return useSyncExternalStore(
    subscribe,
    () => client.state,
    () => SERVER_STATE,
  );
}
