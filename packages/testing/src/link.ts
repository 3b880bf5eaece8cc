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

  /** @internal Bytes stop (a blackhole): delayed ones due now are held too. */
  get blackholed(): boolean {
    return this.#blackholed;
  }

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

type Item = Unit | typeof END;

/**
 * One direction of a connection: cut into units, each faulted as the link says, and
 * delivered in order: delayed units wait in one queue behind one timer (never two timers
 * racing), held ones (blackhole) wait in another.
 */
class Wire {
  readonly #link: Link;
  readonly #direction: 'up' | 'down';
  readonly #sink: Sink;
  readonly #splitter = new FrameSplitter();
  /** Held by a blackhole: routed again on restore. */
  #held: Item[] = [];
  /** Delayed, in order, each with when it is due. */
  #delayed: Array<{ item: Item; at: number }> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

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
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#delayed = [];
    this.#held = [];
  }

  /** restore(): what was delayed goes now, in order, then what was held is routed again. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const delayed = this.#delayed;
    this.#delayed = [];
    for (const { item } of delayed) this.#deliver(item);
    const held = this.#held;
    this.#held = [];
    for (const item of held) this.#route(item);
  }

  #route(item: Item): void {
    if (this.#stopped) return;
    const verdict = this.#link.route(this.#direction, item === END ? { bytes: Buffer.alloc(0), data: false } : item);
    if ('hold' in verdict) {
      this.#held.push(item);
      return;
    }
    for (let i = 0; i < verdict.copies; i++) this.#send(item, verdict.delayMs);
  }

  #send(item: Item, delayMs: number): void {
    if (delayMs === 0 && this.#delayed.length === 0) {
      this.#deliver(item);
      return;
    }
    const last = this.#delayed[this.#delayed.length - 1];
    // Never before what was sent earlier: a shorter delay set later does not overtake.
    this.#delayed.push({ item, at: Math.max(Date.now() + delayMs, last?.at ?? 0) });
    this.#schedule();
  }

  #schedule(): void {
    const head = this.#delayed[0];
    if (this.#timer !== undefined || head === undefined) return;
    this.#timer = setTimeout(() => this.#due(), Math.max(0, head.at - Date.now()));
  }

  #due(): void {
    this.#timer = undefined;
    if (this.#link.blackholed) {
      // The network died with these bytes on their way: held, ahead of what comes later.
      this.#held = [...this.#delayed.map(({ item }) => item), ...this.#held];
      this.#delayed = [];
      return;
    }
    const now = Date.now();
    while (this.#delayed.length > 0 && (this.#delayed[0] as { at: number }).at <= now) {
      this.#deliver((this.#delayed.shift() as { item: Item }).item);
    }
    this.#schedule();
  }

  #deliver(item: Item): void {
    if (this.#stopped) return;
    if (item === END) this.#sink.end();
    else this.#sink.write(item.bytes);
  }
}
