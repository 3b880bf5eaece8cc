import type { BrokerPayload } from '@switchboard/server';

// Redis keeps a topic's messages as text (stream fields, Pub/Sub messages, Lua replies).
// A binary payload (a message with byte values) is kept as a NUL then its base64: a text
// payload is a JSON envelope, which never starts with NUL. Base64 only here, in Redis
// (4/3 of the bytes there); what reaches the client is the raw binary message again.

export type { BrokerPayload };

const BINARY_MARK = '\u0000';

/** A payload as Redis keeps it. */
export function payloadText(payload: BrokerPayload): string {
  if (typeof payload === 'string') return payload;
  return BINARY_MARK + Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
}

/** A payload back from the text Redis keeps. */
export function payloadOf(text: string): BrokerPayload {
  return text.startsWith(BINARY_MARK) ? Buffer.from(text.slice(1), 'base64') : text;
}
