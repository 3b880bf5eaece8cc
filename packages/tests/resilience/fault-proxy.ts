import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** How often delayed or throttled bytes move on. */
const PUMP_MS = 5;

/**
 * One direction of a proxied connection: bytes in order, each after the delay, within the
 * byte rate. Without either, bytes go straight through.
 */
class Lane {
  readonly #to: Socket;
  readonly #proxy: FaultProxy;
  readonly #queue: Array<{ chunk: Buffer; dueAt: number }> = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #budget = 0;
  #lastPumpAt = 0;

  constructor(to: Socket, proxy: FaultProxy) {
    this.#to = to;
    this.#proxy = proxy;
  }

  push(chunk: Buffer): void {
    const { delayMs, bytesPerSecond } = this.#proxy;
    if (delayMs === 0 && bytesPerSecond === 0 && this.#queue.length === 0) {
      this.#to.write(chunk);
      return;
    }
    this.#queue.push({ chunk, dueAt: Date.now() + delayMs });
    if (this.#timer === undefined) {
      this.#lastPumpAt = Date.now();
      this.#timer = setInterval(() => this.#pump(), PUMP_MS);
    }
  }

  #pump(): void {
    const now = Date.now();
    const { bytesPerSecond } = this.#proxy;
    this.#budget =
      bytesPerSecond === 0
        ? Number.POSITIVE_INFINITY
        : this.#budget + ((now - this.#lastPumpAt) * bytesPerSecond) / 1000;
    this.#lastPumpAt = now;
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as { chunk: Buffer; dueAt: number };
      if (head.dueAt > now || this.#budget < 1) break;
      const take = Math.min(head.chunk.length, Math.floor(this.#budget));
      if (!this.#to.destroyed) this.#to.write(head.chunk.subarray(0, take));
      this.#budget -= take;
      if (take === head.chunk.length) this.#queue.shift();
      else head.chunk = head.chunk.subarray(take);
    }
    if (this.#queue.length === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#budget = 0;
  }
}

/**
 * A loopback TCP proxy the test controls: cut every connection at once, blackhole them
 * (stop forwarding in both directions, sockets left open, as a dead network does), delay
 * or throttle what they carry, or refuse new ones.
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #blackholed = false;
  #refusing = false;
  port = 0;
  /** Every byte waits this long, each way. */
  delayMs = 0;
  /** At most this many bytes a second each way, per connection (0: no limit). */
  bytesPerSecond = 0;

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
      const lanes = [new Lane(upstream, this), new Lane(client, this)] as const;
      const forward = (from: Socket, lane: Lane) =>
        from.on('data', (chunk: Buffer) => {
          if (!this.#blackholed) lane.push(chunk);
        });
      forward(client, lanes[0]);
      forward(upstream, lanes[1]);
      const end = () => {
        for (const lane of lanes) lane.stop();
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

  /** Every byte waits `ms` each way, in order (0: none). */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** At most `bytesPerSecond` each way per connection (0: no limit). */
  throttle(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** New connections go to this port from now on (a restarted or another server). */
  retarget(port: number): void {
    this.#targetPort = port;
  }

  /** New connections are dropped as soon as they are accepted. */
  refuse(): void {
    this.#refusing = true;
  }

  /** Forwards again, at once and at full speed, and accepts new connections. */
  restore(): void {
    this.#blackholed = false;
    this.#refusing = false;
    this.delayMs = 0;
    this.bytesPerSecond = 0;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
