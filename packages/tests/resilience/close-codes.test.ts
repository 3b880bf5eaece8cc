import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Client, createClient, type RpcError } from '@switchboard/client';
import { defineContract, procedure } from '@switchboard/contract';
import { WebSocketServer } from '@switchboard/server/transport';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { untilEvent } from '../support/wait.js';

// What the client does with the close code a real server sends (our RFC 6455 transport on
// its own, on 127.0.0.1:0): 1012 (service restart) and 1013 (try again later) are retried,
// 1013 after a longer wait; 1008 (policy) and 1002 (protocol, e.g. another protocol
// version) end the client.

const PROTOCOL = 'switchboard.v1';
const contract = defineContract({ procedures: { echo: procedure({ input: z.string(), output: z.string() }) } });
type Contract = typeof contract;
/** The client's backoff: first step [0, 50 ms); after a 1013, [200 ms, 400 ms). */
const reconnect = { initialDelayMs: 50, maxDelayMs: 400, factor: 2 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Emits 'change' on every client state and server connection: what `until` re-checks on. */
const changes = new EventEmitter();
const until = (check: () => boolean, what: string, timeoutMs = 5_000) =>
  untilEvent(changes, 'change', check, what, timeoutMs);

/**
 * A bare server that accepts every connection's credentials (the client is open once its
 * `auth` is answered), then closes the first connection with `code` and keeps later ones open.
 * `selectProtocol: false` completes handshakes without choosing `switchboard.v1`.
 */
async function closingServer(code: number, { selectProtocol = true } = {}) {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    pingIntervalMs: 0,
    handleProtocols: (offered) => (selectProtocol && offered.has(PROTOCOL) ? PROTOCOL : false),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const arrivals: number[] = [];
  wss.on('connection', (socket) => {
    arrivals.push(performance.now());
    const first = arrivals.length === 1;
    socket.on('message', (data) => {
      const envelope = JSON.parse(String(data)) as { type?: string; id?: number };
      if (envelope.type !== 'auth') return;
      socket.send(JSON.stringify({ type: 'authenticated', id: envelope.id }));
      if (first) socket.close(code, `closing with ${code}`);
    });
    changes.emit('change');
  });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, arrivals };
}

function start(url: string) {
  const client: Client<Contract> = createClient<Contract>({
    url,
    WebSocket: WebSocket as never,
    reconnect,
    heartbeat: false,
  });
  cleanups.push(() => client.close());
  const states: Array<{ state: string; atMs: number; nextDelayMs: number | undefined; closeCode: number | undefined }> =
    [];
  client.on('state', (state, info) => {
    states.push({ state, atMs: performance.now(), nextDelayMs: info.nextDelayMs, closeCode: info.closeCode });
    changes.emit('change');
  });
  return { client, states };
}

describe('close codes from a real server', () => {
  it('retries after 1012 (service restart) within the first backoff step', async () => {
    const server = await closingServer(1012);
    const { client, states } = start(server.url);
    await until(() => server.arrivals.length === 2 && client.state === 'open', 'a reconnect');
    const lost = states.find((s) => s.state === 'reconnecting');
    expect(lost?.closeCode).toBe(1012);
    expect(lost?.nextDelayMs).toBeLessThan(reconnect.initialDelayMs);
    expect(states.map((s) => s.state)).toEqual(['open', 'reconnecting', 'open']);
  });

  it('retries after 1013 (try again later), but only after [maxDelayMs / 2, maxDelayMs)', async () => {
    const server = await closingServer(1013);
    const { client, states } = start(server.url);
    await until(() => server.arrivals.length === 2 && client.state === 'open', 'a reconnect');
    const lost = states.find((s) => s.state === 'reconnecting');
    expect(lost?.closeCode).toBe(1013);
    const delayMs = lost?.nextDelayMs as number;
    expect(delayMs).toBeGreaterThanOrEqual(reconnect.maxDelayMs / 2);
    expect(delayMs).toBeLessThan(reconnect.maxDelayMs);
    // The second attempt reached the server no sooner than that (1 ms: timer rounding).
    const waitedMs = (server.arrivals[1] as number) - (lost?.atMs as number);
    expect(waitedMs).toBeGreaterThanOrEqual(delayMs - 1);
    expect(states.map((s) => s.state)).toEqual(['open', 'reconnecting', 'open']);
  });

  it.each([
    [1008, 'policy violation'],
    [1002, 'protocol error: a server of another protocol version that picked ours to say so'],
  ])('stops for good on %i (%s), failing calls with UNAVAILABLE', async (code) => {
    const server = await closingServer(code);
    const { client, states } = start(server.url);
    // Made before the socket opens: sent on open, then in flight when the close comes.
    const inFlight = client.call('echo', 'never answered').catch((error: RpcError) => error.code);
    await until(() => client.state === 'closed', 'the client to close');
    expect(states.map((s) => s.state)).toEqual(['open', 'closed']);
    expect(states.at(-1)?.closeCode).toBe(code);
    expect(await inFlight).toBe('UNAVAILABLE');
    expect(await client.call('echo', 'later').catch((error: RpcError) => error.code)).toBe('UNAVAILABLE');
    expect(server.arrivals).toHaveLength(1);
  });

  it('retries, as after a network failure, when the server completes the handshake without switchboard.v1', async () => {
    // `ws`, browsers and undici (Node's global WebSocket) fail a handshake that drops the
    // subprotocol they asked for, before the client sees an open socket: to the client it is
    // a connection that never opened (1006), indistinguishable from a network failure, so it
    // is retried with backoff. The client's own check stops only a WebSocket that opens
    // anyway (packages/client/test/client-timers.test.ts). To stop a client, a server must
    // accept its subprotocol and close with 1002 (the test above).
    const server = await closingServer(1000, { selectProtocol: false });
    const { client, states } = start(server.url);
    await until(() => server.arrivals.length >= 3, 'repeated attempts');
    expect(client.state).toBe('reconnecting');
    expect(states.length).toBeGreaterThanOrEqual(2);
    expect(states.every((s) => s.state === 'reconnecting' && s.closeCode === 1006)).toBe(true);
  });
});
