// The transport on its own: an RFC 6455 echo server that conformance suites can be
// pointed at. Settings follow what ws uses for its Autobahn runs: permessage-deflate on,
// 16 MiB messages. The library's own defaults stay conservative (docs/transport.md).
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '@switchboard/server/transport';

const port = Number(process.env.PORT ?? 9001);
const host = process.env.HOST ?? '127.0.0.1';

const wss = new WebSocketServer({
  port,
  host,
  perMessageDeflate: true,
  maxPayload: 16 * 1024 * 1024,
  maxFragments: 1 << 20,
  maxBufferedBytes: 64 * 1024 * 1024,
});

wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});

wss.on('listening', () => {
  const { port: bound } = wss.address() as AddressInfo;
  console.log(`echo server listening on ws://${host}:${bound}`);
});

const shutdown = () => wss.close(() => process.exit(0));
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
