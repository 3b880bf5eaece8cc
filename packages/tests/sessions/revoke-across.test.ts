import { type Client, type ClientState, createClient, type StateInfo } from '@switchboard/client';
import { defineContract, procedure, RpcError } from '@switchboard/contract';
import { createServer, defineRouter, MemoryBroker, type SwitchboardServer } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { within } from '../support/wait.js';

// server.disconnect() reaching the connections of other servers that share the broker.
// Here the servers share one in-memory broker in this process; packages/tests/redis/
// cluster.test.ts does the same across three processes on Redis and prints the time.

const contract = defineContract({
  procedures: { me: procedure({ input: z.object({}), output: z.string() }) },
  channels: {},
});

interface Ctx {
  user: string;
  /** A Date, so that the copies other servers send are superjson's, not plain JSON's. */
  since: Date;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

async function startServers(count: number, clusterTimeoutMs = 2_000) {
  const broker = new MemoryBroker();
  const router = defineRouter(contract, {
    context: ({ auth }) => {
      const { user } = auth as { user: string };
      return { user, since: new Date(0) };
    },
    procedures: { me: ({ ctx }) => ctx.user },
  });
  const servers: Array<{ server: SwitchboardServer<typeof contract, Ctx>; url: string }> = [];
  for (let i = 0; i < count; i++) {
    const server = createServer({ router, broker, heartbeat: false, limits: { clusterTimeoutMs } });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close());
    servers.push({ server, url: `ws://127.0.0.1:${port}` });
  }
  return { broker, servers };
}

function connect(url: string, user: string): Client<typeof contract> {
  const client = createClient<typeof contract>({
    url,
    WebSocket: WebSocket as never,
    auth: () => ({ user }),
    reconnect: { initialDelayMs: 1, maxDelayMs: 5 },
    heartbeat: false,
  });
  cleanups.push(() => client.close());
  return client;
}

function whenState(client: Client<typeof contract>, state: ClientState): Promise<StateInfo> {
  return within(
    new Promise<StateInfo>((resolve) => {
      if (client.state === state) resolve({} as StateInfo);
      const listener = (now: ClientState, info: StateInfo) => {
        if (now !== state) return;
        client.off('state', listener);
        resolve(info);
      };
      client.on('state', listener);
    }),
    3_000,
    `the client to be '${state}'`,
  );
}

/** ada and bob on every server, open. */
async function connectEverywhere(servers: Array<{ url: string }>) {
  const ada = servers.map(({ url }) => connect(url, 'ada'));
  const bob = servers.map(({ url }) => connect(url, 'bob'));
  await Promise.all([...ada, ...bob].map((client) => whenState(client, 'open')));
  return { ada, bob };
}

describe('server.disconnect() with a shared broker', () => {
  it("closes the user's connections on every server, counts them all, and leaves the others open", async () => {
    const { servers } = await startServers(3);
    const { ada, bob } = await connectEverywhere(servers);
    const ended = ada.map((client) => whenState(client, 'unauthorized'));
    const seen: unknown[] = [];
    const closed = await servers[1]?.server.disconnect((ctx) => {
      seen.push(ctx.since);
      return ctx.user === 'ada';
    }, 'revoked');
    expect(closed).toBe(3);
    const infos = await Promise.all(ended);
    expect(infos.map((info) => [info.error?.code, info.error?.message])).toEqual(
      ada.map(() => ['UNAUTHORIZED', 'revoked']),
    );
    // Six connections were looked at, four of them as copies from the other servers: Dates stay Dates.
    expect(seen).toHaveLength(6);
    expect(seen.every((since) => since instanceof Date && since.getTime() === 0)).toBe(true);
    await Promise.all(bob.map(async (client) => expect(await client.call('me', {})).toBe('bob')));
    expect(bob.map((client) => client.state)).toEqual(['open', 'open', 'open']);
  });

  it('closes nothing anywhere when the filter throws on any connection, and rejects with what it threw', async () => {
    const { servers } = await startServers(2);
    const { ada, bob } = await connectEverywhere(servers);
    const boom = new RpcError('INTERNAL', 'the filter failed');
    // bob's connection on the other server is a copy: the filter throws there first.
    const filter = (ctx: Ctx) => {
      if (ctx.user === 'bob') throw boom;
      return true;
    };
    await expect(servers[0]?.server.disconnect(filter, 'revoked')).rejects.toBe(boom);
    await Promise.all([...ada, ...bob].map(async (client) => expect(await client.call('me', {})).toBeTypeOf('string')));
    expect([...ada, ...bob].map((client) => client.state)).toEqual(['open', 'open', 'open', 'open']);
  });

  it('does not wait past limits.clusterTimeoutMs for a process that never answers, and counts what did', async () => {
    const { broker, servers } = await startServers(2, 150);
    // A process that listens but never answers (hung, or of an older version).
    const listening = await broker.listenBroadcasts(() => {});
    cleanups.push(() => listening.stop());
    const { ada } = await connectEverywhere(servers);
    const ended = ada.map((client) => whenState(client, 'unauthorized'));
    await expect(servers[0]?.server.disconnect((ctx) => ctx.user === 'ada', 'revoked')).resolves.toBe(2);
    await Promise.all(ended);
  });

  it('with the broker to itself, a server closes only its own connections, as before', async () => {
    const { servers } = await startServers(1);
    const { ada } = await connectEverywhere(servers);
    await expect(servers[0]?.server.disconnect((ctx) => ctx.user === 'ada', 'revoked')).resolves.toBe(1);
    await whenState(ada[0] as Client<typeof contract>, 'unauthorized');
  });
});
