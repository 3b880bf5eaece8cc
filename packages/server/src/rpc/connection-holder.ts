import type { Holder } from './idempotency.js';

/** Ids of this process's connections (the namespace of an unscoped connection's plain keys). */
let nextConnectionId = 1;

/**
 * A connection as the idempotency window sees it. Sessions outlive their connection (for
 * the client's next one) and point at this small object, never at the connection: once it
 * closes, nothing here holds the Peer, its socket or what they buffer.
 */
export class ConnectionHolder implements Holder {
  readonly id = nextConnectionId++;
  readonly scope: string | undefined;
  sessions = 0;
  #probe: (() => Promise<boolean>) | undefined;

  constructor(scope: string | undefined, probe: () => Promise<boolean>) {
    this.scope = scope;
    this.#probe = probe;
  }

  get open(): boolean {
    return this.#probe !== undefined;
  }

  /** Whether the connection is still there; one that is not is closed at once, so its sessions can move. */
  async probe(): Promise<boolean> {
    const alive = (await this.#probe?.()) ?? false;
    if (!alive) this.close();
    return alive;
  }

  close(): void {
    this.#probe = undefined;
  }
}
