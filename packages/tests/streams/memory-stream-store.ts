import type { StreamClaim, StreamRecord, StreamStore } from '@switchboard/server';

/**
 * A StreamStore in memory with the Redis store's semantics, for tests of the shared path
 * without a redis-server. `gate`: when set, begin() replies only once it resolves (the
 * claim itself is made at once, as the Lua script does).
 */
export class MemoryStreamStore implements StreamStore {
  readonly leaseMs = 1_000;
  gate: Promise<void> | undefined;
  readonly runs = new Map<
    string,
    { fp: string; tok: string; lease: number; final?: StreamRecord['final']; chunks: { seq: number; body: string }[] }
  >();
  #tokens = 0;

  async begin(key: string, fingerprint: string): Promise<StreamClaim> {
    const run = this.runs.get(key);
    let claim: StreamClaim;
    if (run !== undefined) claim = { state: 'taken', fingerprint: run.fp };
    else {
      const token = String(++this.#tokens);
      this.runs.set(key, { fp: fingerprint, tok: token, lease: Date.now() + this.leaseMs, chunks: [] });
      claim = { state: 'claimed', token };
    }
    await this.gate;
    return claim;
  }

  async append(key: string, token: string, seq: number, body: string): Promise<boolean> {
    const run = this.runs.get(key);
    if (run?.tok !== token) return false;
    run.chunks.push({ seq, body });
    run.lease = Date.now() + this.leaseMs;
    return true;
  }

  async extend(key: string, token: string): Promise<boolean> {
    const run = this.runs.get(key);
    if (run?.tok !== token) return false;
    run.lease = Date.now() + this.leaseMs;
    return true;
  }

  async finish(key: string, token: string, type: 'end' | 'error', body: string): Promise<void> {
    const run = this.runs.get(key);
    if (run?.tok !== token) return;
    run.final = { type, body };
    run.lease = 0;
  }

  async read(key: string, after: number, max: number): Promise<StreamRecord | undefined> {
    const run = this.runs.get(key);
    if (run === undefined) return undefined;
    return {
      fingerprint: run.fp,
      chunks: run.chunks.filter((chunk) => chunk.seq > after).slice(0, max),
      last: run.chunks.at(-1)?.seq ?? 0,
      final: run.final,
      running: run.final === undefined && run.lease > Date.now(),
    };
  }

  async release(key: string): Promise<void> {
    this.runs.delete(key);
  }
}

/** An idempotency store whose only use is its `streams`: the server takes stream records from it. */
export function streamsOnlyStore(streams: StreamStore) {
  const unused = () => Promise.reject(new Error('not used by these tests'));
  return { leaseMs: 1_000, claim: unused, extend: unused, finish: unused, wait: unused, acknowledge: unused, streams };
}
