// The page: one Switchboard client, seven subscriptions, four controls, one frame loop.
//
//   WebSocket ─▶ client ─▶ onMessage ─▶ model (readings buffered, newest per sensor)
//                                             │
//   requestAnimationFrame ─▶ flush buffer ─▶ view.frame(): rows, cards, charts, indicator
import { createClient, type Subscription } from '@switchboard/client';
import type { ChannelName, MessageOf, ParamsOf, RpcError } from '@switchboard/contract';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import type { DashboardContract } from '../contract.js';
import { ZONES, type Zone } from '../shared.js';
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

// ── the current state: first paint, and again after a gap ─────────────────

let loading: Promise<void> | undefined;
let loadAgain = false;

/** Fetches `dashboard.state`; a request while one is running runs once more after it. */
function loadState(): void {
  if (loading !== undefined) {
    loadAgain = true;
    return;
  }
  loading = (async () => {
    do {
      loadAgain = false;
      try {
        view.markChanged(model.applyState(await client.call('dashboard.state')));
      } catch (error) {
        view.notice('error', `Loading the current state failed: ${(error as RpcError).code ?? 'ERROR'}`);
      }
    } while (loadAgain);
    loading = undefined;
  })();
}

// ── subscriptions ─────────────────────────────────────────────────────────

const gapped = new Set<string>();
let gapNoticeTimer: ReturnType<typeof setTimeout> | undefined;

/** Every subscription reports a gap after a restart: one notice for all of them. */
function reportGap(tracker: StreamTracker): void {
  tracker.gaps++;
  gapped.add(tracker.label);
  loadState();
  clearTimeout(gapNoticeTimer);
  gapNoticeTimer = setTimeout(() => {
    const streams = gapped.size === 1 ? `1 stream (${[...gapped][0]})` : `${gapped.size} streams`;
    view.notice(
      'gap',
      `Gap: messages on ${streams} were missed and could not be replayed — the server lost its history (a restart?). Current state reloaded.`,
    );
    gapped.clear();
  }, 100);
}

function follow<K extends ChannelName<DashboardContract>>(
  channel: K,
  params: ParamsOf<DashboardContract, K>,
  label: string,
  apply: (message: MessageOf<DashboardContract, K>) => void,
): Subscription {
  const tracker = model.stream(label);
  return client.subscribe(channel, params, {
    onMessage: (message, meta) => {
      tracker.received(meta.position);
      apply(message);
    },
    onGap: () => reportGap(tracker),
    onError: (error) => view.notice('error', `The ${label} subscription ended: ${error.code} — ${error.message}`),
  });
}

const subscriptions = [
  ...ZONES.map((zone: Zone) =>
    follow('readings', { zone }, `readings/${zone}`, (reading) => model.bufferReading(reading)),
  ),
  follow('alerts', {}, 'alerts', (event) => model.alertEvent(event)),
  follow('feed.status', {}, 'feed.status', (status) => model.feedStatus(status)),
  follow('stats', {}, 'stats', (stats) => model.serverStats(stats)),
];

// Once the server has every subscription, the state it returns is no older than any of them.
void Promise.allSettled(subscriptions.map((subscription) => subscription.ready)).then(loadState);

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
      [...model.streams.values()].map(({ label, count, position, holes, gaps }) => [
        label,
        { count, position, holes, gaps },
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
