import { FrameSplitter, type Unit } from './frames.js';

/** Client → server is `up`, server → client is `down`. */
export type Direction = 'up' | 'down' | 'both';

/** Where one direction of a connection delivers: the other end's socket. */
export interface Sink {
  write(bytes: Buffer): void;
  end(): void;
  destroy(): void;
}

/**
 * The network between a test's client and its server, with faults. Every connection the
 * client makes goes through it: in memory, or through a loopback proxy. Faults act on
 * open connections and on those made later, until `restore()`. Delays run on the test
 * clock (a faked one, when the pair has one: advance it).
 */
export class Link {
  readonly #connections = new Set<LinkedConnection>();
  #refusing = false;
  #blackholed = false;
  #delayMs = 0;
  readonly #drops = { up: 0, down: 0 };
  readonly #duplicates = { up: 0, down: 0 };
  #attempts = 0;

  /** Open connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Connections the client has tried, refused ones included. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Every connection drops at once, as a reset (no close frame); new ones are refused until restore(). */
  cut(): void {
    this.#refusing = true;
    for (const connection of [...this.#connections]) connection.reset();
  }

  /** @internal Every connection drops at once (a server that died); new ones are accepted. */
  resetAll(): void {
    for (const connection of [...this.#connections]) connection.reset();
  }

  /** Bytes stop both ways with no FIN and no reset (a dead network): held, and delivered on restore(). */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** Every byte from now on arrives `ms` later (on the test clock), in order. */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`delay must be ≥ 0 ms, got ${ms}`);
    this.#delayMs = ms;
  }

  /** The next `count` data frames (messages, unfragmented) in `direction` vanish; control frames pass. */
  dropNext(count: number, direction: Direction = 'both'): void {
    this.#add(this.#drops, count, direction);
  }

  /** The next `count` data frames in `direction` arrive twice. */
  duplicateNext(count: number, direction: Direction = 'both'): void {
    this.#add(this.#duplicates, count, direction);
  }

  /** Back to normal: new connections accepted, held bytes delivered, no delay, no pending drops. */
  restore(): void {
    this.#refusing = false;
    this.#blackholed = false;
    this.#delayMs = 0;
    this.#drops.up = this.#drops.down = 0;
    this.#duplicates.up = this.#duplicates.down = 0;
    for (const connection of this.#connections) connection.flush();
  }

  #add(counters: { up: number; down: number }, count: number, direction: Direction): void {
    if (!Number.isInteger(count) || count < 0) throw new TypeError(`count must be an integer ≥ 0, got ${count}`);
    if (direction !== 'down') counters.up += count;
    if (direction !== 'up') counters.down += count;
  }

  /** @internal A new connection; false when the link refuses it (cut). */
  open(toServer: Sink, toClient: Sink): LinkedConnection | undefined {
    this.#attempts++;
    if (this.#refusing) return undefined;
    const connection = new LinkedConnection(this, toServer, toClient);
    this.#connections.add(connection);
    return connection;
  }

  /** @internal */
  forget(connection: LinkedConnection): void {
    this.#connections.delete(connection);
  }

  /** @internal What happens to a unit: held (blackhole), dropped (0 copies), or sent once or twice after a delay. */
  route(direction: 'up' | 'down', unit: Unit): { hold: true } | { copies: number; delayMs: number } {
    if (this.#blackholed) return { hold: true };
    let copies = 1;
    if (unit.data && this.#drops[direction] > 0) {
      this.#drops[direction]--;
      copies = 0;
    } else if (unit.data && this.#duplicates[direction] > 0) {
      this.#duplicates[direction]--;
      copies = 2;
    }
    return { copies, delayMs: this.#delayMs };
  }
}

/** One connection through the link: two wires, one per direction. */
export class LinkedConnection {
  readonly #link: Link;
  readonly up: Wire;
  readonly down: Wire;
  readonly #toServer: Sink;
  readonly #toClient: Sink;
  #gone = false;

  constructor(link: Link, toServer: Sink, toClient: Sink) {
    this.#link = link;
    this.#toServer = toServer;
    this.#toClient = toClient;
    this.up = new Wire(link, 'up', toServer);
    this.down = new Wire(link, 'down', toClient);
  }

  /** Both ends see the connection reset. */
  reset(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#link.forget(this);
    this.up.stop();
    this.down.stop();
    this.#toServer.destroy();
    this.#toClient.destroy();
  }

  /** Both directions have ended (FIN each way), or one side destroyed its socket. */
  closed(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#link.forget(this);
  }

  flush(): void {
    this.up.flush();
    this.down.flush();
  }
}

const END = Symbol('end');

/** One direction of a connection: cut into units, each faulted as the link says, in order. */
class Wire {
  readonly #link: Link;
  readonly #direction: 'up' | 'down';
  readonly #sink: Sink;
  readonly #splitter = new FrameSplitter();
  readonly #held: Array<Unit | typeof END> = [];
  /** When the last delayed unit is released: later ones never overtake it. */
  #releaseAt = 0;
  #stopped = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(link: Link, direction: 'up' | 'down', sink: Sink) {
    this.#link = link;
    this.#direction = direction;
    this.#sink = sink;
  }

  receive(chunk: Buffer): void {
    for (const unit of this.#splitter.push(chunk)) this.#route(unit);
  }

  end(): void {
    this.#route(END);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#held.length = 0;
  }

  flush(): void {
    const held = this.#held.splice(0);
    for (const unit of held) this.#route(unit);
  }

  #route(unit: Unit | typeof END): void {
    if (this.#stopped) return;
    const verdict = this.#link.route(this.#direction, unit === END ? { bytes: Buffer.alloc(0), data: false } : unit);
    if ('hold' in verdict) {
      this.#held.push(unit);
      return;
    }
    for (let i = 0; i < verdict.copies; i++) this.#send(unit, verdict.delayMs);
  }

  #send(unit: Unit | typeof END, delayMs: number): void {
    const now = Date.now();
    const waitMs = Math.max(delayMs, this.#releaseAt - now);
    if (waitMs <= 0 && this.#timers.size === 0) {
      this.#deliver(unit);
      return;
    }
    this.#releaseAt = now + waitMs;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#deliver(unit);
    }, waitMs);
    this.#timers.add(timer);
  }

  #deliver(unit: Unit | typeof END): void {
    if (this.#stopped) return;
    if (unit === END) this.#sink.end();
    else this.#sink.write(unit.bytes);
  }
}
