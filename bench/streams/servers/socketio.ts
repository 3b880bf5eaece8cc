// socket.io 4, websocket transport only: `stream` {shape, count} starts a loop that emits each
// chunk (checked against the shape's zod schema, as the others are) as a `chunk` event, then
// `end` {count}. socket.io has no backpressure: emit never waits for the client, so the loop
// yields to the event loop every EMIT_BURST chunks (so frames leave while it runs) and the
// socket buffers whatever the client has not read yet.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { z } from 'zod';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { MAX_CHUNKS, MAX_STREAM_MS, SHAPE_IDS, SHAPES, StreamInput } from '../shapes.js';

/** Chunks emitted per event-loop turn: as many as Switchboard's default credit lets through unread. */
const EMIT_BURST = 64;
const Request = StreamInput.extend({ shape: z.enum(SHAPE_IDS) });

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: MAX_PAYLOAD, serveClient: false });
io.on('connection', (socket) => {
  socket.on('stream', async (request: unknown) => {
    const parsed = Request.safeParse(request);
    if (!parsed.success) {
      socket.emit('end', { error: 'BAD_REQUEST' });
      return;
    }
    const shape = SHAPES[parsed.data.shape];
    const schema = shape.schema as z.ZodType<unknown>;
    const n = Math.min(parsed.data.count, MAX_CHUNKS);
    const deadline = performance.now() + MAX_STREAM_MS;
    let i = 0;
    for (; i < n; i++) {
      if (i % EMIT_BURST === 0 && i > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!socket.connected || performance.now() > deadline) break;
      }
      socket.emit('chunk', schema.parse(shape.make(i)));
    }
    socket.emit('end', { count: i });
  });
});
httpServer.on('error', (err) => die('socket.io server', err));
httpServer.listen(0, HOST, () => serve((httpServer.address() as AddressInfo).port, () => io.engine.clientsCount));
