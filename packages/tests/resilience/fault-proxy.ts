import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy the test controls: cut every connection at once, blackhole them
 * (stop forwarding in both directions, sockets left open, as a dead network does), or
 * refuse new ones.
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #blackholed = false;
  #refusing = false;
  port = 0;

  #targetPort: number;

  private constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = createServer((client) => {
      if (this.#refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(this.#targetPort, '127.0.0.1');
      const pair = { client, upstream };
      this.#pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          if (!this.#blackholed) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
    });
  }

  static async start(targetPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.#server.address() as AddressInfo).port;
    return proxy;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Drops every connection (both directions, at once). */
  cut(): void {
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** Silently stops forwarding; TCP stays up, as with a dead link. */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** New connections go to this port from now on (a restarted or another server). */
  retarget(port: number): void {
    this.#targetPort = port;
  }

  /** New connections are dropped as soon as they are accepted. */
  refuse(): void {
    this.#refusing = true;
  }

  /** Forwards again and accepts new connections. */
  restore(): void {
    this.#blackholed = false;
    this.#refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
