import { type ClientState, createClient } from '@switchboard/client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChildServer } from '../resilience/child-server.js';
import { within } from '../support/wait.js';
import type { contract } from './fixtures/sigterm-server.js';

// docs/install.md's graceful shutdown, in its own process: SIGTERM refuses new upgrades
// with 503 and Retry-After, lets the running call finish, closes the client with 1001 (it
// reconnects elsewhere), and the process exits 0 by itself.

type Event = { event: 'listening' | 'started' | 'draining' | 'exiting'; port?: number };

let child: ChildServer<Event, never> | undefined;
afterEach(async () => {
  await child?.kill();
  child = undefined;
});

/** The status of an upgrade on /ws (101 when it opens). */
function upgradeStatus(port: number): Promise<{ status: number; retryAfter: string | undefined }> {
  return within(
    new Promise((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'switchboard.v1');
      socket.on('open', () => {
        socket.terminate();
        resolve({ status: 101, retryAfter: undefined });
      });
      socket.on('unexpected-response', (_request, response) => {
        resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
        socket.terminate();
      });
      socket.on('error', () => resolve({ status: 0, retryAfter: undefined }));
    }),
    5_000,
    'the upgrade',
  );
}

describe('SIGTERM in a container', () => {
  it('refuses new upgrades (503), finishes the running call, closes with 1001, exits 0', async () => {
    child = await ChildServer.start<Event, never>([], 'packages/tests/adoption/fixtures/sigterm-server.ts');
    const { port } = child;
    const client = createClient<typeof contract>({
      url: `ws://127.0.0.1:${port}/ws`,
      WebSocket: WebSocket as never,
      reconnect: false,
      heartbeat: false,
    });
    const closes: Array<number | undefined> = [];
    client.on('state', (state: ClientState, info) => {
      if (state === 'closed' || state === 'reconnecting') closes.push(info.closeCode);
    });
    try {
      const call = client.call('work', { ms: 1_000 });
      await child.until((events) => events.some((e) => e.event === 'started'), 'the call to start');
      const exited = child.terminate();
      await child.until((events) => events.some((e) => e.event === 'draining'), 'the server to drain');
      expect(await upgradeStatus(port)).toEqual({ status: 503, retryAfter: '5' });
      expect(await call).toBe('done');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(child.events.map((e) => e.event)).toEqual(['listening', 'started', 'draining', 'exiting']);
      expect(closes).toEqual([1001]);
    } finally {
      await client.close();
    }
  });
});
