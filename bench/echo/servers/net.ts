// Raw node:net echo: the floor for "bytes in, same bytes out" on this machine. No framing.

import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { ConnectionCounter, die, HOST, serve } from './common.js';

const counter = new ConnectionCounter();
const server = net.createServer({ noDelay: true }, (socket) => {
  counter.track(socket);
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});
server.on('error', (err) => die('net server', err));
server.listen(0, HOST, () => serve((server.address() as AddressInfo).port, () => counter.open));
