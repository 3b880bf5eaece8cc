import { createServer as createHttpServer, get, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createClient } from '@switchboard/client';
import { defineContract, procedure } from '@switchboard/contract';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { z } from 'zod';
import { once, within } from '../support/wait.js';

// The mount recipes of docs/install.md, each run: Switchboard on a path of an app's own
// HTTP server (node:http, Express, Fastify, Hono's Node server) while the app serves its
// pages, and beside another WebSocket server through one 'upgrade' listener.

const contract = defineContract({
  procedures: { add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }) },
});
const router = defineRouter(contract, { procedures: { add: ({ input }) => input.a + input.b } });

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await within(Promise.resolve(cleanup()), 5_000, 'cleanup');
});

function switchboard(): SwitchboardServer<typeof contract> {
  const server = createServer({ router, heartbeat: false });
  cleanups.push(() => server.close());
  return server;
}

async function call(url: string): Promise<number> {
  const client = createClient<typeof contract>({ url, WebSocket: WebSocket as never, reconnect: false });
  try {
    return await client.call('add', { a: 2, b: 3 });
  } finally {
    await client.close();
  }
}

function page(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      }).on('error', reject);
    }),
    5_000,
    `GET ${path}`,
  );
}

/** The status of a WebSocket upgrade on `path` (101 when it opens). */
function upgradeStatus(port: number, path: string): Promise<number> {
  return within(
    new Promise<number>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, 'switchboard.v1');
      socket.on('open', () => {
        socket.terminate();
        resolve(101);
      });
      socket.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('error', () => resolve(0));
    }),
    5_000,
    `the upgrade on ${path}`,
  );
}

const portOf = (server: HttpServer) => (server.address() as AddressInfo).port;

describe('mounted on an app server, on /ws', () => {
  it('node:http: the app keeps its pages; /ws is ours; other paths are refused 400', async () => {
    const http = createHttpServer((_request, response) => response.end('page'));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    switchboard().attach(http, { path: '/ws' });
    const port = portOf(http);
    expect(await call(`ws://127.0.0.1:${port}/ws`)).toBe(5);
    expect(await page(port)).toEqual({ status: 200, body: 'page' });
    expect(await upgradeStatus(port, '/elsewhere')).toBe(400);
  });

  it('Express: app.listen() returns the server to attach to', async () => {
    const app = express();
    app.get('/', (_request, response) => {
      response.send('express page');
    });
    const http = app.listen(0, '127.0.0.1');
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    await once(http, 'listening');
    switchboard().attach(http, { path: '/ws' });
    expect(await call(`ws://127.0.0.1:${portOf(http)}/ws`)).toBe(5);
    expect(await page(portOf(http))).toEqual({ status: 200, body: 'express page' });
  });

  it('Fastify: attach to fastify.server once it listens', async () => {
    const fastify = Fastify();
    fastify.get('/', async () => 'fastify page');
    cleanups.push(() => fastify.close());
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    switchboard().attach(fastify.server, { path: '/ws' });
    expect(await call(`ws://127.0.0.1:${portOf(fastify.server)}/ws`)).toBe(5);
    expect(await page(portOf(fastify.server))).toEqual({ status: 200, body: 'fastify page' });
  });

  it("Hono's Node server: serve() returns the server to attach to", async () => {
    const app = new Hono();
    app.get('/', (c) => c.text('hono page'));
    const http = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as HttpServer;
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    if (!http.listening) await once(http, 'listening');
    switchboard().attach(http, { path: '/ws' });
    expect(await call(`ws://127.0.0.1:${portOf(http)}/ws`)).toBe(5);
    expect(await page(portOf(http))).toEqual({ status: 200, body: 'hono page' });
  });

  it("close() on an attached server closes Switchboard's connections and leaves the app's server serving", async () => {
    const http = createHttpServer((_request, response) => response.end('page'));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const server = switchboard();
    server.attach(http, { path: '/ws' });
    const port = portOf(http);
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'switchboard.v1');
    cleanups.push(() => socket.terminate());
    await once(socket, 'open');
    const closed = once<[number]>(socket, 'close');
    await server.close();
    expect((await closed)[0]).toBe(1001);
    expect(await page(port)).toEqual({ status: 200, body: 'page' });
    expect(http.listening).toBe(true);
  });
});

describe('beside another WebSocket server, through one upgrade listener (handleUpgrade)', () => {
  it('routes /ws to Switchboard and /chat to a ws server; both work, other paths are dropped', async () => {
    const server = switchboard();
    const chat = new WebSocketServer({ noServer: true });
    cleanups.push(() => new Promise((resolve) => chat.close(resolve)));
    chat.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${String(data)}`)));
    const http = createHttpServer();
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    http.on('upgrade', (request, socket, head) => {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (pathname === '/ws') server.handleUpgrade(request, socket, head);
      else if (pathname === '/chat')
        chat.handleUpgrade(request, socket, head, (ws) => chat.emit('connection', ws, request));
      else socket.destroy();
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const port = portOf(http);
    expect(await call(`ws://127.0.0.1:${port}/ws`)).toBe(5);
    const other = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    cleanups.push(() => other.terminate());
    await once(other, 'open');
    other.send('hi');
    const [reply] = await once<[Buffer]>(other, 'message');
    expect(String(reply)).toBe('echo hi');
    expect(await upgradeStatus(port, '/nowhere')).toBe(0);
  });
});
