import { errorBody, type RequestId, replyText, resultBody, type WireError } from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import { ownParts, sendServerMessage } from './binary-buffer.js';

/**
 * How a call ended, kept as the text of its reply without the id (the contract's
 * resultBody / errorBody), with the byte values of a result that has some: a re-sent call
 * gets it again under its own id. Text, not the value: a value's heap size can be many
 * times its JSON (a 1 MiB `[{},{},…]` holds ~20 MiB as objects), and text is what is sent.
 */
export interface Outcome {
  readonly ok: boolean;
  readonly body: string;
  /** The result's byte values (encodeValue's parts): the reply is then a binary message. */
  readonly parts?: readonly Uint8Array[];
}

/** The outcome of a call that returned `json` (with superjson `meta` and byte `parts` when it needs them). */
export function resultOutcome(json: unknown, meta: unknown, parts?: Uint8Array[]): Outcome {
  const body = resultBody(json, meta);
  // Kept by the idempotency window: bytes of their own, not views of the call's message.
  return parts === undefined ? { ok: true, body } : { ok: true, body, parts: ownParts(parts) };
}

export function errorOutcome(error: WireError): Outcome {
  return { ok: false, body: errorBody(error) };
}

/** The reply to call `id` with this outcome: text, or a binary message when it has byte values. */
export function replyOutcome(socket: ServerWebSocket, id: RequestId, outcome: Outcome): void {
  sendServerMessage(socket, replyText(id, outcome.ok, outcome.body), outcome.parts);
}

/** Bytes an outcome keeps in memory: its text at two bytes a character (the most V8 stores), and its byte values. */
export function outcomeBytes(outcome: Outcome): number {
  let bytes = outcome.body.length * 2;
  if (outcome.parts !== undefined) for (const part of outcome.parts) bytes += part.byteLength;
  return bytes;
}

/**
 * An outcome as opaque text for a shared store: one letter for its kind, then its body;
 * with byte values, `b` then the JSON array [body, base64 of each part] (base64 in the
 * store only: the reply itself carries raw bytes).
 */
export function serializeOutcome(outcome: Outcome): string {
  if (outcome.parts !== undefined) {
    const parts = outcome.parts.map((part) =>
      Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64'),
    );
    return `b${JSON.stringify([outcome.body, ...parts])}`;
  }
  return `${outcome.ok ? 'r' : 'e'}${outcome.body}`;
}

/** Reads what serializeOutcome wrote; undefined for anything else. */
export function deserializeOutcome(text: string): Outcome | undefined {
  const kind = text.charCodeAt(0);
  if (kind === 98 /* b */) return binaryOutcome(text.slice(1));
  if (kind !== 114 /* r */ && kind !== 101 /* e */) return undefined;
  return { ok: kind === 114, body: text.slice(1) };
}

function binaryOutcome(text: string): Outcome | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(fields) || fields.length < 2 || !fields.every((field) => typeof field === 'string')) {
    return undefined;
  }
  const [body, ...parts] = fields as string[];
  return { ok: true, body: body as string, parts: parts.map((part) => new Uint8Array(Buffer.from(part, 'base64'))) };
}
