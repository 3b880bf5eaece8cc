import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildServer } from '../resilience/child-server.js';
import { within } from '../support/wait.js';
import { OP, RawPeer, type ServerFrame } from '../transport/raw-peer.js';
import type { TargetCommand, TargetEvent, TargetStats } from './fixtures/target-process.js';

// The per-connection budget of docs/security.md, measured: connections at default limits
// that each do everything a connection can to make the server hold memory, against the
// target app in its own process. HOSTILE_CONNECTIONS (default 100) sets how many.

const SCRIPT = 'packages/tests/security/fixtures/target-process.ts';
const MiB = 1024 * 1024;
const CONNECTIONS = Number(process.env.HOSTILE_CONNECTIONS ?? 100);
/** docs/security.md: the most one connection can make the server hold at default limits (≈ 17 MiB, with some margin). */
const BUDGET_PER_CONNECTION = 17.5 * MiB;
const STREAMS = 50;

type Target = ChildServer<TargetEvent, TargetCommand>;
let target: Target;

beforeAll(async () => {
  target = await ChildServer.start<TargetEvent, TargetCommand>([JSON.stringify({})], SCRIPT);
}, 30_000);
afterAll(async () => {
  await target?.kill(); // its calls run for ever: a graceful close would wait drainTimeoutMs
});

async function stats(): Promise<TargetStats> {
  const seen = target.events.length;
  target.send({ cmd: 'stats' });
  const isStats = (event: TargetEvent): event is TargetStats => event.event === 'stats';
  await target.until((events) => events.slice(seen).some(isStats), 'the target to report', 30_000);
  return target.events.slice(seen).find(isStats) as TargetStats;
}

async function publish(n: number): Promise<void> {
  const seen = target.events.length;
  target.send({ cmd: 'publish', channel: 'feed.drop', n, count: 300, size: 1_000 });
  await target.until((events) => events.slice(seen).some((e) => e.event === 'published'), 'a publish', 30_000);
}

const text = (envelope: unknown) => ({ opcode: OP.text, payload: JSON.stringify(envelope) });

/** Waits until `count` text frames have arrived on `peer` since `from` whose envelope matches. */
async function frames(peer: RawPeer, count: number, match: (envelope: { type?: string }) => boolean): Promise<void> {
  const matching = (frame: ServerFrame) =>
    frame.opcode === OP.text && match(JSON.parse(frame.payload.toString('utf8')) as { type?: string });
  await within(
    (async () => {
      while (peer.frames.filter(matching).length < count) {
        if (peer.tcpClosed) throw new Error('the server closed a hostile connection early');
        await new Promise((resolve) => peer.once('update', resolve));
      }
    })(),
    30_000,
    `${count} frames`,
  );
}

/** One connection doing everything it can to make the server hold memory for it. */
async function attack(i: number): Promise<RawPeer> {
  const peer = await RawPeer.upgrade(target.port, {
    path: `/?user=h${i}`,
    headers: ['Sec-WebSocket-Protocol: switchboard.v1'],
    timeoutMs: 10_000,
  });
  // Keyed calls never acknowledged, with big outcomes, in as many sessions as it may hold.
  let id = 1;
  for (const session of [`a${i}`, `b${i}`]) {
    for (let n = 1; n <= 6; n++) {
      peer.send(text({ type: 'call', id: id++, name: 'big.result', input: { size: 200_000 }, key: `${session}.${n}` }));
    }
  }
  await frames(peer, 12, (e) => e.type === 'result');
  // Calls that run for ever, carrying nearly as much input as maxInFlightBytes (4 MiB) lets
  // in flight: room is left for the subscribes that follow, which count while they run too.
  const data = 'x'.repeat(MiB - 400);
  for (let n = 0; n < 3; n++)
    peer.send(text({ type: 'call', id: id++, name: 'sink.slow', input: { ms: 3_600_000, data } }));
  // Subscriptions: half wait on an authorize that never answers, half follow busy streams.
  for (let n = 0; n < STREAMS; n++)
    peer.send(text({ type: 'subscribe', id: id++, name: 'room.gated', params: { room: `r${n}` } }));
  for (let n = 0; n < STREAMS; n++) peer.send(text({ type: 'subscribe', id: id++, name: 'feed.drop', params: { n } }));
  await frames(peer, STREAMS, (e) => e.type === 'subscribed');
  // Streaming calls granted all the credit they can use and never confirmed: their kept
  // chunks fill the connection's streamBufferBytes (4 MiB), then the handlers wait.
  for (let n = 0; n < 16; n++) {
    peer.send(
      text({
        type: 'stream',
        id: id++,
        name: 'bytes.stream',
        input: { size: 64 * 1024 },
        key: `s${i}.${n}`,
        credit: 1e9,
      }),
    );
  }
  // Stops reading, and starts a message it never finishes: 1 MiB in 16 KiB fragments.
  peer.socket.pause();
  const piece = Buffer.alloc(16 * 1024, 0x20);
  peer.send({ opcode: OP.text, fin: false, payload: '{"type":"call","id":1,"name":"sink.any","input":"' });
  for (let n = 0; n < 62; n++) peer.send({ opcode: OP.continuation, fin: false, payload: piece });
  return peer;
}

describe(`${CONNECTIONS} hostile connections at default limits`, () => {
  it('make the server hold no more than the documented budget each', async () => {
    const before = await stats();
    const peers: RawPeer[] = [];
    try {
      for (let i = 0; i < CONNECTIONS; i += 10) {
        peers.push(
          ...(await Promise.all(Array.from({ length: Math.min(10, CONNECTIONS - i) }, (_, k) => attack(i + k)))),
        );
      }
      for (let n = 0; n < STREAMS; n++) await publish(n);
      const after = await stats();
      expect(after.connections).toBe(CONNECTIONS); // drop-oldest: every one stayed within its budget, connected
      const grown = (s: TargetStats) => s.heapUsedBytes + s.externalBytes;
      const perConnection = (grown(after) - grown(before)) / CONNECTIONS;
      const rssPerConnection = (after.rssBytes - before.rssBytes) / CONNECTIONS;
      console.log(
        `${CONNECTIONS} hostile connections: server RSS ${(before.rssBytes / MiB).toFixed(0)} → ${(after.rssBytes / MiB).toFixed(0)} MiB ` +
          `(${(rssPerConnection / MiB).toFixed(2)} MiB each); heap + external after GC ${(grown(before) / MiB).toFixed(0)} → ` +
          `${(grown(after) / MiB).toFixed(0)} MiB (${(perConnection / MiB).toFixed(2)} MiB each); ` +
          `idempotency window ${(after.idempotencyBytes / MiB).toFixed(1)} MiB; longest message ${after.maxMessageCpuMs.toFixed(1)} ms CPU`,
      );
      expect(perConnection).toBeLessThan(BUDGET_PER_CONNECTION);
      expect(rssPerConnection).toBeLessThan(BUDGET_PER_CONNECTION);
    } finally {
      for (const peer of peers) peer.destroy();
    }
  }, 240_000);
});
