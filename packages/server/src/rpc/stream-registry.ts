import { RpcError } from '@switchboard/contract';
import type { RunningStream } from './running-stream.js';

/**
 * The runs of streaming procedures on this process, by their caller's scope and
 * idempotency key: a client that reconnects (to this process) finds its run here, whichever
 * connection it comes back on.
 */
export class StreamRegistry {
  readonly #runs = new Map<string, RunningStream>();

  /** The key of a run: the caller's idempotency scope (none: the key alone, whose session part is secret) and its key. */
  static keyOf(scope: string | undefined, key: string): string {
    return scope === undefined ? `\n${key}` : `${scope}\n${key}`;
  }

  get size(): number {
    return this.#runs.size;
  }

  get(registryKey: string): RunningStream | undefined {
    return this.#runs.get(registryKey);
  }

  add(run: RunningStream): void {
    this.#runs.set(run.registryKey, run);
  }

  /** A run was released. */
  delete(run: RunningStream): void {
    if (this.#runs.get(run.registryKey) === run) this.#runs.delete(run.registryKey);
  }

  /** The server is closing: every run stops, its client told UNAVAILABLE. */
  close(): void {
    const closing = new RpcError('UNAVAILABLE', 'the server is shutting down');
    for (const run of [...this.#runs.values()]) run.stop(closing, true);
  }
}
