// socket.io 4, websocket transport only: `add` with an ack (same zod validation), `join` for the
// feed room; publishing is io.to(room).emit.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { AddInput, FeedParams, ROOM } from '../contract.js';
import { startControl } from './control.js';

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: MAX_PAYLOAD, serveClient: false });
io.on('connection', (socket) => {
  socket.on('add', (input: unknown, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const r = AddInput.safeParse(input);
    ack(r.success ? { result: r.data.a + r.data.b } : { error: { code: 'BAD_REQUEST' } });
  });
  socket.on('join', (params: unknown, ack: unknown) => {
    const r = FeedParams.safeParse(params);
    if (r.success) void socket.join(r.data.room);
    if (typeof ack === 'function') ack(r.success ? { result: true } : { error: { code: 'BAD_REQUEST' } });
  });
});
httpServer.on('error', (err) => die('socket.io server', err));
httpServer.listen(0, HOST, async () => {
  const control = await startControl((seq, t, p) => {
    io.to(ROOM).emit('feed', { seq, t, p });
  });
  serve((httpServer.address() as AddressInfo).port, () => io.engine.clientsCount, { control: String(control) });
});
