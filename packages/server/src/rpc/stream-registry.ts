import { RpcError } from '@switchboard/contract';
import type { RunningStream } from './running-stream.js';
import { DetachedBytes } from './stream-sink.js';

/**
 * The runs of streaming procedures on this process, by their caller's scope and
 * idempotency key: a client that reconnects (to this process) finds its run here, whichever
 * connection it comes back on.
 */
export class StreamRegistry {
  readonly #runs = new Map<string, RunningStream>();
  /**
   * Runs stopped because nobody resumed them, by key: their hash, until when it is kept. A
   * late re-send gets STREAM_LOST instead of running the handler a second time.
   */
  readonly #gone = new Map<string, { hash: number; untilMs: number }>();
  readonly #goneMs: number;
  readonly #maxGone: number;
  /** Runs whose connection closed, waiting for a resume, oldest first. */
  readonly #waiting = new Set<RunningStream>();
  /** What those runs keep, all together: past streamDetachedBytes the oldest are abandoned. */
  readonly detachedBytes: DetachedBytes;

  /**
   * Keeps the keys of abandoned runs for `goneMs` (the idempotency window's ttlMs), at most
   * `maxGone` of them; the runs of closed connections keep at most `maxDetachedBytes`.
   */
  constructor(goneMs: number, maxGone: number, maxDetachedBytes: number) {
    this.#goneMs = goneMs;
    this.#maxGone = maxGone;
    this.detachedBytes = new DetachedBytes(maxDetachedBytes, () => this.#abandonOldest());
  }

  /** A run's connection closed: it waits for a resume. */
  waiting(run: RunningStream): void {
    this.#waiting.add(run);
  }

  /** A run was resumed. */
  resumed(run: RunningStream): void {
    this.#waiting.delete(run);
  }

  /** The runs of closed connections keep too much: the oldest waiting ones go, as if their idle deadline had come. */
  #abandonOldest(): void {
    for (const run of this.#waiting) {
      if (!this.detachedBytes.over) return;
      this.#waiting.delete(run);
      run.abandon('the server needed the room this stream kept for a resume (limits.streamDetachedBytes)');
    }
  }

  /**
   * The key of a run: the caller's idempotency scope (none: the key alone, whose session
   * part is secret) and its key; the scope's length first, so no two pairs spell one key.
   */
  static keyOf(scope: string | undefined, key: string): string {
    return scope === undefined ? `-${key}` : `${scope.length}:${scope}${key}`;
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

  /** A run was released; `abandoned`: nobody resumed it in time, its key is kept a while. */
  delete(run: RunningStream, abandoned: boolean): void {
    if (this.#runs.get(run.registryKey) === run) this.#runs.delete(run.registryKey);
    this.#waiting.delete(run);
    if (!abandoned) return;
    if (this.#gone.size >= this.#maxGone) this.#gone.delete(this.#gone.keys().next().value as string);
    this.#gone.set(run.registryKey, { hash: run.hash, untilMs: Date.now() + this.#goneMs });
  }

  /** The hash of an abandoned run of this key, if one is kept. */
  abandoned(registryKey: string): number | undefined {
    const gone = this.#gone.get(registryKey);
    if (gone === undefined) return undefined;
    if (gone.untilMs > Date.now()) return gone.hash;
    this.#gone.delete(registryKey);
    return undefined;
  }

  /**
   * The server is closing: every run stops, its client told STREAM_LOST (`process`) after
   * the last chunk it was sent, as if the process had died — the same answer another
   * process gives from the record.
   */
  close(): void {
    for (const run of [...this.#runs.values()]) {
      const data = { reason: 'process', after: run.seq };
      run.stop(new RpcError('STREAM_LOST', 'the server is shutting down', data), true);
    }
  }
}
