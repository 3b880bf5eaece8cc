import { createServer } from 'node:http';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from '../../src/transport/websocket-server.js';
import { closeBody, encodeClientFrame, once, within } from './helpers.js';

// A connection that is not a TCP socket: a Duplex handed over by `handleUpgrade` (or an
// HTTP server fed by hand) may deliver the peer's bytes synchronously, inside the
// transport's own write. The close handshake must still complete at once.

/** Two Duplex ends whose writes reach the other end in the same call: no tick between. */
function synchronousPair(): [Duplex, Duplex] {
  let a: Duplex | undefined;
  let b: Duplex | undefined;
  const make = (other: () => Duplex | undefined) =>
    new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        other()?.push(chunk);
        callback();
      },
      final(callback) {
        other()?.push(null);
        callback();
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('a connection whose bytes arrive inside our own writes', () => {
  it('completes a close the server starts as soon as the peer answers, not at closeTimeoutMs', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, closeTimeoutMs: 60_000 });
    cleanups.push(() => wss.close());
    const closed = new Promise<number>((resolve) => {
      wss.on('connection', (socket) => {
        socket.on('close', (code: number) => resolve(code));
        socket.close(4401, 'refused');
      });
    });
    const [client, server] = synchronousPair();
    const ended = once(client, 'end', 5_000); // the server ends the connection after the handshake
    let received = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headers = received.indexOf('\r\n\r\n');
      // After the 101: the server's Close frame (0x88). Answered at once, in this very call.
      if (headers !== -1 && received[headers + 4] === 0x88) {
        received = Buffer.alloc(0);
        client.write(encodeClientFrame({ opcode: 8, payload: closeBody(4401) }));
      }
    });
    http.emit('connection', server);
    client.write(
      'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(await within(closed, 5_000, 'the close to complete')).toBe(4401);
    await ended;
  });
  it('reads what the peer sends inside our writes in the order it was sent, across nested answers', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    cleanups.push(() => wss.close());
    const got: string[] = [];
    const both = new Promise<void>((resolve) => {
      wss.on('connection', (socket) => {
        socket.on('message', (data: Buffer) => {
          got.push(String(data));
          if (got.length === 2) resolve();
        });
        // Sent later, from a timer: not inside the upgrade's own writes.
        setTimeout(() => socket.send('hello'), 10);
      });
    });
    const [client, server] = synchronousPair();
    let received = Buffer.alloc(0);
    let upgraded = false;
    let answeredPong = false;
    client.on('data', (chunk: Buffer) => {
      if (!upgraded) {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) return;
        upgraded = true;
        chunk = received.subarray(end + 4);
        if (chunk.length === 0) return;
      }
      const opcode = (chunk[0] as number) & 0x0f;
      if (opcode === 1) {
        // Our 'hello', answered inside our write: a ping, then "first".
        client.write(encodeClientFrame({ opcode: 9, payload: 'p' }));
        client.write(encodeClientFrame({ opcode: 1, payload: 'first' }));
      } else if (opcode === 10 && !answeredPong) {
        // Our pong (written while reading the deferred ping), answered inside that write: "second".
        answeredPong = true;
        client.write(encodeClientFrame({ opcode: 1, payload: 'second' }));
      }
    });
    http.emit('connection', server);
    client.write(
      'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await within(both, 5_000, 'both messages');
    expect(got).toEqual(['first', 'second']);
  });
});
