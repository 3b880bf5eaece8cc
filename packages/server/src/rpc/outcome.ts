import { errorBody, type RequestId, replyText, resultBody, type WireError } from '@switchboard/contract';

/**
 * How a call ended, kept as the text of its reply without the id (the contract's
 * resultBody / errorBody): a re-sent call gets it again under its own id. Text, not the
 * value: a value's heap size can be many times its JSON (a 1 MiB `[{},{},…]` holds ~20 MiB
 * as objects), and text is what is sent.
 */
export interface Outcome {
  readonly ok: boolean;
  readonly body: string;
}

/** The outcome of a call that returned `json` (with superjson `meta` when it needs one). */
export function resultOutcome(json: unknown, meta: unknown): Outcome {
  return { ok: true, body: resultBody(json, meta) };
}

export function errorOutcome(error: WireError): Outcome {
  return { ok: false, body: errorBody(error) };
}

/** The reply envelope of an outcome, for call `id`. */
export function outcomeText(id: RequestId, outcome: Outcome): string {
  return replyText(id, outcome.ok, outcome.body);
}

/** An outcome as opaque text for a shared store: one letter for its kind, then its body. */
export function serializeOutcome(outcome: Outcome): string {
  return `${outcome.ok ? 'r' : 'e'}${outcome.body}`;
}

/** Reads what serializeOutcome wrote; undefined for anything else. */
export function deserializeOutcome(text: string): Outcome | undefined {
  const kind = text.charCodeAt(0);
  if (kind !== 114 /* r */ && kind !== 101 /* e */) return undefined;
  return { ok: kind === 114, body: text.slice(1) };
}
