// The floor: a hand-written JSON-RPC-ish layer on `ws`. {id, method, params} -> zod parse ->
// {id, result} | {id, error}. method "subscribe" joins the feed set; publishing serialises once
// and loops over the subscribed sockets.

import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { AddInput, FeedParams } from '../contract.js';
import { startControl } from './control.js';

const subscribers = new Set<WebSocket>();
const wss = new WebSocketServer({ port: 0, host: HOST, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
wss.on('error', (err) => die('thin server', err));
wss.on('connection', (socket) => {
  socket.on('error', () => socket.terminate());
  socket.on('close', () => subscribers.delete(socket));
  socket.on('message', (data, isBinary) => {
    let msg: { id?: unknown; method?: unknown; params?: unknown };
    try {
      msg = JSON.parse(isBinary ? '' : data.toString());
    } catch {
      socket.send('{"id":null,"error":"bad json"}');
      return;
    }
    const id = msg.id;
    if (msg.method === 'add') {
      const r = AddInput.safeParse(msg.params);
      socket.send(
        JSON.stringify(r.success ? { id, result: r.data.a + r.data.b } : { id, error: { code: 'BAD_REQUEST' } }),
      );
    } else if (msg.method === 'subscribe') {
      const r = FeedParams.safeParse(msg.params);
      if (r.success) subscribers.add(socket);
      socket.send(JSON.stringify(r.success ? { id, result: true } : { id, error: { code: 'BAD_REQUEST' } }));
    } else {
      socket.send(JSON.stringify({ id, error: { code: 'NOT_FOUND' } }));
    }
  });
});
wss.on('listening', async () => {
  const control = await startControl((seq, t, p) => {
    const frame = Buffer.from(JSON.stringify({ channel: 'feed', data: { seq, t, p } }));
    for (const s of subscribers) s.send(frame, { binary: false });
  });
  serve((wss.address() as AddressInfo).port, () => wss.clients.size, { control: String(control) });
});
