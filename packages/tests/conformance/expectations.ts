// Autobahn's way of judging a case: compare the sequence of observed events with the
// expected one(s) ("behavior"), then judge how the connection ended ("close behavior"),
// and fold both into one verdict.
import type { CaseOutcome, CloseBehavior, Verdict } from './case-types.js';
import { toBytes } from './frame-codec.js';
import type { Observed, RawClient } from './raw-client.js';

export type Expected =
  | { kind: 'message'; data: Uint8Array | string; binary: boolean }
  | { kind: 'pong'; data: Uint8Array | string }
  | { kind: 'timeout'; tag: string };

export const text = (data: Uint8Array | string): Expected => ({ kind: 'message', data, binary: false });
export const binary = (data: Uint8Array | string): Expected => ({ kind: 'message', data, binary: true });
export const pong = (data: Uint8Array | string = ''): Expected => ({ kind: 'pong', data });
export const timeout = (tag: string): Expected => ({ kind: 'timeout', tag });

export interface ExpectedClose {
  /** We (the client) start the closing handshake; otherwise the server must fail the connection. */
  closedByMe: boolean;
  /** Acceptable codes in the server's Close frame (an empty Close body is tolerated, see below). */
  codes: readonly number[];
  /** The full closing handshake must happen and the server must close TCP. */
  requireClean: boolean;
}

export interface Expectation {
  ok: readonly Expected[];
  nonStrict?: readonly Expected[];
  close: ExpectedClose;
  /** Do not start the closing handshake when the events match (case sends its own closes). */
  suppressClose?: boolean;
  /** Autobahn turns a wrong close code into FAILED for these cases (category 7). */
  wrongCodeFails?: boolean;
  /** Autobahn: the right endpoint must close (UTF-8 cases — otherwise the server never noticed). */
  wrongEndpointFails?: boolean;
  /** Behaviour is left open by the RFC; the case only reports what happened. */
  informational?: boolean;
}

/** Normal echo-then-close ending, used by most "valid input" cases. */
export const NORMAL_CLOSE: ExpectedClose = { closedByMe: true, codes: [1000], requireClean: true };

/** "The connection is failed" with the given code(s) (RFC 6455 §7.1.7, §7.4.1). */
export const failWith = (...codes: number[]): ExpectedClose => ({ closedByMe: false, codes, requireClean: false });

function sameEvent(seen: Observed, want: Expected): boolean {
  if (seen.kind !== want.kind) return false;
  if (seen.kind === 'timeout' && want.kind === 'timeout') return seen.tag === want.tag;
  if (seen.kind === 'message' && want.kind === 'message')
    return seen.binary === want.binary && seen.data.equals(toBytes(want.data));
  if (seen.kind === 'pong' && want.kind === 'pong') return seen.data.equals(toBytes(want.data));
  return false;
}

export function matches(seen: readonly Observed[], want: readonly Expected[]): boolean {
  return (
    seen.length === want.length &&
    seen.every((e, i) => {
      const w = want[i];
      return w !== undefined && sameEvent(e, w);
    })
  );
}

function preview(data: Uint8Array | string): string {
  const bytes = toBytes(data);
  const shown = bytes.subarray(0, 24);
  const printable = shown.every((b) => b >= 0x20 && b < 0x7f);
  const body = printable ? JSON.stringify(shown.toString('latin1')) : `0x${shown.toString('hex')}`;
  return `${bytes.length} B ${body}${bytes.length > shown.length ? '…' : ''}`;
}

export function describeEvents(events: readonly (Observed | Expected)[]): string {
  if (events.length === 0) return '[]';
  const parts = events.slice(0, 12).map((e) => {
    if (e.kind === 'timeout') return `timeout(${e.tag})`;
    if (e.kind === 'message') return `${e.binary ? 'binary' : 'text'}(${preview(e.data)})`;
    return `${e.kind}(${preview(e.data)})`;
  });
  return `[${parts.join(', ')}${events.length > 12 ? `, … ${events.length - 12} more` : ''}]`;
}

/**
 * Wires Autobahn's `finishWhenDone` (start the closing handshake as soon as the events
 * match, when we are the closing side) and resolves with the outcome once TCP is gone.
 */
export async function watch(client: RawClient, exp: Expectation): Promise<CaseOutcome> {
  const check = (): void => {
    if (!exp.close.closedByMe || exp.suppressClose || client.state !== 'open') return;
    const alternatives = exp.nonStrict ? [exp.ok, exp.nonStrict] : [exp.ok];
    if (alternatives.every((a) => matches(client.received, a)))
      void client.sendClose({ code: exp.close.codes[0] ?? 1000 });
  };
  const off = client.onEvent(check);
  try {
    await client.finished;
  } finally {
    off();
  }
  return evaluate(client, exp);
}

/** Closes normally (if still open) and judges a case whose behaviour the case decided itself. */
export async function finishWith(client: RawClient, behavior: Verdict, result: string): Promise<CaseOutcome> {
  if (client.state === 'open') void client.sendClose({ code: 1000 });
  await client.finished;
  return evaluate(client, { ok: [], close: NORMAL_CLOSE }, { behavior, result });
}

