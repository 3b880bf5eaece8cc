import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebSocketServer } from '../../src/transport/websocket-server.js';

// A self-signed certificate for localhost, made for these tests only.
const cert = readFileSync(new URL('../fixtures/localhost-cert.pem', import.meta.url));
const key = readFileSync(new URL('../fixtures/localhost-key.pem', import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('WebSocketServer attached to an https.Server', () => {
  it('serves wss:// with the certificate of the server it is attached to', async () => {
    const https = createServer({ cert, key });
    const wss = new WebSocketServer({ server: https, path: '/ws' });
    const secure: boolean[] = [];
    wss.on('connection', (socket, request) => {
      secure.push((request.socket as { encrypted?: boolean }).encrypted === true);
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          wss.close(() => https.close(() => resolve()));
        }),
    );
    const { port } = https.address() as AddressInfo;

    const client = new WebSocket(`wss://localhost:${port}/ws`, { ca: cert });
    const reply = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5_000);
      client.once('error', reject);
      client.once('open', () => client.send('over TLS'));
      client.once('message', (data: Buffer) => {
        clearTimeout(timer);
        resolve(data.toString());
      });
    });
    expect(reply).toBe('over TLS');
    expect(secure).toEqual([true]);
    client.terminate();
  });

  it('tells verifyClient the connection is secure', async () => {
    const https = createServer({ cert, key });
    const seen: boolean[] = [];
    const wss = new WebSocketServer({
      server: https,
      verifyClient: (info) => {
        seen.push(info.secure);
        return true;
      },
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => https.close(() => resolve()))));
    const { port } = https.address() as AddressInfo;
    const client = new WebSocket(`wss://localhost:${port}`, { ca: cert });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no open within 5 s')), 5_000);
      client.once('error', reject);
      client.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect(seen).toEqual([true]);
    client.terminate();
  });
});
