import { randomUUID } from 'node:crypto';
import type { Client } from '@switchboard/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerAvailable } from '../support/redis-server.js';
import { until, within } from '../support/wait.js';
import { type ClusterNode, clusterClient, startCluster, whenOpen } from './cluster.js';
import type { ClusterContract } from './fixtures/contract.js';

// Three Switchboard server processes on one Redis, clients spread across them: one
// system. Counts are printed as sent / received / duplicated / lost.

const available = redisServerAvailable();
let redis: RedisServer;
let nodes: ClusterNode[] = [];

if (available) {
  beforeAll(async () => {
    redis = await RedisServer.start();
    nodes = await startCluster(3, redis.url, `c${randomUUID().slice(0, 8)}`);
  }, 40_000);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  }, 20_000);
}

const clients: Array<Client<ClusterContract>> = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((client) => within(client.close(), 5_000, 'a client to close')));
});

function client(
  url: string | (() => string),
  options: { reconnect?: boolean; user?: string } = {},
): Client<ClusterContract> {
  const made = clusterClient(url, options);
  clients.push(made);
  return made;
}

interface Received {
  from: string;
  n: number;
  offset: number;
}

const offsetOf = (position: string) => Number(position.slice(position.lastIndexOf(':') + 1));

describe.skipIf(!available)('three server processes on one Redis', () => {
  it('delivers every message published on any node exactly once to every matching subscriber on every node, in order per channel', async () => {
    const rooms = ['r0', 'r1', 'r2'];
    const perNodePerRoom = 400;
    const clientsPerNode = 12;

    // 36 clients, 12 on each node; client i follows rooms i and i+1 (mod 3): 24 subscribers per room.
    const subscribers: Array<{ node: string; room: string; received: Received[]; gaps: number }> = [];
    await Promise.all(
      Array.from({ length: clientsPerNode * nodes.length }, async (_, i) => {
        const node = nodes[i % nodes.length] as ClusterNode;
        const c = client(node.url);
        await whenOpen(c);
        for (const room of [rooms[i % 3], rooms[(i + 1) % 3]] as string[]) {
          const record = { node: node.name, room, received: [] as Received[], gaps: 0 };
          subscribers.push(record);
          const sub = c.subscribe(
            'feed',
            { room },
            {
              onMessage: ({ from, n }, meta) => record.received.push({ from, n, offset: offsetOf(meta.position) }),
              onGap: () => record.gaps++,
            },
          );
          await sub.ready;
        }
      }),
    );

    // Every node publishes to every room at once.
    const controls = await Promise.all(
      nodes.map(async (node) => {
        const c = client(node.url);
        await whenOpen(c);
        return { node, c };
      }),
    );
    const bursts = await Promise.all(
      controls.flatMap(({ node, c }) =>
        rooms.map((room) => c.call('burst', { room, from: node.name, count: perNodePerRoom, intervalMs: 0 })),
      ),
    );
    const sent = bursts.reduce((sum, burst) => sum + burst.published, 0);
    expect(bursts.every((burst) => burst.failed === 0)).toBe(true);
    const perRoom = perNodePerRoom * nodes.length;
    const expected = subscribers.length * perRoom;
    const total = () => subscribers.reduce((sum, s) => sum + s.received.length, 0);
    await until(() => total() >= expected, `${expected} deliveries (have ${total()})`, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // anything extra (a duplicate) would land now

    let duplicated = 0;
    let lost = 0;
    for (const s of subscribers) {
      const keys = new Set(s.received.map((r) => `${r.from}:${r.n}`));
      duplicated += s.received.length - keys.size;
      lost += perRoom - keys.size;
      // In order per channel: offsets one by one, and each node's messages in its own order.
      const offsets = s.received.map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] as number) + i));
      for (const node of nodes) {
        const ns = s.received.filter((r) => r.from === node.name).map((r) => r.n);
        expect(ns).toEqual(Array.from({ length: perNodePerRoom }, (_, i) => i));
      }
      expect(s.gaps).toBe(0);
    }
    const received = total();
    console.log(
      `cross-node fan-out: ${sent} messages published (${perNodePerRoom} per node per room, 3 nodes, 3 rooms) to ` +
        `${subscribers.length} subscriptions on ${clientsPerNode * nodes.length} clients over 3 nodes: ` +
        `sent ${expected} deliveries, received ${received}, duplicated ${duplicated}, lost ${lost}`,
    );
    expect({ received, duplicated, lost }).toEqual({ received: expected, duplicated: 0, lost: 0 });
    for (const node of nodes) expect(node.unhandled).toEqual([]);
  });

  it("revokes a user's connections on every node from any node: closed 4401, the others untouched; prints the time", async () => {
    // Three of u1's connections on each node, one of u2's (the caller) on each.
    const victims = nodes.flatMap((node) => [0, 1, 2].map(() => client(node.url, { user: 'u1' })));
    const others = nodes.map((node) => client(node.url, { user: 'u2' }));
    await Promise.all([...victims, ...others].map((c) => whenOpen(c)));
    const [caller] = others as [Client<ClusterContract>];
    const errors: string[] = [];
    const ended = victims.map(
      (victim) =>
        new Promise<number>((resolve) => {
          victim.on('state', (state, info) => {
            if (state !== 'unauthorized') return;
            errors.push(`${info.error?.code}: ${info.error?.message}`);
            resolve(performance.now());
          });
        }),
    );

    const started = performance.now();
    const { closed, ms } = await caller.call('revoke', { user: 'u1' });
    const lastClosedAt = Math.max(...(await within(Promise.all(ended), 5_000, "every u1 client to be 'unauthorized'")));
    console.log(
      `revoke across 3 nodes: ${closed} connections closed, disconnect() took ${ms.toFixed(1)} ms on the node, ` +
        `${(lastClosedAt - started).toFixed(1)} ms from the call to the last client 'unauthorized'`,
    );
    expect(closed).toBe(victims.length);
    expect(errors).toEqual(victims.map(() => 'UNAUTHORIZED: revoked'));
    expect(others.map((c) => c.state)).toEqual(['open', 'open', 'open']);
    await expect(caller.call('whoami', undefined)).resolves.toBeGreaterThan(0);
  });

  it('resumes a client moved from node A to node B mid-stream (A killed) with no loss and no duplicate', async () => {
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    let target = a.url;
    const mover = client(() => target, { reconnect: true });
    const states: string[] = [];
    mover.on('state', (state) => states.push(state));
    const received: Received[] = [];
    let gaps = 0;
    const sub = mover.subscribe(
      'feed',
      { room: 'move' },
      {
        onMessage: ({ from, n }, meta) => received.push({ from, n, offset: offsetOf(meta.position) }),
        onGap: () => gaps++,
      },
    );
    await sub.ready;

    // C publishes a steady stream; A dies while it flows, and the client comes back on B.
    const count = 600;
    const control = client(c.url);
    await whenOpen(control);
    const burst = control.call('burst', { room: 'move', from: c.name, count, intervalMs: 2 });
    await until(() => received.length >= 150, '150 messages through A', 10_000);
    target = b.url;
    await a.kill();
    const receivedWhenKilled = received.length;
    expect((await burst).published).toBe(count);
    await until(() => received.length >= count, `all ${count} (have ${received.length})`, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const ns = received.map((r) => r.n);
    const duplicated = ns.length - new Set(ns).size;
    const lost = count - new Set(ns).size;
    console.log(
      `moved client: node A killed after ${receivedWhenKilled} of ${count} messages; on node B: ` +
        `sent ${count}, received ${received.length}, duplicated ${duplicated}, lost ${lost}, gaps ${gaps}`,
    );
    expect(ns).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(gaps).toBe(0);
    expect(receivedWhenKilled).toBeLessThan(count); // it did move mid-stream
    expect(states).toContain('reconnecting');
    expect(await mover.call('whoami', undefined)).toBe(b.pid);
    for (const node of [b, c]) expect(node.unhandled).toEqual([]);
  });

  it('keeps serving through a Redis restart: publishes fail with UNAVAILABLE while it is down, every node recovers by itself', async () => {
    const live = nodes.filter((node) => node.alive);
    expect(live.length).toBeGreaterThanOrEqual(2);
    const subscribers = await Promise.all(
      live.map(async (node) => {
        const c = client(node.url);
        await whenOpen(c);
        const record = { node: node.name, received: [] as Received[] };
        await c.subscribe(
          'feed',
          { room: 'restart' },
          { onMessage: ({ from, n }, meta) => record.received.push({ from, n, offset: offsetOf(meta.position) }) },
        ).ready;
        return record;
      }),
    );
    const control = client((live[0] as ClusterNode).url);
    await whenOpen(control);
    expect(await control.call('burst', { room: 'restart', from: 'before', count: 50, intervalMs: 0 })).toEqual({
      published: 50,
      failed: 0,
    });
    await until(() => subscribers.every((s) => s.received.length === 50), 'the first 50 on every node', 10_000);

    await redis.kill();
    const startedAt = Date.now();
    const whileDown = await control.call('burst', { room: 'restart', from: 'down', count: 20, intervalMs: 0 });
    const downMs = Date.now() - startedAt;
    expect(whileDown).toEqual({ published: 0, failed: 20 }); // each publish refused at once, none queued

    await redis.restart();
    // The nodes reconnect by themselves: publish again until one goes through (bounded).
    const deadline = Date.now() + 10_000;
    while ((await control.call('burst', { room: 'restart', from: 'probe', count: 1, intervalMs: 0 })).published === 0) {
      if (Date.now() > deadline) throw new Error('the nodes did not recover within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await control.call('burst', { room: 'restart', from: 'after', count: 50, intervalMs: 0 })).toEqual({
      published: 50,
      failed: 0,
    });
    await until(
      () => subscribers.every((s) => s.received.filter((r) => r.from === 'after').length === 50),
      'the 50 published after the restart on every node',
      10_000,
    );
    for (const s of subscribers) {
      expect(s.received.filter((r) => r.from === 'down')).toEqual([]);
      expect(s.received.filter((r) => r.from === 'after').map((r) => r.n)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
    }
    console.log(
      `redis restart under ${live.length} nodes: 20 publishes refused in ${downMs} ms while down, 50 + 50 delivered on every node`,
    );
    for (const node of live) expect(node.unhandled).toEqual([]);
  });
});
