import { parseJson } from './codec.js';
import { RpcError } from './errors.js';

// A message whose value holds byte values (Uint8Array, ArrayBuffer) is one binary
// WebSocket message; every other message stays a text message, as before:
//
//   offset 0       u32, big-endian: J, the length of the JSON part in bytes
//   offset 4       J bytes: the envelope as JSON (UTF-8); its `meta.b` lists the byte
//                  values' lengths [n0, n1, …], and each value's placeholder in the JSON
//                  is its index (codec.ts, byte-values.ts)
//   offset 4 + J   n0 bytes of value 0, then n1 bytes of value 1, … up to the end
//
// Reading checks, before superjson or any schema sees anything: J within the frame and
// within maxJsonBytes, the JSON part valid UTF-8 and JSON without __proto__ keys, one
// envelope (an object) whose meta.b is a list of at most maxByteValues integers that add up
// to exactly what follows the JSON part. The values are then views of the message (no copy)
// put in meta.b in place of their lengths, where decodeValue finds them; decodeValue's
// checkMeta refuses a placeholder outside them, and a value no placeholder names.

/** Bytes before a binary message's JSON part: its length, a big-endian u32. */
export const BINARY_HEADER_BYTES = 4;
/** Longest JSON part of a binary message both ends accept unless told otherwise, in bytes (1 MiB). */
export const MAX_BINARY_JSON_BYTES = 1024 * 1024;
/** Most byte values one binary message may carry. */
export const MAX_BYTE_VALUES = 10_000;

/** Bounds on a received binary message, checked before its JSON part is parsed. */
export interface BinaryLimits {
  /** Longest JSON part, in bytes. @default MAX_BINARY_JSON_BYTES (1 MiB) */
  maxJsonBytes: number;
  /** Most byte values in one message. @default MAX_BYTE_VALUES (10,000) */
  maxByteValues: number;
}

/** The binary limits both ends use unless told otherwise. */
export const BINARY_LIMITS: Readonly<BinaryLimits> = Object.freeze({
  maxJsonBytes: MAX_BINARY_JSON_BYTES,
  maxByteValues: MAX_BYTE_VALUES,
});

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A binary message: `text` (an envelope written as JSON, whose `meta.b` lists the parts'
 * lengths, as encodeValue makes it) followed by `parts`. Copies each part once.
 */
export function binaryMessage(text: string, parts: readonly Uint8Array[]): Uint8Array {
  const json = encoder.encode(text);
  let size = BINARY_HEADER_BYTES + json.byteLength;
  for (const part of parts) size += part.byteLength;
  const message = new Uint8Array(size);
  new DataView(message.buffer).setUint32(0, json.byteLength);
  message.set(json, BINARY_HEADER_BYTES);
  let offset = BINARY_HEADER_BYTES + json.byteLength;
  for (const part of parts) {
    message.set(part, offset);
    offset += part.byteLength;
  }
  return message;
}

/**
 * One envelope as a WebSocket message: text, or a binary message when `parts` (from
 * encodeValue) holds byte values.
 *
 * @example
 * const { json, meta, parts } = encodeValue(input);
 * socket.send(writeMessage({ type: 'call', id: 1, name: 'upload', input: json, meta }, parts));
 */
export function writeMessage(envelope: object, parts: readonly Uint8Array[] | undefined): string | Uint8Array {
  const text = JSON.stringify(envelope);
  return parts === undefined || parts.length === 0 ? text : binaryMessage(text, parts);
}

/**
 * Reads one received message (a string for text, bytes for binary) into JSON: a text
 * message is parsed as it is; a binary one is checked as above and its byte values left in
 * its `meta.b`, for decodeValue. Throws BAD_REQUEST for anything malformed.
 */
export function readMessage(data: string | Uint8Array, limits: BinaryLimits = BINARY_LIMITS): unknown {
  if (typeof data !== 'string') return readBinaryMessage(data, limits);
  try {
    return parseJson(data);
  } catch (error) {
    const proto = error instanceof SyntaxError && error.message.includes('__proto__');
    throw new RpcError('BAD_REQUEST', proto ? 'a __proto__ key is not accepted' : 'malformed JSON');
  }
}

/** Reads a binary message (see the top of this file); throws BAD_REQUEST for anything malformed. */
export function readBinaryMessage(data: Uint8Array, limits: BinaryLimits = BINARY_LIMITS): Record<string, unknown> {
  const size = data.byteLength;
  if (size < BINARY_HEADER_BYTES) refuse(`${size} bytes, shorter than its header`);
  const jsonBytes = new DataView(data.buffer, data.byteOffset, size).getUint32(0);
  if (jsonBytes > limits.maxJsonBytes) refuse(`a JSON part of ${jsonBytes} bytes, over ${limits.maxJsonBytes}`);
  if (jsonBytes > size - BINARY_HEADER_BYTES) refuse(`a JSON part of ${jsonBytes} bytes in ${size}`);
  const start = BINARY_HEADER_BYTES + jsonBytes;
  let envelope: unknown;
  try {
    envelope = parseJson(decoder.decode(data.subarray(BINARY_HEADER_BYTES, start)));
  } catch {
    refuse('its JSON part is not UTF-8 JSON, or has a __proto__ key');
  }
  if (!isRecord(envelope)) refuse('its JSON part must be one envelope (an object)');
  const { meta } = envelope;
  if (!isRecord(meta) || !Array.isArray(meta.b)) refuse('no meta.b listing its byte values');
  const lengths: unknown[] = meta.b;
  if (lengths.length === 0 || lengths.length > limits.maxByteValues) {
    refuse(`meta.b must list 1 to ${limits.maxByteValues} byte values`);
  }
  const parts: Uint8Array[] = new Array(lengths.length);
  let offset = start;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i];
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
      refuse(`meta.b[${i}] is not a length`);
    }
    if (length > size - offset) refuse(`meta.b adds up to more than the ${size - start} bytes after the JSON part`);
    // A plain Uint8Array view, even of a Node Buffer: it compares equal to the one sent.
    parts[i] = new Uint8Array(data.buffer, data.byteOffset + offset, length);
    offset += length;
  }
  if (offset !== size) refuse(`meta.b adds up to ${offset - start} bytes; ${size - start} follow the JSON part`);
  meta.b = parts;
  return envelope;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(problem: string): never {
  throw new RpcError('BAD_REQUEST', `bad binary message: ${problem}`);
}
