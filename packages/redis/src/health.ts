import { RpcError } from '@switchboard/contract';

/**
 * What the broker can do now:
 *
 *   connecting ──▶ ok ◀──▶ down        (any) ── close() ──▶ closed
 *        └────────────────────▲
 *
 * `ok`: both connections are up and every topic is subscribed and caught up. `down`: a
 * connection is lost (publishes fail with UNAVAILABLE while the command connection is),
 * or the broker is still subscribing again and reading back what it missed.
 */
export type BrokerHealth = 'connecting' | 'ok' | 'down' | 'closed';

const HEALTH_MOVES: Record<BrokerHealth, readonly BrokerHealth[]> = {
  connecting: ['ok', 'down', 'closed'],
  ok: ['down', 'closed'],
  down: ['ok', 'closed'],
  closed: [],
};

/**
 * The broker's health, its moves (HEALTH_MOVES), the last connection error, and what a
 * command should do about it: run, wait for the first connection, or fail UNAVAILABLE.
 */
export class Health {
  #state: BrokerHealth = 'connecting';
  /** The last connection error seen, told with every move. */
  lastError: Error | undefined;
  readonly #onMove: (health: BrokerHealth, error: Error | undefined) => void;
  readonly #leftConnecting: Promise<void>;
  #resolveLeftConnecting: () => void = () => {};

  /** `connectTimeoutMs`: the longest a command waits for the first connection. */
  constructor(connectTimeoutMs: number, onMove: (health: BrokerHealth, error: Error | undefined) => void) {
    this.#onMove = onMove;
    this.#leftConnecting = new Promise<void>((resolve) => {
      this.#resolveLeftConnecting = resolve;
      setTimeout(resolve, connectTimeoutMs).unref();
    });
  }

  get state(): BrokerHealth {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Moves to `next`; a move HEALTH_MOVES does not allow is a bug and throws. */
  move(next: BrokerHealth): void {
    if (next === this.#state) return;
    if (!HEALTH_MOVES[this.#state].includes(next)) throw new Error(`${this.#state} -> ${next}`);
    if (this.#state === 'connecting') this.#resolveLeftConnecting();
    this.#state = next;
    this.#onMove(next, this.lastError);
  }

  /** Keeps `error` as the last one seen. */
  failed(error: unknown): void {
    this.lastError = error instanceof Error ? error : new Error(String(error));
  }

  /**
   * Undefined when `ready()` says the connection(s) can take commands now; a wait while
   * the very first connection is still being made; UNAVAILABLE otherwise (never a queue).
   */
  usable(ready: () => boolean, what: string): Promise<void> | undefined {
    this.checkOpen(what);
    if (ready()) return undefined;
    const down = () =>
      new RpcError('UNAVAILABLE', `${what}: redis is unreachable`, undefined, { cause: this.lastError });
    if (this.#state !== 'connecting') throw down();
    return this.#leftConnecting.then(() => {
      this.checkOpen(what);
      if (!ready()) throw down();
    });
  }

  checkOpen(what: string): void {
    if (this.#state === 'closed') throw new RpcError('UNAVAILABLE', `${what}: the broker is closed`);
  }
}
