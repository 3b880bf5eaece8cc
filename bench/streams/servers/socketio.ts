// socket.io 4, websocket transport only: `stream` {shape, count} starts a loop that emits each
// chunk (checked against the shape's zod schema, as the others are) as a `chunk` event, then
// `end` {count}. A Uint8Array chunk is emitted as a Buffer: a binary attachment (a text frame
// with a placeholder, then a binary frame with the bytes). socket.io has no backpressure: emit
// never waits for the client, so the loop yields to the event loop every EMIT_BURST chunks or
// EMIT_BURST_BYTES bytes (so frames leave while it runs) and the socket buffers whatever the
// client has not read yet.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { planStream } from '../shapes.js';

/**
 * Chunks emitted per event-loop turn: 64, Switchboard's default credit when this bench was
 * written (it is 128 now; kept at 64 so socket.io's figures stay comparable with earlier runs).
 */
const EMIT_BURST = 64;
/** And at most this many bytes of binary chunks (Switchboard's streamBufferBytes, its bound on unacknowledged bytes). */
const EMIT_BURST_BYTES = 4 * 1024 * 1024;

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: MAX_PAYLOAD, serveClient: false });
io.on('connection', (socket) => {
  socket.on('stream', async (request: unknown) => {
    const plan = planStream(request);
    if (plan === undefined) {
      socket.emit('end', { error: 'BAD_REQUEST' });
      return;
    }
    const { shape, schema, count, deadline } = plan;
    let i = 0;
    let burst = 0;
    let burstBytes = 0;
    for (; i < count; i++) {
      if (burst >= EMIT_BURST || burstBytes >= EMIT_BURST_BYTES) {
        burst = 0;
        burstBytes = 0;
        await new Promise((resolve) => setImmediate(resolve));
        if (!socket.connected || performance.now() > deadline) break;
      }
      const chunk = schema.parse(shape.make(i));
      if (chunk instanceof Uint8Array) {
        socket.emit('chunk', Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        burstBytes += chunk.byteLength;
      } else {
        socket.emit('chunk', chunk);
      }
      burst++;
    }
    socket.emit('end', { count: i });
  });
});
httpServer.on('error', (err) => die('socket.io server', err));
httpServer.listen(0, HOST, () => serve((httpServer.address() as AddressInfo).port, () => io.engine.clientsCount));
