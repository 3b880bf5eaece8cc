import type { WireError } from './errors.js';
import type { CallEnvelope, GapEnvelope, MessageEnvelope, RequestId } from './protocol.js';
import type { ChunkEnvelope, CreditEnvelope, EndEnvelope, StreamEnvelope } from './stream-protocol.js';

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

function idText(id: RequestId): string {
  return typeof id === 'number' ? String(id) : JSON.stringify(id);
}

/** A `result` (ok) or `error` envelope for call `id`, from its body. */
export function replyText(id: RequestId, ok: boolean, body: string): string {
  return `${ok ? '{"type":"result","id":' : '{"type":"error","id":'}${idText(id)}${body}`;
}

/**
 * The part of a `chunk` after its id: `,"seq":…[,"data":…][,"meta":…]}`. Kept apart from the
 * id so that a chunk kept for a resume goes again under the id of the stream that resumed.
 */
export function chunkBody(seq: ChunkEnvelope['seq'], data: unknown, meta: unknown): string {
  const dataText = data === undefined ? '' : `,"data":${JSON.stringify(data)}`;
  return meta === undefined ? `,"seq":${seq}${dataText}}` : `,"seq":${seq}${dataText},"meta":${JSON.stringify(meta)}}`;
}

/** The part of an `end` after its id: `,"seq":…[,"output":…][,"meta":…]}`. */
export function endBody(seq: EndEnvelope['seq'], output: unknown, meta: unknown): string {
  return `,"seq":${seq}${resultBody(output, meta)}`;
}

/** A `chunk`, `end` or `error` envelope of stream `id`, from its body (chunkBody, endBody, errorBody). */
export function streamReplyText(type: 'chunk' | 'end' | 'error', id: RequestId, body: string): string {
  return `{"type":"${type}","id":${idText(id)}${body}`;
}

/**
 * A `stream` envelope. `input` and `meta` are written once for a stream (inputText) and
 * kept: the envelope goes again, with another `after` and `credit`, after each reconnect.
 */
export function streamText(envelope: Omit<StreamEnvelope, 'type' | 'input' | 'meta'>, inputText: string): string {
  const after = envelope.after === undefined ? '' : `,"after":${envelope.after}`;
  return `{"type":"stream","id":${idText(envelope.id)},"name":${JSON.stringify(envelope.name)}${inputText},"key":${JSON.stringify(envelope.key)}${after},"credit":${envelope.credit}}`;
}

/** What streamText() takes for `input` and `meta`: `[,"input":…][,"meta":…]`. */
export function inputText(input: unknown, meta: unknown): string {
  const text = input === undefined ? '' : `,"input":${JSON.stringify(input)}`;
  return meta === undefined ? text : `${text},"meta":${JSON.stringify(meta)}`;
}

/** A `credit` envelope. */
export function creditText({ id, n, read }: Omit<CreditEnvelope, 'type'>): string {
  return `{"type":"credit","id":${idText(id)},"n":${n},"read":${read}}`;
}

/** A `cancel` envelope: the client gives up on call or stream `id` (or acknowledges a stream's end). */
export function cancelText(id: RequestId): string {
  return `{"type":"cancel","id":${idText(id)}}`;
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
