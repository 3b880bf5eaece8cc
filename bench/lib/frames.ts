// RFC 6455 framing helpers for the load generators: pre-encoded masked client frames,
// an allocation-free counter of complete server messages, and a slow decoder for probes.

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;

/** Fixed masking key (the one from RFC 6455 §5.7). A constant key is legal, just not unpredictable. */
export const MASK_KEY: Readonly<Buffer> = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** ASCII payload (valid UTF-8, so it works for text frames too). */
export function makePayload(size: number): Buffer {
  const payload = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) payload[i] = 0x61 + (i % 26);
  return payload;
}

/** One complete, masked, FIN client frame. */
export function encodeClientFrame(payload: Buffer, opcode: number, maskKey: Readonly<Buffer> = MASK_KEY): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 0x10000 ? 2 : 8;
  const headerLen = 2 + lenBytes + 4;
  const frame = Buffer.allocUnsafe(headerLen + len);
  frame[0] = 0x80 | (opcode & 0x0f);
  if (lenBytes === 0) frame[1] = 0x80 | len;
  else if (lenBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(len / 0x1_0000_0000), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  maskKey.copy(frame, 2 + lenBytes);
  for (let i = 0; i < len; i++) frame[headerLen + i] = (payload[i] ?? 0) ^ (maskKey[i & 3] ?? 0);
  return frame;
}

/** Masked Close frame with a status code (1000 = normal closure). */
export function encodeCloseFrame(code = 1000): Buffer {
  const body = Buffer.allocUnsafe(2);
  body.writeUInt16BE(code, 0);
  return encodeClientFrame(body, OPCODE_CLOSE);
}

/** `count` copies of `frame` back to back, so a pipeline refill is one write of a subarray. */
export function repeat(frame: Buffer, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

/**
 * Counts complete data messages in a stream of server frames (unmasked, 7/16/64-bit lengths),
 * skipping payloads without looking at them. Handles headers split across reads.
 * A message is complete when a data or continuation frame with FIN ends.
 */
export class FrameCounter {
  /** Complete data messages seen. */
  messages = 0;
  /** Complete messages whose total payload length differed from `expectedSize`. */
  wrongLength = 0;
  /** Control frames seen (ping/pong/close); a close frame also sets `closed`. */
  controlFrames = 0;
  closed = false;
  /** Frames that were masked although a server must not mask. */
  maskedFrames = 0;

  private remaining = 0; // payload bytes left in the current frame
  private inFrame = false;
  private frameFinData = false; // current frame ends a data message
  private messageBytes = 0; // payload bytes of the message being received
  private readonly stash = Buffer.alloc(14); // partial header carried over between reads
  private stashLen = 0;

  constructor(private readonly expectedSize: number) {}

  /** Feeds bytes `buf[start, end)`; returns how many messages completed in them. */
  push(buf: Buffer, start: number, end: number): number {
    const before = this.messages;
    let pos = start;
    while (pos < end) {
      if (this.inFrame) {
        const take = Math.min(this.remaining, end - pos);
        this.remaining -= take;
        pos += take;
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      if (this.stashLen === 0) {
        const used = this.header(buf, pos, end);
        if (used > 0) {
          pos += used;
          continue;
        }
        // Incomplete header: keep what we have (at most 13 bytes) for the next read.
        buf.copy(this.stash, 0, pos, end);
        this.stashLen = end - pos;
        break;
      }
      // Complete a header that started in a previous read.
      const add = Math.min(14 - this.stashLen, end - pos);
      buf.copy(this.stash, this.stashLen, pos, pos + add);
      const had = this.stashLen;
      const used = this.header(this.stash, 0, had + add);
      if (used === 0) {
        this.stashLen = had + add;
        break;
      }
      this.stashLen = 0;
      pos += used - had;
    }
    return this.messages - before;
  }

  /** Bytes of a partial header or payload still pending (0 at a frame boundary). */
  get pending(): number {
    return this.stashLen + (this.inFrame ? this.remaining : 0);
  }

  /** Parses one header at `buf[pos, end)`; returns its length, or 0 when incomplete. */
  private header(buf: Buffer, pos: number, end: number): number {
    if (end - pos < 2) return 0;
    const b0 = buf[pos] ?? 0;
    const b1 = buf[pos + 1] ?? 0;
    const len7 = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    let headerLen = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    if (masked) headerLen += 4;
    if (end - pos < headerLen) return 0;
    let len = len7;
    if (len7 === 126) len = buf.readUInt16BE(pos + 2);
    else if (len7 === 127) len = buf.readUInt32BE(pos + 2) * 0x1_0000_0000 + buf.readUInt32BE(pos + 6);
    if (masked) this.maskedFrames++;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode >= 0x8) {
      this.controlFrames++;
      if (opcode === OPCODE_CLOSE) this.closed = true;
      this.frameFinData = false;
    } else {
      this.messageBytes += len;
      this.frameFinData = fin;
    }
    this.remaining = len;
    this.inFrame = true;
    if (len === 0) this.endFrame();
    return headerLen;
  }

  private endFrame(): void {
    this.inFrame = false;
    if (!this.frameFinData) return;
    if (this.messageBytes !== this.expectedSize) this.wrongLength++;
    this.messageBytes = 0;
    this.messages++;
  }
}

export interface DecodedMessage {
  opcode: number;
  payload: Buffer;
  /** Bytes of `buf` used by the message's frames. */
  consumed: number;
}

/**
 * Decodes the first complete message (data frames up to FIN, control frames skipped)
 * from `buf`; null when more bytes are needed. Slow path, used to verify probe echoes.
 */
export function decodeMessage(buf: Buffer): DecodedMessage | null {
  const parts: Buffer[] = [];
  let opcode = -1;
  let pos = 0;
  while (buf.length - pos >= 2) {
    const b0 = buf[pos] ?? 0;
    const b1 = buf[pos + 1] ?? 0;
    const len7 = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    const lenBytes = len7 < 126 ? 0 : len7 === 126 ? 2 : 8;
    const headerLen = 2 + lenBytes + (masked ? 4 : 0);
    if (buf.length - pos < headerLen) return null;
    let len = len7;
    if (len7 === 126) len = buf.readUInt16BE(pos + 2);
    else if (len7 === 127) len = buf.readUInt32BE(pos + 2) * 0x1_0000_0000 + buf.readUInt32BE(pos + 6);
    if (buf.length - pos - headerLen < len) return null;
    const start = pos + headerLen;
    const payload = Buffer.from(buf.subarray(start, start + len));
    if (masked) {
      for (let i = 0; i < len; i++) payload[i] = (payload[i] ?? 0) ^ (buf[pos + 2 + lenBytes + (i & 3)] ?? 0);
    }
    pos = start + len;
    const op = b0 & 0x0f;
    if (op >= 0x8) {
      if (op === OPCODE_CLOSE) return { opcode: op, payload, consumed: pos };
      continue; // ping/pong: skip
    }
    if (opcode === -1) opcode = op;
    parts.push(payload);
    if ((b0 & 0x80) !== 0) return { opcode, payload: Buffer.concat(parts), consumed: pos };
  }
  return null;
}
