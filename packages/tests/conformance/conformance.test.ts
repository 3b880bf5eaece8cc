// Runs the Autobahn-style conformance suite against an in-process echo server.
//
// Categories 1–7, 9 and 10 run exactly as the CLI does (category 9 at Autobahn's full
// sizes, up to 16 MiB: it takes a few seconds). Categories 12 and 13 run the `quick`
// profile — 20 instead of 1000 messages per case, same 216 case ids and sizes — because
// the full count takes ~12 minutes; `npm run conformance -- --port N` runs them in full.
// Category 14 is ours, not Autobahn's: messages whose DEFLATE data ends with a final block.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseResult } from './case-types.js';
import { type EchoServer, startEchoServer } from './echo-server.js';
import { runConformance } from './runner.js';

let server: EchoServer;

beforeAll(async () => {
  server = await startEchoServer();
});

afterAll(async () => {
  await server?.close();
});

const summary = (results: readonly CaseResult[]): string =>
  results
    .map(
      (r) =>
        `${r.id} ${r.verdict} (close: ${r.closeBehavior}) — ${r.verdict === 'FAILED' && r.behavior !== 'FAILED' ? r.resultClose : r.result}`,
    )
    .join('\n');

async function run(filter: string, profile: 'full' | 'quick' = 'full'): Promise<CaseResult[]> {
  const report = await runConformance({ host: '127.0.0.1', port: server.port, filter, profile });
  expect(report.results.length).toBeGreaterThan(0);
  return report.results;
}

/** No FAILED case, and no UNIMPLEMENTED one either (our server must negotiate deflate). */
function expectPassed(results: readonly CaseResult[]): void {
  const bad = results.filter((r) => r.verdict === 'FAILED' || r.verdict === 'UNIMPLEMENTED');
  expect(bad, summary(bad)).toEqual([]);
}

describe('Autobahn-style conformance (RFC 6455 / RFC 7692)', () => {
  it('categories 1–5: framing, pings, reserved bits, opcodes, fragmentation', { timeout: 60_000 }, async () => {
    const results = await run('1.*,2.*,3.*,4.*,5.*');
    expect(results).toHaveLength(64);
    expectPassed(results);
  });

  let utf8: CaseResult[] = [];
  it('category 6: UTF-8 handling', { timeout: 60_000 }, async () => {
    utf8 = await run('6.*');
    expect(utf8).toHaveLength(145);
    expectPassed(utf8);
  });

  it('6.4.x: fails fast on invalid UTF-8 (strictly OK, not NON-STRICT)', () => {
    // RFC 6455 §8.1: fail as soon as the bytes cannot be valid UTF-8, also inside a frame.
    const failFast = utf8.filter((r) => r.id.startsWith('6.4.'));
    expect(failFast).toHaveLength(4);
    const lax = failFast.filter((r) => r.verdict !== 'OK');
    expect(lax, summary(lax)).toEqual([]);
  });

  it('category 7: close handling', { timeout: 60_000 }, async () => {
    const results = await run('7.*');
    expect(results).toHaveLength(37);
    expectPassed(results);
  });

  it('category 9: limits/performance (full Autobahn sizes, up to 16 MiB)', { timeout: 120_000 }, async () => {
    const results = await run('9.*');
    expect(results).toHaveLength(54);
    expectPassed(results);
  });

  it('category 10: auto-fragmentation', { timeout: 30_000 }, async () => {
    const results = await run('10.*');
    expect(results).toHaveLength(1);
    expectPassed(results);
  });

  it('categories 12–13: permessage-deflate (quick profile: 20 messages per case)', { timeout: 180_000 }, async () => {
    const results = await run('12.*,13.*', 'quick');
    expect(results).toHaveLength(90 + 126);
    expectPassed(results);
  });

  it('category 14: messages whose DEFLATE data ends with a final block (not in Autobahn)', {
    timeout: 60_000,
  }, async () => {
    const results = await run('14.*');
    expect(results).toHaveLength(3);
    expectPassed(results);
  });
});
