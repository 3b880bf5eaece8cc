import type { WireError } from './errors.js';
import type { CallEnvelope, GapEnvelope, MessageEnvelope, RequestId } from './protocol.js';

// The envelopes written as text instead of JSON.stringify of an object: each on a hot path
// (a call's reply, a message for every subscriber, a re-sent call's ack), where building the
// object and writing it again costs measurably more. Each function is typed against the
// envelope it writes, and tested to write what JSON.stringify of that envelope would
// (packages/contract/test/envelope-text.test.ts). Both ends write through here.

/**
 * The part of a reply after its id: `[,"output":…][,"meta":…]}` for a result. Kept apart
 * from the id so that a stored outcome answers a re-sent call under its own id.
 */
export function resultBody(output: unknown, meta: unknown): string {
  const outputText = output === undefined ? '' : `,"output":${JSON.stringify(output)}`;
  return meta === undefined ? `${outputText}}` : `${outputText},"meta":${JSON.stringify(meta)}}`;
}

/** The part of an error reply after its id: `,"error":{…}}`. */
export function errorBody(error: WireError): string {
  return `,"error":${JSON.stringify(error)}}`;
}

/** A `result` (ok) or `error` envelope for call `id`, from its body. */
export function replyText(id: RequestId, ok: boolean, body: string): string {
  const idText = typeof id === 'number' ? String(id) : JSON.stringify(id);
  return `${ok ? '{"type":"result","id":' : '{"type":"error","id":'}${idText}${body}`;
}

/** A `message` envelope before the broker numbers it: written once per publish. */
export function unnumberedMessageText(envelope: Omit<MessageEnvelope, 'position'>): string {
  return JSON.stringify(envelope);
}

/** A message written by unnumberedMessageText, with its position added as its last field. */
export function withPosition(unnumbered: string, position: string): string {
  return `${unnumbered.slice(0, -1)},"position":${JSON.stringify(position)}}`;
}

/**
 * The `gap` envelopes of one stream: the part naming the stream is written once, then each
 * notice adds its reason, count and subscription.
 */
export function gapWriter(
  channel: string,
  key: string,
): (reason: GapEnvelope['reason'], dropped?: number, id?: RequestId) => string {
  const head = `{"type":"gap","channel":${JSON.stringify(channel)},"key":${JSON.stringify(key)}`;
  return (reason, dropped, id) =>
    `${head},"reason":${JSON.stringify(reason)}${dropped === undefined ? '' : `,"dropped":${dropped}`}${id === undefined ? '' : `,"id":${JSON.stringify(id)}`}}`;
}

/** A `call` envelope written as text, with `ack` added as its last field. */
export function withAck(call: string, ack: NonNullable<CallEnvelope['ack']>): string {
  return `${call.slice(0, -1)},"ack":${ack}}`;
}
