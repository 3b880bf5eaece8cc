// The transport on its own: an RFC 6455 echo server that conformance suites can be
// pointed at. Settings follow what ws uses for its Autobahn runs: permessage-deflate on,
// 16 MiB messages, and room for 4 MiB sent in 64-byte fragments (Autobahn 9.3.1). The
// library's own defaults stay conservative (docs/transport.md).
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '@switchboard/server/transport';

export interface RunningEchoServer {
  wss: WebSocketServer;
  port: number;
  close(): Promise<void>;
}

export async function startEchoServer({ port = 0, host = '127.0.0.1' } = {}): Promise<RunningEchoServer> {
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
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
