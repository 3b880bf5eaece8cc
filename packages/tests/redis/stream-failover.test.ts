import { randomUUID } from 'node:crypto';
import { type Client, createClient, type RpcError } from '@switchboard/client';
import { redisBroker } from '@switchboard/redis';
import { createServer } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FaultProxy } from '../resilience/fault-proxy.js';
import { StreamProbe, type streamContract, streamRouter } from '../streams/fixtures.js';
import { useRedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';
import { ClusterNode } from './cluster.js';

// A stream whose server process is SIGKILLed: the client resumes on another node, which
// answers from what the dead one recorded in Redis before sending: the chunks the client
// lacks, then the end if it was recorded, else STREAM_LOST ('process'). Never a duplicate,
// never a silent truncation, and the handler never runs twice.

const { available, redis } = useRedisServer();
const NODE_SCRIPT = 'packages/tests/redis/fixtures/stream-node.ts';

const cleanups: Array<() => Promise<unknown> | undefined> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const prefix = `s${randomUUID().slice(0, 8)}`;
  const a = await ClusterNode.start('A', redis.url, prefix, NODE_SCRIPT);
  cleanups.push(() => a.kill());
  const probeB = new StreamProbe();
  const broker = redisBroker({ url: redis.url, prefix, idempotency: { leaseMs: 1_000 } });
  const b = createServer({
    router: streamRouter(probeB, true),
    broker,
    heartbeat: false,
    idempotency: {
      store: broker.idempotency,
      scope: (ctx) => (ctx as { user: string } | undefined)?.user ?? 'anonymous',
    },
  });
  const { port } = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(
    () => broker.close(),
    () => b.close(),
  );
  const proxy = await FaultProxy.start(a.port);
  cleanups.push(() => proxy.close());
  const client: Client<typeof streamContract> = createClient<typeof streamContract>({
    url: `ws://127.0.0.1:${proxy.port}`,
    WebSocket: WebSocket as never,
    auth: () => ({ user: 'ada' }),
    reconnect: { initialDelayMs: 20, maxDelayMs: 50, factor: 2 },
    heartbeat: false,
  });
  cleanups.push(() => client.close());
  const runsOn = (node: ClusterNode, tag: string) =>
    node.events.filter((e) => e.event === 'run' && (e as { tag?: string }).tag === tag).length;
  return { a, bPort: port, probeB, proxy, client, runsOn };
}

describe.skipIf(!available)('a stream whose node is SIGKILLed (2 nodes, one Redis)', () => {
  it('resumes on the other node: the recorded chunks, then STREAM_LOST (process); none twice, none missing', async () => {
    const { a, bPort, probeB, proxy, client, runsOn } = await setup();
    const received: number[] = [];
    let ending: RpcError | undefined;
    try {
      for await (const { n } of client.stream('count', { to: 50_000, tag: 'kill' })) {
        received.push(n);
        if (n === 1_000) {
          await a.kill();
          proxy.retarget(bPort);
          proxy.cut();
          proxy.restore();
        }
      }
    } catch (error) {
      ending = error as RpcError;
    }
    const after = (ending?.data as { after?: number } | undefined)?.after;
    const duplicated = received.length - new Set(received).size;
    const inOrder = received.every((n, i) => n === i + 1);
    console.log(
      `[streams] SIGKILL at chunk 1,000 of 50,000: received ${received.length} (the last one recorded: ${after}), ` +
        `duplicated ${duplicated}, in order ${inOrder}, ended ${ending?.code} ${JSON.stringify(ending?.data)}, ` +
        `runs on A ${runsOn(a, 'kill')}, on B ${probeB.runs.get('kill') ?? 0}`,
    );
    expect(ending?.code).toBe('STREAM_LOST');
    expect(ending?.data).toMatchObject({ reason: 'process' });
    expect({ duplicated, inOrder }).toEqual({ duplicated: 0, inOrder: true });
    // Every chunk the dead node recorded reached the client, and nothing past it.
    expect(received.length).toBe(after);
    expect(received.length).toBeGreaterThanOrEqual(1_000);
    expect(runsOn(a, 'kill')).toBe(1);
    expect(probeB.runs.has('kill')).toBe(false);
  });

  it('serves a run the dead node had finished from its record: the rest of the chunks and its end', async () => {
    const { a, bPort, probeB, proxy, client, runsOn } = await setup();
    const received: number[] = [];
    const stream = client.stream('count', { to: 200, tag: 'done' }, { credit: 256 });
    const iterator = stream[Symbol.asyncIterator]();
    received.push(((await iterator.next()).value as { n: number }).n);
    // Nothing more reaches the client; node A goes on (its credit allows it) and records its end.
    proxy.blackhole();
    await until(
      () => a.events.some((e) => e.event === 'recorded' && (e as { type?: string }).type === 'end'),
      "node A to record the run's end",
    );
    await a.kill();
    proxy.retarget(bPort);
    proxy.cut();
    proxy.restore();
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) received.push(step.value.n);
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await stream.result).toEqual({ total: 200 });
    expect(runsOn(a, 'done')).toBe(1);
    expect(probeB.runs.has('done')).toBe(false);
  });
});
