/**
 * Switchboard's React binding: a channel's live state as React state (snapshot + messages
 * folded by a reducer, with status, position and a selector), streams, the connection state,
 * Suspense, and server rendering that hands over to the live stream without a gap.
 * TanStack Query helpers for calls are in `@switchboard/react/query`.
 *
 * @module @switchboard/react
 */
export type { ChannelState, ChannelStatus, RenderMessages } from './channel-entry.js';
export { hooksFor } from './hooks-for.js';
export { type PreloadedChannel, type PreloadOptions, preloadChannel, serializePreloaded } from './preload.js';
export {
  DEFAULT_KEEP_ALIVE_MS,
  SwitchboardProvider,
  type SwitchboardProviderProps,
  useClient,
} from './provider.js';
export type { Register, RegisteredContract } from './register.js';
export type { StreamState, StreamStatus } from './stream-run.js';
export {
  type ChannelOptions,
  type ChannelResult,
  type LatestOf,
  type SelectOptions,
  type UseChannel,
  useChannel,
} from './use-channel.js';
export { useConnectionState } from './use-connection-state.js';
export { type StreamHookOptions, type StreamResult, type UseStream, useStream } from './use-stream.js';
