// Runs conformance cases one at a time against a WebSocket echo server.
import { performance } from 'node:perf_hooks';
import type { CaseContext, CaseResult, ConformanceCase, Profile, Verdict } from './case-types.js';
import { VERDICTS } from './case-types.js';
import { allCases } from './cases/index.js';
import { HandshakeError, RawClient } from './raw-client.js';

export interface RunOptions {
  host: string;
  port: number;
  /** Autobahn-style patterns, comma separated or as a list: '6.4.*', '1.1.1', '12.*'. */
  filter?: string | readonly string[];
  /** Hard timeout for cases that do not set their own (default 15 s). */
  timeoutMs?: number;
  /** 'full' (Autobahn sizes, default) or 'quick' (reduced categories 9, 12, 13). */
  profile?: Profile;
  /** Called after each case, e.g. for progress output. */
  onResult?: (result: CaseResult, index: number, total: number) => void;
}

export interface Report {
  target: { host: string; port: number };
  profile: Profile;
  results: CaseResult[];
  counts: Record<Verdict, number>;
  durationMs: number;
}

/** Autobahn pattern semantics: exact id, or '*' as a wildcard over the dotted id. */
export function caseMatcher(filter: string | readonly string[] | undefined): (id: string) => boolean {
  const patterns = (typeof filter === 'string' ? filter.split(',') : (filter ?? []))
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (patterns.length === 0) return () => true;
  const regexes = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  return (id) => regexes.some((r) => r.test(id));
}

export function selectCases(profile: Profile, filter?: string | readonly string[]): ConformanceCase[] {
  const match = caseMatcher(filter);
  return allCases(profile).filter((c) => match(c.id));
}

export async function runConformance(options: RunOptions): Promise<Report> {
  const profile = options.profile ?? 'full';
  const cases = selectCases(profile, options.filter);
  const started = performance.now();
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    const result = await runCase(c, options, profile);
    results.push(result);
    options.onResult?.(result, i, cases.length);
  }
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const r of results) counts[r.verdict]++;
  return {
    target: { host: options.host, port: options.port },
    profile,
    results,
    counts,
    durationMs: performance.now() - started,
  };
}

async function runCase(c: ConformanceCase, options: RunOptions, profile: Profile): Promise<CaseResult> {
  const clients: RawClient[] = [];
  const ctx: CaseContext = {
    profile,
    async connect(o = {}) {
      const client = await RawClient.connect({
        host: options.host,
        port: options.port,
        ...(o.deflate ? { deflate: o.deflate } : {}),
      });
      clients.push(client);
      return client;
    },
  };
  const limit = c.timeoutMs ?? options.timeoutMs ?? 15_000;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const base = { id: c.id, title: c.title, rfc: c.rfc };
  try {
    const outcome = await Promise.race([
      c.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CaseTimeout(limit)), limit);
      }),
    ]);
    return { ...base, ...outcome, durationMs: performance.now() - t0 };
  } catch (err) {
    const result =
      err instanceof HandshakeError
        ? `The WebSocket opening handshake failed: ${err.message}`
        : err instanceof CaseTimeout
          ? err.message
          : `Case crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    return {
      ...base,
      verdict: 'FAILED',
      behavior: 'FAILED',
      closeBehavior: 'FAILED',
      result,
      resultClose: 'n/a',
      remoteCloseCode: clients[0]?.closeReceived?.code,
      timings: {},
      durationMs: performance.now() - t0,
    };
  } finally {
    clearTimeout(timer);
    // Never leak a connection into the next case.
    for (const client of clients) client.drop();
    await Promise.race([
      Promise.all(clients.map((client) => client.finished)),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
  }
}

class CaseTimeout extends Error {
  constructor(ms: number) {
    super(`Case did not finish within its hard limit of ${ms} ms`);
  }
}