export function judgeClose(
  client: RawClient,
  want: ExpectedClose,
): { closeBehavior: CloseBehavior; resultClose: string } {
  const code = client.closeReceived?.code;
  const serverSilent = !client.closeReceived && !client.tcpClosedByServer;
  if (serverSilent && !want.closedByMe)
    return {
      closeBehavior: 'FAILED',
      resultClose: 'The server never failed the connection (no Close frame, TCP left open)',
    };
  if (serverSilent)
    return { closeBehavior: 'FAILED', resultClose: 'The server ignored our Close (no Close in reply, TCP left open)' };
  if (want.closedByMe !== client.closedByMe)
    return { closeBehavior: 'FAILED', resultClose: 'The connection was failed by the wrong endpoint' };
  if (want.requireClean && !client.wasClean)
    return {
      closeBehavior: 'UNCLEAN',
      resultClose: 'The spec requires a clean close here (Close frames exchanged, server closes TCP)',
    };
  if (code !== undefined && !want.codes.includes(code))
    return {
      closeBehavior: 'WRONG CODE',
      resultClose: `The close code should have been ${want.codes.join(',')} or empty, got ${code}`,
    };
  if (client.droppedByMe)
    return {
      closeBehavior: 'FAILED BY CLIENT',
      resultClose: 'It is preferred that the server close the TCP connection (RFC 6455 §7.1.1)',
    };
  return { closeBehavior: 'OK', resultClose: 'Connection was properly closed' };
}

function timings(client: RawClient): Record<string, number> {
  const rel = (t: number | undefined): number | undefined =>
    t === undefined ? undefined : Math.round((t - client.openedAt) * 10) / 10;
  const out: Record<string, number> = {};
  const put = (k: string, t: number | undefined): void => {
    const v = rel(t);
    if (v !== undefined) out[k] = v;
  };
  put('firstEvent', client.received[0]?.at);
  put('closeSent', client.closeSent?.at);
  put('closeReceived', client.closeReceived?.at);
  put('tcpClosed', client.tcpClosedAt);
  return out;
}

export function evaluate(
  client: RawClient,
  exp: Expectation,
  decided?: { behavior: Verdict; result: string },
): CaseOutcome {
  let behavior: Verdict = 'FAILED';
  let result = `Actual events differ from any expected: expected ${describeEvents(exp.ok)}${
    exp.nonStrict ? ` or (non-strict) ${describeEvents(exp.nonStrict)}` : ''
  }, observed ${describeEvents(client.received)}`;
  if (decided) {
    behavior = decided.behavior;
    result = decided.result;
  } else if (matches(client.received, exp.ok)) {
    behavior = 'OK';
    result = 'Actual events match the expected ones';
  } else if (exp.nonStrict && matches(client.received, exp.nonStrict)) {
    behavior = 'NON-STRICT';
    result = `Actual events match only the non-strict expectation ${describeEvents(exp.nonStrict)}, not ${describeEvents(exp.ok)}`;
  }
  let { closeBehavior, resultClose } = judgeClose(client, exp.close);
  if (exp.wrongEndpointFails && exp.close.closedByMe !== client.closedByMe) {
    behavior = 'FAILED';
    result = `${result}; the server did not fail the connection itself`;
  }
  const remoteCloseCode = client.closeReceived?.code;

  // Fold Autobahn's two columns into one verdict:
  //  - FAILED behaviour, a failed or unclean close, or any protocol violation by the server → FAILED;
  //  - a wrong close code → FAILED where Autobahn says so (category 7), else NON-STRICT (its yellow);
  //  - the client having to drop TCP after a finished handshake → NON-STRICT (RFC 6455 §7.1.1 is a SHOULD);
  //  - failing a connection with an empty Close (no status code) → NON-STRICT.
  let verdict: Verdict = behavior;
  if (client.protocolErrors.length > 0) {
    verdict = 'FAILED';
    result = `Server protocol violation: ${client.protocolErrors.join('; ')}`;
  } else if (exp.informational) {
    verdict = 'INFORMATIONAL';
    closeBehavior = 'INFORMATIONAL';
    result = `Observed ${describeEvents(client.received)}; server close code ${remoteCloseCode ?? 'none'}`;
  } else if (behavior === 'FAILED' || closeBehavior === 'FAILED' || closeBehavior === 'UNCLEAN') {
    verdict = 'FAILED';
  } else if (behavior === 'UNIMPLEMENTED') {
    verdict = 'UNIMPLEMENTED';
  } else if (closeBehavior === 'WRONG CODE') {
    verdict = exp.wrongCodeFails ? 'FAILED' : 'NON-STRICT';
  } else if (closeBehavior === 'FAILED BY CLIENT') {
    verdict = 'NON-STRICT';
  } else if (!exp.close.closedByMe && client.closeReceived && remoteCloseCode === undefined) {
    verdict = 'NON-STRICT';
    resultClose = `The server failed the connection with an empty Close instead of ${exp.close.codes.join('/')}`;
  }
  return { verdict, behavior, closeBehavior, result, resultClose, remoteCloseCode, timings: timings(client) };
}
