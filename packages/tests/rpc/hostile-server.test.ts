import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type Client, createClient, type RpcError } from '@switchboard/client';
import { defineContract, procedure } from '@switchboard/contract';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { z } from 'zod';
import { untilEvent } from '../support/wait.js';

// The real client over `ws` against a bare `ws` server (on 127.0.0.1:0) that misbehaves on
// its first connection and answers calls on the later ones: the client reports the bad
// message once, drops the connection (the server sees 1000 and the reason: a WHATWG
// socket cannot send 1002, 1003 or 1009) and reconnects with backoff.

const PROTOCOL = 'switchboard.v1';
const contract = defineContract({ procedures: { echo: procedure({ input: z.string(), output: z.string() }) } });
type Contract = typeof contract;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Emits 'change' whenever what a test waits for may have moved. */
const changes = new EventEmitter();
const until = (check: () => boolean, what: string) => untilEvent(changes, 'change', check, what, 5_000);

/** A server whose first connection gets `misbehave(socket)`; later ones echo calls. */
async function hostileServer(misbehave: (socket: WebSocket) => void) {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : false),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const closes: Array<{ code: number; reason: string }> = [];
  let connections = 0;
  wss.on('connection', (socket) => {
    connections++;
    socket.on('close', (code, reason) => {
      closes.push({ code, reason: reason.toString() });
      changes.emit('change');
    });
    if (connections === 1) {
      misbehave(socket);
      return;
    }
    socket.on('message', (data) => {
      const parsed = JSON.parse(String(data)) as Record<string, unknown> | Array<Record<string, unknown>>;
      for (const envelope of Array.isArray(parsed) ? parsed : [parsed]) {
        if (envelope.type === 'auth') socket.send(JSON.stringify({ type: 'authenticated', id: envelope.id }));
        if (envelope.type === 'call')
          socket.send(JSON.stringify({ type: 'result', id: envelope.id, output: envelope.input }));
      }
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, closes, connections: () => connections };
}

function start(url: string, options: { maxMessageBytes?: number } = {}) {
  const client: Client<Contract> = createClient<Contract>({
    url,
    WebSocket: WebSocket as never,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400, factor: 2 },
    heartbeat: false,
    ...options,
  });
  cleanups.push(() => client.close());
  const errors: RpcError[] = [];
  const closeCodes: Array<number | undefined> = [];
  client.on('error', (error) => {
    errors.push(error);
    changes.emit('change');
  });
  client.on('state', (state, info) => {
    if (state === 'reconnecting') closeCodes.push(info.closeCode);
    changes.emit('change');
  });
  return { client, errors, closeCodes };
}

describe('a server that sends what the client cannot accept', () => {
  it.each([
    ['the JSON text null', (socket: WebSocket) => socket.send('null'), {}, 1002, 'BAD_REQUEST'],
    ['a malformed binary message', (socket: WebSocket) => socket.send(Buffer.from('{}')), {}, 1002, 'BAD_REQUEST'],
    [
      'a message over maxMessageBytes',
      (socket: WebSocket) => socket.send(JSON.stringify({ type: 'pong', pad: 'x'.repeat(2_048) })),
      { maxMessageBytes: 1_024 },
      1009,
      'PAYLOAD_TOO_LARGE',
    ],
  ] as const)(
    '%s: reported once, the connection dropped and opened again',
    async (_what, misbehave, options, code, errorCode) => {
      const server = await hostileServer(misbehave);
      const { client, errors, closeCodes } = start(server.url, options);
      await until(() => server.connections() === 2 && client.state === 'open', 'a reconnect');
      expect(errors.map((error) => error.code)).toEqual([errorCode]);
      expect(closeCodes).toEqual([code]);
      await until(() => server.closes.length === 1, 'the server to see the close');
      expect(server.closes[0]).toEqual({ code: 1000, reason: errors[0]?.message });
      expect(await client.call('echo', 'after')).toBe('after');
    },
  );
});
