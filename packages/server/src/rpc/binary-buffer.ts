import { BINARY_HEADER_BYTES } from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';

/**
 * The contract's binaryMessage (`u32 JSON length | JSON | bytes`, docs/protocol.md "Bytes")
 * written for Node: in a Buffer that is not zero-filled first (each byte is written), the
 * JSON part encoded straight into it. Every binary message the server sends is made here:
 * a stream of big chunks makes one per chunk.
 */
export function binaryBuffer(text: string, parts: readonly Uint8Array[]): Buffer {
  const jsonBytes = Buffer.byteLength(text);
  let size = BINARY_HEADER_BYTES + jsonBytes;
  for (const part of parts) size += part.byteLength;
  const message = Buffer.allocUnsafeSlow(size);
  message.writeUInt32BE(jsonBytes, 0);
  message.write(text, BINARY_HEADER_BYTES, 'utf8');
  let offset = BINARY_HEADER_BYTES + jsonBytes;
  for (const part of parts) {
    message.set(part, offset);
    offset += part.byteLength;
  }
  return message;
}

/**
 * Sends a text envelope, or with byte values a binary message whose values go to the socket
 * as they are (socket.sendParts): a stream of big chunks copies none of them.
 */
export function sendServerMessage(socket: ServerWebSocket, text: string, parts?: readonly Uint8Array[]): void {
  if (parts === undefined || parts.length === 0) {
    socket.send(text);
    return;
  }
  const jsonBytes = Buffer.byteLength(text);
  const head = Buffer.allocUnsafe(BINARY_HEADER_BYTES + jsonBytes);
  head.writeUInt32BE(jsonBytes, 0);
  head.write(text, BINARY_HEADER_BYTES, 'utf8');
  socket.sendParts([head, ...ownParts(parts)]);
}

/** Memory a value's bytes may keep besides their own before ownParts copies them (Node's small-Buffer pool is 8 KiB). */
const PIN_SLACK_BYTES = 16 * 1024;

/**
 * `parts`, or when the memory they are views of is more than twice their bytes (plus
 * PIN_SLACK_BYTES), copies of them in one new buffer: byte values the server keeps or queues
 * then hold their own bytes, not whole received messages around them (a handler that echoes
 * 1 KiB of a 1 MiB call would pin the MiB, while every budget counts the KiB).
 */
export function ownParts<T extends readonly Uint8Array[]>(parts: T): T {
  let bytes = 0;
  let pinned = 0;
  const seen = parts.length > 1 ? new Set<ArrayBufferLike>() : undefined;
  for (const part of parts) {
    bytes += part.byteLength;
    if (seen?.has(part.buffer)) continue;
    seen?.add(part.buffer);
    pinned += part.buffer.byteLength;
  }
  if (pinned <= 2 * bytes + PIN_SLACK_BYTES) return parts;
  const own = new Uint8Array(bytes);
  let offset = 0;
  return parts.map((part) => {
    own.set(part, offset);
    offset += part.byteLength;
    return own.subarray(offset - part.byteLength, offset);
  }) as unknown as T;
}

/** A text envelope, or with byte values a binary message, in one piece (a broker payload). */
export function serverMessage(text: string, parts: readonly Uint8Array[] | undefined): string | Buffer {
  return parts === undefined || parts.length === 0 ? text : binaryBuffer(text, parts);
}
