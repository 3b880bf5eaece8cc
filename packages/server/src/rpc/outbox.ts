import type { ServerWebSocket } from '../transport/index.js';
import { SLOW_CONSUMER_CLOSE_CODE } from './delivery.js';

/** What the outbox needs of a lane: to be flushed in turn, or let go. */
export interface WaitingLane {
  /** Sends what waits until the connection is slow again; true once nothing waits. */
  flush(): boolean;
  /** Lets go of what waits. */
  close(): void;
}

/** The limits an Outbox keeps (`ResolvedServerOptions` has both). */
export interface OutboxLimits {
  /** Above this many bytes in the socket's buffer, channel messages wait in lanes. */
  readonly highWaterBytes: number;
  /** The connection's budget: bytes in the socket's buffer plus all that waits in its lanes and joins. */
  readonly maxBufferedBytes: number;
}

/**
 * A connection's send side for channel messages. While the socket holds more than
 * `highWaterBytes`, messages wait in their lanes; when it has handed everything to the
 * kernel ('drain'), the lanes are flushed in turn until it is full again.
 *
 * One budget bounds what the server holds for the connection: the socket's buffer plus
 * every byte waiting in its lanes (and held for its joining subscriptions) stays within
 * `maxBufferedBytes`, however many streams it follows. A waiting frame counts in full
 * toward each connection that holds it, even though one frame is shared by every
 * subscriber: deliberately, because each connection's share is what it alone can make
 * the server keep alive. A gap mark counts GAP_MARK_BYTES.
 *
 * ```
 *  publish ─▶ Lane.push ─┬─ keeps up, nothing waits ─▶ socket            (nothing counted)
 *                        └─ slow ─▶ fits(bytes)? ─ yes ─▶ waits, hold(bytes)
 *                                       │ no
 *                                       ├─ queue: close 4001
 *                                       └─ drop-oldest, latest: drop the lane's oldest,
 *                                          or the incoming one; told as a 'dropped' gap
 *  'drain' ─▶ lanes flushed in turn, release(bytes) ─▶ socket
 * ```
 *
 * The running count `heldBytes` changes on enqueue, send, drop and close; the socket's
 * `bufferedAmount` is read only for a message that must wait (the socket has said it is
 * past its high-water mark), never on the path of a connection that keeps up.
 */
export class Outbox {
  readonly socket: ServerWebSocket;
  readonly #highWaterBytes: number;
  readonly #maxBufferedBytes: number;
  #congested = false;
  /** Lanes with messages waiting, in the order they are served. */
  readonly #waiting = new Set<WaitingLane>();
  #closed = false;
  /** Bytes waiting in the lanes and joins of this connection (not the socket's). */
  #heldBytes = 0;

  constructor(socket: ServerWebSocket, limits: OutboxLimits) {
    this.socket = socket;
    this.#highWaterBytes = limits.highWaterBytes;
    this.#maxBufferedBytes = limits.maxBufferedBytes;
  }

  get congested(): boolean {
    return this.#congested;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The connection's budget in bytes (see the class). */
  get maxBufferedBytes(): number {
    return this.#maxBufferedBytes;
  }

  /** Bytes waiting in the lanes and joins of this connection. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Whether `bytes` more may wait: the socket's buffer, what waits already and they stay
   * within the budget. Called only for what must wait.
   */
  fits(bytes: number): boolean {
    return this.socket.bufferedAmount + this.#heldBytes + bytes <= this.#maxBufferedBytes;
  }

  /** Counts `bytes` that now wait for this connection. */
  hold(bytes: number): void {
    this.#heldBytes += bytes;
  }

  /** Stops counting `bytes`: sent, dropped, or let go. */
  release(bytes: number): void {
    this.#heldBytes -= bytes;
  }

  write(frame: Buffer): void {
    if (this.socket.sendFrame(frame) || this.#congested) return;
    if (this.socket.bufferedAmount > this.#highWaterBytes) {
      this.#congested = true;
      this.socket.once('drain', () => this.#drained());
    }
  }

  wait(lane: WaitingLane): void {
    this.#waiting.add(lane);
  }

  forget(lane: WaitingLane): void {
    this.#waiting.delete(lane);
  }

  /** Closes the connection: one of its subscribers fell too far behind. What waits is let go at once. */
  giveUp(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    // The close handshake may take closeTimeoutMs with a peer that does not read: the
    // lanes do not keep their messages meanwhile.
    for (const lane of this.#waiting) lane.close();
    this.#waiting.clear();
    this.socket.close(SLOW_CONSUMER_CLOSE_CODE, reason);
  }

  #drained(): void {
    this.#congested = false;
    for (const lane of this.#waiting) {
      this.#waiting.delete(lane);
      if (!lane.flush()) {
        // Full again: this lane goes to the back, the next drain starts with the others.
        this.#waiting.add(lane);
        return;
      }
    }
  }
}
