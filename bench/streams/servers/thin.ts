// The ceiling: the `ws` package with no protocol of its own. `{ shape, count }` starts a loop
// that sends each chunk (checked against the shape's zod schema, as the others are) as one
// message, a Uint8Array as the binary message of its bytes and anything else as its JSON
// text, then the text `end <count>`. It is paced the least a sender with backpressure can be:
// it yields to the event loop every BURST chunks, and once the socket holds more than
// HIGH_WATER_BYTES (Switchboard's default highWaterBytes) it waits for its next message to be written. No envelope, sequence numbers,
// acknowledgements or credit, nothing kept for a resume: what a stream costs on this transport
// with nothing on top, for the other contenders to be read against.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { type WebSocket, WebSocketServer } from 'ws';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { planStream } from '../shapes.js';

/** Chunks sent per turn of the event loop (Switchboard's default credit). */
const BURST = 256;
const HIGH_WATER_BYTES = 1024 * 1024;

async function stream(socket: WebSocket, request: unknown): Promise<void> {
  const plan = planStream(request);
  if (plan === undefined) {
    socket.send('end -1');
    return;
  }
  const { shape, schema, count, deadline } = plan;
  let i = 0;
  for (; i < count; i++) {
    if (i % BURST === 0) {
      await nextTurn();
      if (socket.readyState !== socket.OPEN || performance.now() > deadline) break;
    }
    const chunk = schema.parse(shape.make(i));
    const data = chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (socket.bufferedAmount <= HIGH_WATER_BYTES) socket.send(data);
    // Over the mark: this message's callback runs once the socket has written what was before it.
    else await new Promise((resolve) => socket.send(data, resolve));
  }
  socket.send(`end ${i}`);
}

const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    let request: unknown;
    try {
      request = JSON.parse(String(data));
    } catch {
      request = undefined;
    }
    void stream(socket, request);
  });
});
wss.on('error', (err) => die('thin ws server', err));
wss.on('listening', () => {
  const address = wss.address();
  if (address === null || typeof address === 'string')
    die('thin ws server', new Error(`unexpected address ${address}`));
  else serve(address.port, () => wss.clients.size);
});
