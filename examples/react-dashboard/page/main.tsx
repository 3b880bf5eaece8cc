// The browser's entry: hydrates the server-rendered page and continues every stream live from
// the position it was rendered at (no second snapshot; nothing missed or repeated).
import { createClient } from '@switchboard/client';
import { type PreloadedChannel, SwitchboardProvider } from '@switchboard/react';
import { hydrateRoot } from 'react-dom/client';
import type { DashboardContract } from '../../dashboard/contract.js';
import { App } from './app.js';
import { startedFrom } from './probe.js';
import './styles.css';

const preloaded = JSON.parse(document.getElementById('sb-preloaded')?.textContent ?? '[]') as PreloadedChannel[];
for (const { key, position } of preloaded) {
  const zone = /"zone":"(\w+)"/.exec(key)?.[1];
  if (zone !== undefined) startedFrom(zone, position);
}

const client = createClient<DashboardContract>({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 },
});

// `?render=frame`: readings reach the tiles once per animation frame (for feeds faster than the screen).
const renderMessages = new URLSearchParams(location.search).get('render') === 'frame' ? 'frame' : 'each';

hydrateRoot(
  document.getElementById('root') as HTMLElement,
  <SwitchboardProvider client={client} preloaded={preloaded} renderMessages={renderMessages}>
    <App />
  </SwitchboardProvider>,
);
