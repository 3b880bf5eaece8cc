// Echo server on `ws`. Contenders "ws" (with bufferutil, ws's default when it is installed)
// and "ws-nobufferutil" (same script, started with WS_NO_BUFFER_UTIL=1).

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { die, HOST, MAX_PAYLOAD, serve } from './common.js';

/** Which masking implementation ws 8 picked (mirrors the logic in ws/lib/buffer-util.js). */
function maskImpl(): string {
  if (process.env.WS_NO_BUFFER_UTIL) return 'js';
  try {
    createRequire(import.meta.url)('bufferutil');
    return 'bufferutil';
  } catch {
    return 'js';
  }
}

const wss = new WebSocketServer({ port: 0, host: HOST, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
wss.on('error', (err) => die('ws server', err));
wss.on('connection', (socket) => {
  socket.on('error', () => socket.terminate());
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  serve((wss.address() as AddressInfo).port, () => wss.clients.size, { mask: maskImpl() });
});
