import { type ClientState, createClient } from '@switchboard/client';
import { channel, defineContract, procedure, type RpcError } from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { until, within } from '../support/wait.js';

// 100 refreshes on one connection while a channel streams 2,000 messages/s: no reconnect,
// no message lost, repeated or reordered; the refresh that takes a room away ends exactly
// that subscription. Bounded: 5,000 messages, 100 refreshes, about 2.5 s.

const contract = defineContract({
  procedures: { me: procedure({ input: z.object({}), output: z.string() }) },
  channels: { room: channel({ params: z.object({ room: z.string() }), message: z.object({ n: z.number() }) }) },
});

const RATE_PER_S = 2_000;
const MESSAGES = 5_000;
const REFRESHES = 100;
/** From this refresh on, the credentials no longer open the private room. */
const DEMOTED_AT = 50;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

it(`${REFRESHES} refreshes while ${RATE_PER_S} messages/s stream: nothing lost, repeated or reordered, no reconnect`, async () => {
  const router = defineRouter(contract, {
    context: ({ auth }) => {
      const { token } = auth as { token: string };
      return { user: 'ada', admin: !token.startsWith('demoted') };
    },
    procedures: { me: ({ ctx }) => ctx.user },
    channels: { room: { authorize: ({ params, ctx }) => params.room !== 'private' || ctx.admin } },
  });
  const server = createServer({ router, heartbeat: false, limits: { maxRefreshesPerSecond: 1_000 } });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());

  let refreshes = 0;
  const client = createClient<typeof contract>({
    url: `ws://127.0.0.1:${port}`,
    WebSocket: WebSocket as never,
    auth: () => ({ token: refreshes >= DEMOTED_AT ? `demoted-${refreshes}` : `admin-${refreshes}` }),
  });
  cleanups.push(() => client.close());
  const states: ClientState[] = [];
  client.on('state', (state) => states.push(state));

  const lobby: number[] = [];
  const secret: number[] = [];
  const ended: RpcError[] = [];
  const lobbySub = client.subscribe('room', { room: 'lobby' }, { onMessage: ({ n }) => lobby.push(n) });
  const secretSub = client.subscribe(
    'room',
    { room: 'private' },
    { onMessage: ({ n }) => secret.push(n), onError: (error) => ended.push(error) },
  );
  await Promise.all([lobbySub.ready, secretSub.ready]);
  states.length = 0; // 'open' came before; count what follows

  // The publisher: 20 messages every 10 ms to each room, until MESSAGES.
  let published = 0;
  const publisher = setInterval(() => {
    for (let i = 0; i < RATE_PER_S / 100 && published < MESSAGES; i++) {
      published++;
      void server.publish('room', { room: 'lobby' }, { n: published });
      void server.publish('room', { room: 'private' }, { n: published });
    }
    if (published >= MESSAGES) clearInterval(publisher);
  }, 10);
  cleanups.push(() => clearInterval(publisher));

  // The refresher: one every 25 ms, each awaited.
  const refreshEveryMs = ((MESSAGES / RATE_PER_S) * 1_000) / REFRESHES;
  while (refreshes < REFRESHES) {
    refreshes++;
    await within(client.reauthenticate(), 5_000, `refresh ${refreshes}`);
    await new Promise((resolve) => setTimeout(resolve, refreshEveryMs));
  }
  await until(() => lobby.length >= MESSAGES, `all ${MESSAGES} lobby messages`, 10_000);

  const duplicated = lobby.length - new Set(lobby).size;
  const reordered = lobby.filter((n, i) => i > 0 && n < (lobby[i - 1] as number)).length;
  const lost = MESSAGES - new Set(lobby).size;
  console.info(
    `refresh load: ${refreshes} refreshes; lobby ${MESSAGES} sent, ${lobby.length} received, ` +
      `${duplicated} duplicated, ${lost} lost, ${reordered} reordered; private ended after ${secret.length}; ` +
      `reconnects ${states.filter((state) => state === 'reconnecting').length}`,
  );
  expect({ duplicated, lost, reordered }).toEqual({ duplicated: 0, lost: 0, reordered: 0 });
  expect(lobby).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
  expect(states).toEqual([]);
  expect(ended.map((error) => error.code)).toEqual(['FORBIDDEN']);
  expect(secret).toEqual(Array.from({ length: secret.length }, (_, i) => i + 1));
  expect(secret.length).toBeLessThan(MESSAGES);
});
