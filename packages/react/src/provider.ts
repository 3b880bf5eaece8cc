import type { Client } from '@switchboard/client';
import { createContext, createElement, type ReactNode, useContext, useMemo, useState } from 'react';
import { ChannelEntries } from './channel-entries.js';
import type { RenderMessages } from './channel-entry.js';
import { type PreloadedChannel, seedsOf } from './preload.js';
import type { RegisteredContract } from './register.js';

/** A channel stream nobody reads keeps its subscription this long (ms), by default. */
export const DEFAULT_KEEP_ALIVE_MS = 1_000;

/** A client of any contract: the hooks take their types from the registered contract (Register). */
// biome-ignore lint/suspicious/noExplicitAny: a Client<C> of every contract C is one of these
export type AnyClient = Client<any>;

/** SwitchboardProvider's props. */
export interface SwitchboardProviderProps {
  /** The client every hook below uses. */
  client: AnyClient;
  /**
   * Snapshots taken by the server that rendered the page (preloadChannel): the hooks start
   * from them and continue after their positions. Read once, when the provider mounts.
   */
  preloaded?: readonly PreloadedChannel[] | undefined;
  /**
   * How long a channel stream nobody reads any more keeps its subscription (default 1,000
   * ms): a component that comes back within it takes no new snapshot.
   */
  keepAliveMs?: number;
  /**
   * When folded messages reach the components: `'each'` (default) renders after every
   * message; `'frame'` at most once per animation frame and stream, for feeds faster than the
   * screen (the state is folded at once either way; status changes render at once).
   */
  renderMessages?: RenderMessages;
  /** The application, whose hooks use this client. */
  children?: ReactNode;
}

const EntriesContext = createContext<ChannelEntries | null>(null);

/** Gives the hooks below it their client, and holds the channel streams they read. */
export function SwitchboardProvider({
  client,
  preloaded,
  keepAliveMs = DEFAULT_KEEP_ALIVE_MS,
  renderMessages = 'each',
  children,
}: SwitchboardProviderProps): ReactNode {
  // `preloaded` is read once, when the provider mounts; its seeds serve the first client only
  // (another client may be of another server, whose positions they are not).
  const [seeds] = useState(() => ({ client, byKey: seedsOf(preloaded) }));
  const entries = useMemo(
    () => new ChannelEntries(client, seeds.client === client ? seeds.byKey : new Map()),
    [client, seeds],
  );
  // Settings, not identities: changing them keeps every stream as it is.
  entries.keepAliveMs = keepAliveMs;
  entries.renderMessages = renderMessages;
  return createElement(EntriesContext.Provider, { value: entries }, children);
}

/** The provider's streams; throws outside a SwitchboardProvider. */
export function useEntries(): ChannelEntries {
  const entries = useContext(EntriesContext);
  if (entries === null) throw new Error('Switchboard hooks need a <SwitchboardProvider client={…}> above them');
  return entries;
}

/** The client of the nearest SwitchboardProvider, typed by the registered contract (Register). */
export function useClient(): Client<RegisteredContract> {
  return useEntries().client as unknown as Client<RegisteredContract>;
}
