import { defineContract, procedure, RpcError } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
import { createTestPair, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

// Credentials that expire, on the testing kit's fake clock: the deadline is exact, and ten
// expiry periods of automatic refresh take no real time.

const contract = defineContract({
  procedures: { me: procedure({ input: z.object({}), output: z.string() }) },
  channels: {},
});

/** How long credentials last. */
const EXPIRY_MS = 60_000;

interface Ctx {
  user: string;
  expires: number;
}

const pairs: Array<TestPair<typeof contract, Ctx>> = [];
afterEach(async () => {
  for (const pair of pairs.splice(0)) await pair.close();
});

async function start(refresh: boolean) {
  let contexts = 0;
  const router = defineRouter(contract, {
    context: ({ auth }): Ctx => {
      contexts++;
      const token = (auth as { token?: string } | undefined)?.token;
      if (token !== 'ada') throw new RpcError('UNAUTHORIZED', 'who are you?');
      return { user: token, expires: Date.now() + EXPIRY_MS };
    },
    procedures: { me: ({ ctx }) => ctx.user },
  });
  const pair = await createTestPair({
    router,
    server: { expiresAt: (ctx) => ctx.expires, heartbeat: false },
    client: {
      auth: () => ({ token: 'ada' }),
      heartbeat: false,
      // Without refresh: the application never refreshes; the connection must end at the deadline.
      ...(refresh ? {} : { reconnect: false as const }),
    },
  });
  pairs.push(pair);
  return { pair, contexts: () => contexts };
}

describe('credentials that expire', () => {
  it('close the connection with 4401 at the deadline, not a millisecond before, when nobody refreshes', async () => {
    const { pair } = await start(false);
    const { client, clock } = pair;
    // Our client refreshes at 90% of the period (by reauthenticate()); one that does not, as
    // this one is made to, is held to the deadline.
    client.reauthenticate = async () => {};
    const states: string[] = [];
    client.on('state', (state, info) =>
      states.push(`${state} ${info.closeCode ?? ''} ${info.error?.message ?? ''}`.trim()),
    );
    await clock.advance(EXPIRY_MS - 1);
    expect(client.state).toBe('open');
    expect(await client.call('me', {})).toBe('ada');
    await clock.advance(1);
    const info = await pair.whenState('unauthorized');
    expect([info.closeCode, info.error?.code, info.error?.message]).toEqual([
      4401,
      'UNAUTHORIZED',
      'the credentials expired',
    ]);
  });

  it('are refreshed by our client ahead of time: ten expiry periods, no drop, no reconnect', async () => {
    const { pair, contexts } = await start(true);
    const { client, clock, link } = pair;
    const states: string[] = [];
    client.on('state', (state) => states.push(state));
    for (let period = 0; period < 10; period++) await clock.advance(EXPIRY_MS);
    expect(contexts()).toBeGreaterThanOrEqual(11);
    expect(await client.call('me', {})).toBe('ada');
    expect(states).toEqual([]);
    expect(link.attempts).toBe(1);
  });
});
