// The dashboard's contract: shared by the server and (as a type only) by the page.
import { channel, defineContract, procedure } from '@switchboard/contract';
import { z } from 'zod';
import { MAX_RATE, MIN_RATE, ZONES } from './shared.js';

export const Zone = z.enum(ZONES);

/** One sensor's value at one moment; `time` is epoch ms (a number: cheap at high rates). */
export const Reading = z.object({ id: z.string(), zone: Zone, value: z.number(), time: z.number() });

export const Alert = z.object({
  id: z.number().int(),
  sensor: z.string(),
  zone: Zone,
  level: z.enum(['warning', 'critical']),
  value: z.number(),
  threshold: z.number(),
  raisedAt: z.number(),
});

/** What happens to alerts: one is raised, or one is acknowledged (and so closed). */
export const AlertEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('raised'), alert: Alert }),
  z.object({ kind: z.literal('acknowledged'), id: z.number().int() }),
]);

/**
 * The feed's settings. `revision` rises with every change within one server run
 * (`startedAt`), so a page keeps the newest and knows a restarted server's settings apart.
 */
export const FeedStatus = z.object({
  startedAt: z.number(),
  revision: z.number().int(),
  updatesPerSecond: z.number(),
  paused: z.record(Zone, z.boolean()),
});

/** The server's own numbers (from `server.metrics()`), once per second. */
export const Stats = z.object({
  time: z.number(),
  connections: z.number().int(),
  /** Channel messages this server sent on per second, all channels together. */
  publishedPerSecond: z.number(),
  callsPerSecond: z.number(),
  /** Calls so far, by procedure. */
  calls: z.record(z.string(), z.number().int()),
  eventLoopDelayMs: z.object({ p50: z.number(), p99: z.number(), max: z.number() }),
  memory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number() }),
  /** Readings a slow page got only the newest of (the `latest` policy), so far. */
  coalesced: z.number().int(),
});

const NoParams = z.object({});

export const contract = defineContract({
  procedures: {
    'feed.setRate': procedure({
      input: z.object({ updatesPerSecond: z.number().int().min(MIN_RATE).max(MAX_RATE) }),
      output: FeedStatus,
    }),
    'feed.setPaused': procedure({ input: z.object({ zone: Zone, paused: z.boolean() }), output: FeedStatus }),
    /** True when this call closed the alert; false when it was not open (acknowledged already). */
    'alerts.acknowledge': procedure({ input: z.object({ id: z.number().int().positive() }), output: z.boolean() }),
  },
  channels: {
    // Each starts with a snapshot of the current state, then the changes after it.
    readings: channel({ params: z.object({ zone: Zone }), message: Reading, snapshot: z.array(Reading) }),
    alerts: channel({ params: NoParams, message: AlertEvent, snapshot: z.array(Alert) }),
    'feed.status': channel({ params: NoParams, message: FeedStatus, snapshot: FeedStatus }),
    stats: channel({ params: NoParams, message: Stats }),
  },
});

export type DashboardContract = typeof contract;
export type ReadingData = z.infer<typeof Reading>;
export type AlertData = z.infer<typeof Alert>;
export type AlertEventData = z.infer<typeof AlertEvent>;
export type FeedStatusData = z.infer<typeof FeedStatus>;
export type StatsData = z.infer<typeof Stats>;
