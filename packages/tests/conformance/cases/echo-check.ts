// Helpers for the "send, wait for the echo, compare" loops of categories 9, 10, 12, 13.
import { performance } from 'node:perf_hooks';
import type { RawClient } from '../raw-client.js';

export interface EchoResult {
  ok: boolean;
  /** Human-readable reason when not ok. */
  problem: string;
  ms: number;
}

/**
 * Clears the event log, runs `send`, waits for the next message and checks it is a
 * byte-identical echo (RFC 6455 §5.6 data, §5.4 reassembly). Clearing keeps memory flat
 * in loops of thousands of messages.
 */
export async function expectEcho(
  c: RawClient,
  send: () => Promise<void>,
  want: { binary: boolean; data: Buffer },
  timeoutMs: number,
): Promise<EchoResult> {
  c.received.length = 0;
  const t0 = performance.now();
  void send().catch(() => undefined);
  const got = await c.nextMessage(0, timeoutMs);
  const ms = performance.now() - t0;
  const kind = want.binary ? 'binary' : 'text';
  if (!got) {
    const why = c.state === 'closed' ? 'the connection closed' : `nothing arrived within ${timeoutMs} ms`;
    return { ok: false, problem: `no echo of the ${want.data.length}-byte ${kind} message: ${why}`, ms };
  }
  if (got.binary !== want.binary)
    return { ok: false, problem: `echo is ${got.binary ? 'binary' : 'text'}, expected ${kind}`, ms };
  if (got.data.length !== want.data.length)
    return { ok: false, problem: `echo has ${got.data.length} bytes, expected ${want.data.length}`, ms };
  if (!got.data.equals(want.data))
    return { ok: false, problem: `echo of the ${want.data.length}-byte ${kind} message differs in content`, ms };
  return { ok: true, problem: '', ms };
}
