// The page: one Switchboard client, seven subscriptions, four controls, one frame loop.
//
//   WebSocket ─▶ client ─▶ onMessage ─▶ model (readings buffered, newest per sensor)
//                                             │
//   requestAnimationFrame ─▶ flush buffer ─▶ view.frame(): rows, cards, charts, indicator
import { createClient, type Subscription } from '@switchboard/client';
import type { ChannelName, MessageOf, ParamsOf, RpcError, SnapshotOf } from '@switchboard/contract';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import type { DashboardContract } from '../contract.js';
import { ZONES } from '../shared.js';
import { DashboardModel, type StreamTracker } from './model.js';
import { DashboardView } from './view.js';

const client = createClient<DashboardContract>({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  // A dashboard on a LAN wants to be back soon: retry within 10 s at the latest.
  reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 },
});

const model = new DashboardModel();
const view = new DashboardView(
  model,
  {
    setRate: (updatesPerSecond) =>
      control('rate', `Setting the rate to ${updatesPerSecond}/s`, async () =>
        model.feedStatus(await client.call('feed.setRate', { updatesPerSecond })),
      ),
    setPaused: (zone, paused) =>
      control(`pause:${zone}`, `${paused ? 'Pausing' : 'Resuming'} ${zone}`, async () =>
        model.feedStatus(await client.call('feed.setPaused', { zone, paused })),
      ),
    acknowledge: (id) =>
      control(`ack:${id}`, `Acknowledging alert ${id}`, async () => {
        await client.call('alerts.acknowledge', { id });
        model.acknowledged(id);
      }),
  },
  () => client.queuedCalls,
);

/** Runs a control's call; while it waits (perhaps queued offline) its button says so. */
async function control(key: string, what: string, run: () => Promise<void>): Promise<void> {
  view.setPending(key, true);
  try {
    await run();
  } catch (error) {
    view.notice('error', `${what} failed: ${(error as RpcError).code ?? 'ERROR'} — ${(error as Error).message}`);
  } finally {
    view.setPending(key, false);
  }
}

client.on('state', (state, info) => view.connection(state, info));

// ── subscriptions: each starts from a snapshot of the current state ───────

const gapped = new Set<string>();
let gapNoticeTimer: ReturnType<typeof setTimeout> | undefined;

/** Every subscription reports a gap after a restart: one notice for all of them. */
function reportGap(tracker: StreamTracker): void {
  gapped.add(tracker.label);
  clearTimeout(gapNoticeTimer);
  gapNoticeTimer = setTimeout(() => {
    const streams = gapped.size === 1 ? `1 stream (${[...gapped][0]})` : `${gapped.size} streams`;
    view.notice(
      'gap',
      `Gap: messages on ${streams} were missed and could not be replayed — the server lost its history (a restart?). The current state came with fresh snapshots.`,
    );
    gapped.clear();
  }, 100);
}

function follow<K extends ChannelName<DashboardContract>>(
  channel: K,
  params: ParamsOf<DashboardContract, K>,
  label: string,
  apply: (message: MessageOf<DashboardContract, K>) => void,
  applySnapshot?: (state: SnapshotOf<DashboardContract, K>) => void,
): Subscription {
  const tracker = model.stream(label);
  return client.subscribe(channel, params, {
    onSnapshot: (state, meta) => {
      // A second snapshot replaces messages the server could no longer replay.
      if (tracker.snapshot(meta.position)) reportGap(tracker);
      applySnapshot?.(state);
    },
    onMessage: (message, meta) => {
      tracker.received(meta.position);
      apply(message);
    },
    onGap: () => {
      tracker.gaps++;
      reportGap(tracker);
    },
    onError: (error) => view.notice('error', `The ${label} subscription ended: ${error.code} — ${error.message}`),
  });
}

for (const zone of ZONES) {
  follow(
    'readings',
    { zone },
    `readings/${zone}`,
    (reading) => model.bufferReading(reading),
    (readings) => model.readingsSnapshot(readings),
  );
}
follow(
  'alerts',
  {},
  'alerts',
  (event) => model.alertEvent(event),
  (alerts) => model.alertsSnapshot(alerts),
);
follow(
  'feed.status',
  {},
  'feed.status',
  (status) => model.feedStatus(status),
  (status) => model.feedStatus(status),
);
follow('stats', {}, 'stats', (stats) => model.serverStats(stats));

// ── the frame loop ────────────────────────────────────────────────────────

let frames = 0;
const frame = (nowMs: number) => {
  frames++;
  view.markChanged(model.flushReadings());
  view.frame(nowMs);
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);

/** What tests and the fps script read: the page's own counts, not its pixels. */
const inspector = {
  streams: () =>
    Object.fromEntries(
      [...model.streams.values()].map(({ label, count, position, holes, gaps, snapshots }) => [
        label,
        { count, position, holes, gaps, snapshots },
      ]),
    ),
  connection: () => ({ state: client.state, queuedCalls: client.queuedCalls }),
  feed: () => model.feed,
  alerts: () => [...model.alerts.values()],
  charts: () => view.chartPoints,
  rowUpdates: () => view.rowUpdates,
  frames: () => frames,
  fps: () => view.fps,
};
(window as unknown as { __dashboard: typeof inspector }).__dashboard = inspector;
export type DashboardInspector = typeof inspector;
