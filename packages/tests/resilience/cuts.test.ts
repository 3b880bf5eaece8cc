import { createClient } from '@switchboard/client';
import { channel, defineContract } from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { seededRandom } from '../support/seeded-random.js';
import { FaultProxy } from './fault-proxy.js';

const contract = defineContract({
  channels: { seq: channel({ params: z.object({ run: z.string() }), message: z.number() }) },
});

const MESSAGES = 10_000;
const CUTS = 20;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('10,000 positioned messages through 20 cuts of the link', () => {
  it('delivers every message exactly once, in order', { timeout: 60_000 }, async () => {
    const server = createServer({
      router: defineRouter(contract, { procedures: {} }),
      history: { maxMessages: MESSAGES },
    });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const proxy = await FaultProxy.start(port);
    const client = createClient<typeof contract>({
      url: `ws://127.0.0.1:${proxy.port}`,
      WebSocket: WebSocket as never,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50, factor: 2 },
      heartbeat: false,
    });
    cleanups.push(
      () => client.close(),
      () => proxy.close(),
      () => server.close(),
    );

    const received: number[] = [];
    const gaps: unknown[] = [];
    // Outages: transitions from open to reconnecting (an outage may take several attempts).
    let reconnects = 0;
    let previous = client.state;
    client.on('state', (state) => {
      if (previous === 'open' && state === 'reconnecting') reconnects++;
      previous = state;
    });
    const all = new Promise<void>((resolve) => {
      const subscription = client.subscribe(
        'seq',
        { run: 'cuts' },
        {
          onMessage: (n) => {
            received.push(n);
            if (n === MESSAGES) resolve();
          },
          onGap: (gap) => gaps.push(gap),
        },
      );
      cleanups.push(() => subscription.unsubscribe());
    });
    const subscribed = client.subscribe('seq', { run: 'probe' }, { onMessage() {} });
    await subscribed.ready;

    // Cut points spread over the run, drawn from a seeded generator.
    const random = seededRandom(20);
    const cutAt = new Set<number>();
    while (cutAt.size < CUTS) cutAt.add(1 + Math.floor(random() * (MESSAGES - 1)));
    const whenState = (wanted: string) =>
      new Promise<void>((resolve, reject) => {
        if (client.state === wanted) return resolve();
        const timer = setTimeout(() => reject(new Error(`not ${wanted} within 5 s`)), 5_000);
        const onState = (state: string) => {
          if (state !== wanted) return;
          clearTimeout(timer);
          client.off('state', onState);
          resolve();
        };
        client.on('state', onState);
      });
    for (let n = 1; n <= MESSAGES; n++) {
      if (cutAt.has(n)) {
        // Each cut hits a live connection; publishing goes on while the client is away.
        await whenState('open');
        proxy.cut();
        await whenState('reconnecting');
      }
      await server.publish('seq', { run: 'cuts' }, n);
      // Let I/O (and the reconnects) run every 50 messages.
      if (n % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${received.length} of ${MESSAGES} arrived`)), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));

    const unique = new Set(received);
    const duplicated = received.length - unique.size;
    const lost = MESSAGES - unique.size;
    const inOrder = received.every((n, i) => i === 0 || n > (received[i - 1] as number));
    console.log(
      `cuts: sent ${MESSAGES}, received ${received.length}, duplicated ${duplicated}, lost ${lost}, reconnects ${reconnects}`,
    );
    expect({ duplicated, lost, inOrder, gaps: gaps.length }).toEqual({
      duplicated: 0,
      lost: 0,
      inOrder: true,
      gaps: 0,
    });
    expect(reconnects).toBe(CUTS);
  });
});
