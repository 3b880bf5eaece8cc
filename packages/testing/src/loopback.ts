import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Link, Sink } from './link.js';

function sinkOf(socket: Socket): Sink {
  return {
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    end: () => socket.end(),
    destroy: () => socket.resetAndDestroy(),
  };
}

/** A TCP proxy on 127.0.0.1 that joins each client connection to the server through the link. */
export class LoopbackProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #target: number;

  private constructor(link: Link, target: number) {
    this.#target = target;
    this.#server = createServer({ allowHalfOpen: true }, (client) => {
      const server = tcpConnect({ host: '127.0.0.1', port: this.#target, allowHalfOpen: true });
      for (const socket of [client, server]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {});
      }
      const connection = link.open(sinkOf(server), sinkOf(client));
      if (connection === undefined) {
        client.resetAndDestroy();
        server.destroy();
        return;
      }
      client.on('data', (chunk: Buffer) => connection.up.receive(chunk));
      client.on('end', () => connection.up.end());
      server.on('data', (chunk: Buffer) => connection.down.receive(chunk));
      server.on('end', () => connection.down.end());
      const gone = () => connection.reset();
      client.on('close', gone);
      server.on('close', gone);
    });
  }

  static async start(link: Link, target: number): Promise<LoopbackProxy> {
    const proxy = new LoopbackProxy(link, target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening');
    return address.port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  /** New connections go to `port` (the server after a restart). */
  retarget(port: number): void {
    this.#target = port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
