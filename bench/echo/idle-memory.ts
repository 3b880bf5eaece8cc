// Memory per idle connection: opens --connections upgraded connections and keeps them open,
// asking the server (through run.ts) for its RSS after a forced GC before and after.
// A warm-up batch is opened and closed first so that code loaded or compiled on the first
// connections is already in the baseline. Needs run.ts (the IPC relay) for the server numbers.
// Prints one JSON result line on stdout. Bounded by a hard timeout.

import type net from 'node:net';
import { int, oneOf, parse } from '../lib/args.js';
import type { ServerStats } from '../lib/ipc.js';
import { exitWithParent, printResult, requestServerStats } from '../lib/ipc.js';
import { connectAndUpgrade, mapLimit } from '../lib/upgrade.js';

const USAGE = `usage: tsx bench/echo/idle-memory.ts --port N [--protocol ws|tcp] [--connections 10000]
       [--concurrency 100] [--warmup-connections 500] [--settle-ms 1000]`;

const o = parse(
  {
    port: { type: 'string' },
    protocol: { type: 'string', default: 'ws' },
    connections: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '100' },
    'warmup-connections': { type: 'string', default: '500' },
    'settle-ms': { type: 'string', default: '1000' },
  },
  USAGE,
);
exitWithParent();
const port = int('port', o.port, 1, 65535);
const protocol = oneOf('protocol', o.protocol, ['ws', 'tcp'] as const);
const connections = int('connections', o.connections, 1, 50_000);
const concurrency = int('concurrency', o.concurrency, 1, 1000);
const warmupConnections = int('warmup-connections', o['warmup-connections'], 0, 10_000);
const settleMs = int('settle-ms', o['settle-ms'], 0, 60_000);

const CONNECT_TIMEOUT_MS = 15_000;
setTimeout(() => {
  process.stderr.write('idle-memory: hard timeout\n');
  process.exit(1);
}, 180_000).unref();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function fail(message: string): never {
  process.stderr.write(`idle-memory: ${message}\n`);
  process.exit(1);
}

/** Server stats after a forced GC, waiting until it counts `expected` connections (bounded). */
async function serverStats(expected: number): Promise<ServerStats> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const stats = await requestServerStats(true);
    if (stats === null) fail('no server stats: run this through bench/echo/run.ts (it relays them)');
    if (stats.connections === expected) return stats;
    await sleep(250);
  }
  fail(`server never reported ${expected} open connections`);
}

async function open(count: number): Promise<net.Socket[]> {
  try {
    return await mapLimit(count, concurrency, async () => {
      const { socket } = await connectAndUpgrade(port, protocol, CONNECT_TIMEOUT_MS);
      socket.on('error', () => {}); // counted through the server's connection count instead
      return socket;
    });
  } catch (err) {
    fail(`opening connections failed: ${(err as Error).message}`);
  }
}

if (warmupConnections > 0) {
  for (const socket of await open(warmupConnections)) socket.destroy();
}
await sleep(settleMs);
const before = await serverStats(0);
// Two halves, with a reading in between: the second half's cost per connection (the marginal
// cost, after heap spaces have grown for the first) shows how much of 0 -> N is one-off growth.
const half = Math.floor(connections / 2);
let started = performance.now();
const sockets = await open(half);
let openMs = performance.now() - started;
await sleep(settleMs);
const middle = await serverStats(half);
started = performance.now();
sockets.push(...(await open(connections - half)));
openMs += performance.now() - started;
await sleep(settleMs);
const after = await serverStats(connections);
const perConn = (a: number, b: number): number => (b - a) / connections / 1024;
printResult({
  protocol,
  connections,
  openMs: Math.round(openMs),
  gcForced: before.gcForced && after.gcForced,
  rssBefore: before.rss,
  rssAfter: after.rss,
  rssKiBPerConn: perConn(before.rss, after.rss),
  rssKiBPerConnSecondHalf: (after.rss - middle.rss) / (connections - half) / 1024,
  rssMiddle: middle.rss,
  heapKiBPerConn: perConn(before.heapUsed, after.heapUsed),
  externalKiBPerConn: perConn(before.external, after.external),
});
for (const socket of sockets) socket.destroy();
process.exit(0);
