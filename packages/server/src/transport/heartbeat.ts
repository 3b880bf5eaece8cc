// One socket's side of the server's heartbeat, as a clock-free state machine: the server's
// one shared timer calls tick() with the time, and the socket sends what it says.
//
//   heard ──tick──▶ quiet ──tick, pingIntervalMs quiet──▶ pinged ──tick, pongTimeoutMs──▶ dead
//     ▲               │                                     │
//     └─data frame, or the pong carrying our ping's bytes ──┘
import { randomBytes } from 'node:crypto';

/** Random bytes in each heartbeat ping: a pong can carry them only if the peer read the ping. */
export const HEARTBEAT_PAYLOAD_BYTES = 8;

export class Heartbeat {
  /** A data frame, or the pong that answers our ping, arrived since the last tick. */
  #heard = true;
  #quietSinceMs = 0;
  /** The payload of our ping awaiting its pong; undefined when none is out. */
  #pingPayload: Buffer | undefined;
  #pingSentAtMs = 0;

  /** A data frame (or part of one) arrived. */
  heard(): void {
    this.#heard = true;
  }

  /**
   * A pong arrived: a sign of life only if it carries our ping's bytes (RFC 6455 §5.5.3).
   * An unsolicited pong, or a ping, does not count: a peer that never reads could send one
   * now and then and stay connected for ever.
   */
  pong(payload: Buffer): void {
    if (this.#pingPayload?.equals(payload)) this.#heard = true;
  }

  /**
   * One tick at `nowMs`: the payload of a ping to send now, 'dead' when our ping has gone
   * unanswered for `pongTimeoutMs`, or undefined.
   */
  tick(nowMs: number, pingIntervalMs: number, pongTimeoutMs: number): Buffer | 'dead' | undefined {
    if (this.#heard) {
      this.#heard = false;
      this.#quietSinceMs = nowMs;
      this.#pingPayload = undefined;
      return undefined;
    }
    if (this.#pingPayload !== undefined) return nowMs - this.#pingSentAtMs >= pongTimeoutMs ? 'dead' : undefined;
    if (nowMs - this.#quietSinceMs < pingIntervalMs) return undefined;
    // Random, not a counter: a peer that does not read could guess the next few counts.
    this.#pingPayload = randomBytes(HEARTBEAT_PAYLOAD_BYTES);
    this.#pingSentAtMs = nowMs;
    return this.#pingPayload;
  }
}
