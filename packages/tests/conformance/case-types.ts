// Shared vocabulary of the conformance suite: cases, their context, and outcomes.
import type { DeflateOffer } from './permessage-deflate.js';
import type { RawClient } from './raw-client.js';

/** Autobahn's case verdicts. */
export type Verdict = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';

export const VERDICTS: readonly Verdict[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** Autobahn's second column: how the connection ended. */
export type CloseBehavior = 'OK' | 'WRONG CODE' | 'UNCLEAN' | 'FAILED BY CLIENT' | 'FAILED' | 'INFORMATIONAL';

/**
 * `full` runs Autobahn's sizes and counts; `quick` shrinks the heavy categories
 * (9, 12, 13) so the suite fits in a unit-test run. Case ids stay the same.
 */
export type Profile = 'full' | 'quick';

export interface CaseContext {
  readonly profile: Profile;
  /** Opens a WebSocket connection to the server under test (handshake failures throw). */
  connect(options?: { deflate?: readonly DeflateOffer[] }): Promise<RawClient>;
}

export interface CaseOutcome {
  verdict: Verdict;
  /** Autobahn's "behavior": did the observed events match an expectation. */
  behavior: Verdict;
  closeBehavior: CloseBehavior;
  /** Why the behaviour is what it is. */
  result: string;
  /** Why the close behaviour is what it is. */
  resultClose: string;
  remoteCloseCode: number | undefined;
  /** Milliseconds from the opening handshake to the events that matter. */
  timings: Record<string, number>;
}

export interface ConformanceCase {
  /** Autobahn case id, e.g. '6.4.1'. */
  id: string;
  title: string;
  /** The normative text the expectation rests on, e.g. 'RFC 6455 §8.1'. */
  rfc: string;
  /** Hard limit for the whole case; the runner's default applies when absent. */
  timeoutMs?: number;
  run(ctx: CaseContext): Promise<CaseOutcome>;
}

export interface CaseResult extends CaseOutcome {
  id: string;
  title: string;
  rfc: string;
  durationMs: number;
}
