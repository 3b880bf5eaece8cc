import { BINARY_HEADER_BYTES, withPosition } from '@switchboard/contract';
import type { BrokerPayload } from '../broker/broker.js';
import { encodeHeader, encodeTextFrame, OPCODES } from '../transport/index.js';

/**
 * The WebSocket frame of a channel message at `position`, made once for all its
 * subscribers, in memory of its own: a frame that waits in a slow connection's lane must
 * not hold on to the 8 KiB of Node's shared buffer pool around it.
 *
 * A text payload gets its position as its last field. A binary one (the contract's
 * binaryMessage) gets it in its JSON part, whose length changes: the frame is its header,
 * the new length, the new JSON part, and the payload's bytes after its old JSON part.
 */
export function messageFrame(payload: BrokerPayload, position: string): Buffer {
  if (typeof payload === 'string') {
    const text = withPosition(payload, position);
    return encodeTextFrame(OPCODES.text, text, Buffer.byteLength(text), Buffer.allocUnsafeSlow);
  }
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const oldJsonEnd = BINARY_HEADER_BYTES + bytes.readUInt32BE(0);
  const json = withPosition(bytes.toString('utf8', BINARY_HEADER_BYTES, oldJsonEnd), position);
  const jsonBytes = Buffer.byteLength(json);
  const size = BINARY_HEADER_BYTES + jsonBytes + bytes.length - oldJsonEnd;
  const header = encodeHeader(OPCODES.binary, size);
  const frame = Buffer.allocUnsafeSlow(header.length + size);
  header.copy(frame, 0);
  frame.writeUInt32BE(jsonBytes, header.length);
  frame.write(json, header.length + BINARY_HEADER_BYTES, 'utf8');
  bytes.copy(frame, header.length + BINARY_HEADER_BYTES + jsonBytes, oldJsonEnd);
  return frame;
}
