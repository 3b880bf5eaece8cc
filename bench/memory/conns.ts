// Memory per connection: opens --connections raw WebSocket connections of one contender (after a
// warm-up batch that is opened, subscribed and closed), then subscribes each to the feed. The
// server's RSS and JS heap (after a forced GC, once it counts the connections) are taken with
// none, with all idle, and with all subscribed. Prints one JSON result line; needs run.ts (IPC relay).

import { mapLimit, RawSubscriber } from '../fanout/raw.js';
import { int, oneOf, parse } from '../lib/args.js';
import type { ServerStats } from '../lib/ipc.js';
import { exitWithParent, printResult, requestServerStats } from '../lib/ipc.js';

const o = parse(
  {
    contender: { type: 'string' },
    port: { type: 'string' },
    connections: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '100' },
    'warmup-connections': { type: 'string', default: '500' },
    'settle-ms': { type: 'string', default: '1000' },
    topics: { type: 'string', default: 'one' },
  },
  'usage: tsx bench/memory/conns.ts --contender C --port N [--connections 10000] [--concurrency 100] [--warmup-connections 500] [--topics one|each]',
);
exitWithParent();
const contender = oneOf('contender', o.contender, ['switchboard', 'thin', 'socketio', 'trpc'] as const);
const port = int('port', o.port, 1, 65535);
const connections = int('connections', o.connections, 1, 19_000);
const concurrency = int('concurrency', o.concurrency, 1, 1000);
const warmup = int('warmup-connections', o['warmup-connections'], 0, 5000);
const settleMs = int('settle-ms', o['settle-ms'], 0, 60_000);
/** `one`: every connection subscribes to the same stream; `each`: each to its own (per-user or per-device channels). */
const topics = oneOf('topics', o.topics, ['one', 'each'] as const);
const roomOf = (i: number): string => (topics === 'one' ? 'r' : `r${i}`);
setTimeout(() => fail('hard timeout'), 240_000).unref();

function fail(message: string): never {
  process.stderr.write(`memory (${contender}): ${message}\n`);
  process.exit(1);
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function serverStats(expected: number): Promise<ServerStats> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const stats = await requestServerStats(true, 20_000);
    if (stats === null) fail('no server stats: run this through bench/memory/run.ts');
    if (stats.connections === expected) return stats;
    await sleep(250);
  }
  fail(`server never reported ${expected} open connections`);
}

async function open(count: number, subscribe: boolean): Promise<RawSubscriber[]> {
  try {
    return await mapLimit(count, concurrency, async () => {
      const s = new RawSubscriber(contender, port);
      const timer = setTimeout(() => s.socket.destroy(new Error('setup timed out')), 20_000);
      try {
        await s.ready();
        if (subscribe) await s.subscribe();
      } finally {
        clearTimeout(timer);
      }
      return s;
    });
  } catch (err) {
    fail(`opening connections failed: ${(err as Error).message}`);
  }
}

if (warmup > 0) for (const s of await open(warmup, true)) s.socket.destroy();
await sleep(settleMs);
const before = await serverStats(0);
let t = performance.now();
const conns = await open(connections, false);
const openMs = performance.now() - t;
await sleep(settleMs);
const idle = await serverStats(connections);
t = performance.now();
try {
  await mapLimit(conns.length, concurrency, (i) => (conns[i] as RawSubscriber).subscribe(roomOf(i)));
} catch (err) {
  fail(`subscribing failed: ${(err as Error).message}`);
}
const subscribeMs = performance.now() - t;
await sleep(settleMs);
const subscribed = await serverStats(connections);
const kib = (a: number, b: number): number => (b - a) / connections / 1024;
printResult({
  contender,
  connections,
  topics,
  openMs: Math.round(openMs),
  subscribeMs: Math.round(subscribeMs),
  gcForced: before.gcForced && subscribed.gcForced,
  rssBefore: before.rss,
  rssIdle: idle.rss,
  rssSubscribed: subscribed.rss,
  idleRssKiB: kib(before.rss, idle.rss),
  idleHeapKiB: kib(before.heapUsed, idle.heapUsed),
  subRssKiB: kib(idle.rss, subscribed.rss),
  subHeapKiB: kib(idle.heapUsed, subscribed.heapUsed),
  totalSubRssKiB: kib(before.rss, subscribed.rss),
  closedEarly: conns.filter((s) => s.closed).length,
});
for (const s of conns) s.socket.destroy();
process.exit(0);
