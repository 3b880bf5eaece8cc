import { Duplex } from 'node:stream';
import type { Link, LinkedConnection, Sink } from './link.js';

/**
 * One end of an in-memory connection: a Duplex that the HTTP client (`ws`) and the HTTP
 * server take for a TCP socket. What is written goes into the link; what the link
 * delivers is pushed here.
 */
export class MemorySocket extends Duplex {
  readonly remoteAddress = 'memory';
  readonly remotePort = 0;
  #connection: LinkedConnection | undefined;
  readonly #side: 'client' | 'server';

  constructor(side: 'client' | 'server') {
    super({ allowHalfOpen: false });
    this.#side = side;
  }

  /** @internal */
  attach(connection: LinkedConnection): void {
    this.#connection = connection;
  }

  get #wire() {
    const connection = this.#connection;
    return connection === undefined ? undefined : this.#side === 'client' ? connection.up : connection.down;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#wire?.receive(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#wire?.end();
    callback();
  }

  override _read(): void {}

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Ended both ways is a clean close; anything else resets the other end too.
    if (error === null && this.readableEnded && this.writableFinished) this.#connection?.closed();
    else this.#connection?.reset();
    callback(error);
  }

  // What Node's HTTP client and server, and the transport, ask of a TCP socket.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }
}

/**
 * Delivers into `socket` on a later tick, in order, as a network does: never inside the
 * sender's own write (a synchronous push would run the receiver re-entrantly).
 */
function sinkOf(socket: MemorySocket): Sink {
  return {
    write: (bytes) => process.nextTick(() => socket.destroyed || socket.push(bytes)),
    end: () => process.nextTick(() => socket.destroyed || socket.push(null)),
    destroy: () => socket.destroy(),
  };
}

/**
 * A connection through `link`: its client end, whose server end goes to `accept`. Refused
 * (the link is cut): the client end fails with ECONNREFUSED on the next tick.
 */
export function connectInMemory(link: Link, accept: (serverEnd: MemorySocket) => void): MemorySocket {
  const client = new MemorySocket('client');
  const server = new MemorySocket('server');
  const connection = link.open(sinkOf(server), sinkOf(client));
  if (connection === undefined) {
    const refused = Object.assign(new Error('connect ECONNREFUSED (the test link is cut)'), { code: 'ECONNREFUSED' });
    process.nextTick(() => client.destroy(refused));
    return client;
  }
  client.attach(connection);
  server.attach(connection);
  accept(server);
  return client;
}
