// socket.io 4 node of the cluster fan-out benchmark, websocket transport only, with
// @socket.io/redis-adapter on ioredis: `createAdapter` (classic pub/sub, the documented default),
// or `createShardedAdapter` (sharded pub/sub, Redis 7) with SOCKETIO_ADAPTER=sharded.
// REDIS_URL, BENCH_PREFIX; with BENCH_CONTROL=1 this node also runs the publisher
// (io.to(room).emit) and announces its control port.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { AddInput, FeedParams, ROOM } from '../../rpc/contract.js';
import { startControl } from '../../rpc/servers/control.js';

const url = process.env.REDIS_URL;
if (url === undefined) die('socket.io cluster node', new Error('REDIS_URL is required'));
const prefix = process.env.BENCH_PREFIX ?? 'bench';
const pubClient = new Redis(url);
const subClient = pubClient.duplicate();
for (const client of [pubClient, subClient]) client.on('error', (err) => process.stderr.write(`redis: ${err}\n`));

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: MAX_PAYLOAD, serveClient: false });
io.adapter(
  process.env.SOCKETIO_ADAPTER === 'sharded'
    ? createShardedAdapter(pubClient, subClient, { channelPrefix: prefix })
    : createAdapter(pubClient, subClient, { key: prefix }),
);
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
httpServer.on('error', (err) => die('socket.io cluster node', err));
httpServer.listen(0, HOST, async () => {
  const info: Record<string, string> = {};
  if (process.env.BENCH_CONTROL === '1') {
    const control = await startControl((seq, t, p) => {
      io.to(ROOM).emit('feed', { seq, t, p });
    });
    info.control = String(control);
  }
  serve((httpServer.address() as AddressInfo).port, () => io.engine.clientsCount, info);
});
