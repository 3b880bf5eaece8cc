import { channel, defineContract, procedure } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
import { createTestPair, record, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

// Heartbeats and slow links on the testing kit's fake clock: the bounds are exact, where
// wall-clock bounds would flake on a busy machine.

const contract = defineContract({
  procedures: { echo: procedure({ input: z.string(), output: z.string() }) },
  channels: { ticks: channel({ params: z.object({ feed: z.string() }), message: z.number() }) },
});
const router = defineRouter(contract, { procedures: { echo: ({ input }) => input } });

let pair: TestPair<typeof contract, undefined> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const BEAT = { intervalMs: 100, timeoutMs: 100 };

describe('the heartbeat', () => {
  it("finds a blackholed link after the client's interval + timeout, not before, within two of its ticks more", async () => {
    pair = await createTestPair({
      router,
      server: { heartbeat: false },
      client: { heartbeat: BEAT, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } },
    });
    const { client, link, clock } = pair;
    link.blackhole();
    await clock.advance(BEAT.intervalMs + BEAT.timeoutMs - 1);
    expect(client.state).toBe('open');
    // Checked every min(interval, timeout) / 2 = 50 ms: found by two ticks after the bound.
    await clock.advance(101);
    expect((await pair.whenState('reconnecting')).closeCode).toBe(4000);
    link.restore();
    await clock.advance(200);
    await pair.whenState('open');
    expect(await client.call('echo', 'alive')).toBe('alive');
  });

  it("finds a blackholed client on the server's side too: a silent interval, then timeoutMs for the ping", async () => {
    // The client's own heartbeat is off: only the server's ping frames can find the dead link.
    pair = await createTestPair({
      router,
      server: { heartbeat: BEAT },
      client: { heartbeat: false, reconnect: false },
    });
    const { server, link, clock } = pair;
    expect(server.connections).toBe(1);
    link.blackhole();
    await clock.advance(BEAT.intervalMs + BEAT.timeoutMs - 1);
    expect(server.connections).toBe(1);
    // Silence is noticed on the shared timer's next tick (up to one interval late).
    await clock.advance(BEAT.intervalMs + 1);
    expect(server.connections).toBe(0);
  });
});

describe('slow links', () => {
  it('keeps calls, subscriptions and the heartbeat right over a link that delays every byte', async () => {
    // 40 ms each way, well inside the heartbeat's timeout: slow is not dead.
    pair = await createTestPair({ router, client: { heartbeat: { intervalMs: 100, timeoutMs: 150 } } });
    const { client, server, link, clock } = pair;
    const states: string[] = [];
    client.on('state', (state) => states.push(state));
    link.delay(40);
    const feed = record(client, 'ticks', { feed: 'slow' });
    await clock.advance(80);
    await feed.subscription.ready;
    const calls = Array.from({ length: 100 }, (_, i) => client.call('echo', `call ${i}`));
    for (let tick = 1; tick <= 200; tick++) await server.publish('ticks', { feed: 'slow' }, tick);
    await clock.advance(80);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 100 }, (_, i) => `call ${i}`));
    expect(await feed.untilMessages(200)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // Ten heartbeat periods with nothing but pings, each answered 80 ms later: the same connection.
    await clock.advance(10 * 250);
    const still = client.call('echo', 'still here');
    await clock.advance(80);
    expect(await still).toBe('still here');
    expect(states).toEqual([]);
    expect(link.attempts).toBe(1);
  });
});
