import type { ClientState } from '@switchboard/client';

/**
 * The connection indicator's words: `open`, `reconnecting in 3 s`, `offline`…, followed
 * by `· 2 calls queued` while calls wait for the connection.
 */
export function connectionLabel(
  state: ClientState,
  reconnectAtMs: number | undefined,
  queuedCalls: number,
  nowMs: number,
): string {
  let text: string;
  switch (state) {
    case 'reconnecting': {
      const leftMs = reconnectAtMs === undefined ? 0 : reconnectAtMs - nowMs;
      text = leftMs > 0 ? `reconnecting in ${Math.ceil(leftMs / 1000)} s` : 'reconnecting…';
      break;
    }
    case 'connecting':
      text = 'connecting…';
      break;
    default:
      text = state; // open, offline, closed
  }
  if (queuedCalls > 0) text += ` · ${queuedCalls} ${queuedCalls === 1 ? 'call' : 'calls'} queued`;
  return text;
}
