// RFC 6455 §5.2 base framing: a writer that can produce any frame (legal or not)
// and an incremental reader that accepts input split at arbitrary byte boundaries.
import { encodeClientFrame, toBytes } from '../support/client-frame.js';

export { toBytes };

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

export interface FrameSpec {
  opcode: number;
  /** Strings are encoded as UTF-8; bytes are sent verbatim (so invalid UTF-8 is possible). */
  payload?: Uint8Array | string;
  /** Repeat `payload` until it is this long (Autobahn's `payload_len`). */
  repeatTo?: number;
  /** Defaults to true. */
  fin?: boolean;
  /** The three RSV bits as one number, Autobahn-style: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  rsv?: number;
  /** Masking key; defaults to a fresh random key (RFC 6455 §5.3: clients MUST mask). `false` sends unmasked. */
  mask?: Uint8Array | false;
}

/** `pattern` repeated (and truncated) to exactly `length` bytes. */
export function repeatTo(pattern: Uint8Array | string, length: number): Buffer {
  const unit = toBytes(pattern);
  const out = Buffer.allocUnsafe(length);
  if (length === 0) return out;
  if (unit.length === 0) throw new Error('cannot repeat an empty pattern');
  let filled = Math.min(unit.length, length);
  unit.copy(out, 0, 0, filled);
  while (filled < length) {
    const n = Math.min(filled, length - filled);
    out.copy(out, filled, 0, n);
    filled += n;
  }
  return out;
}

/** XOR `data` in place with the 4-byte `key`, starting at key position `offset % 4`. */
export function applyMask(data: Buffer, key: Uint8Array, offset = 0): void {
  const k0 = key[0] ?? 0;
  const k1 = key[1] ?? 0;
  const k2 = key[2] ?? 0;
  const k3 = key[3] ?? 0;
  const k = [k0, k1, k2, k3];
  const len = data.length;
  let i = 0;
  // Align to the key, then do four bytes per step.
  while (i < len && (i + offset) % 4 !== 0) {
    data[i] = (data[i] ?? 0) ^ (k[(i + offset) % 4] ?? 0);
    i++;
  }
  for (; i + 3 < len; i += 4) {
    data[i] = (data[i] ?? 0) ^ k0;
    data[i + 1] = (data[i + 1] ?? 0) ^ k1;
    data[i + 2] = (data[i + 2] ?? 0) ^ k2;
    data[i + 3] = (data[i + 3] ?? 0) ^ k3;
  }
  for (; i < len; i++) data[i] = (data[i] ?? 0) ^ (k[(i + offset) % 4] ?? 0);
}

/** Encodes one frame (Autobahn's spec of it) with the tests' one client-frame encoder. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const rsv = spec.rsv ?? 0;
  return encodeClientFrame({
    opcode: spec.opcode,
    payload: spec.repeatTo === undefined ? (spec.payload ?? '') : repeatTo(spec.payload ?? '', spec.repeatTo),
    fin: spec.fin ?? true,
    rsv1: (rsv & 4) !== 0,
    rsv2: (rsv & 2) !== 0,
    rsv3: (rsv & 1) !== 0,
    ...(spec.mask === false ? { masked: false } : spec.mask === undefined ? {} : { mask: spec.mask }),
  });
}

export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export class FrameFormatError extends Error {}

/**
 * Incremental RFC 6455 §5.2 frame reader. Feed it whatever TCP delivers; it returns
 * complete frames. Only structural problems throw (e.g. a 64-bit length with the MSB
 * set); semantic checks (RSV, opcodes, control-frame rules) are the caller's business.
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes = 64 * 1024 * 1024) {}

  push(chunk: Buffer): ParsedFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: ParsedFrame[] = [];
    for (;;) {
      const frame = this.tryReadFrame();
      if (!frame) break;
      frames.push(frame);
    }
    return frames;
  }

  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      if (!c) throw new Error('frame reader underflow');
      const use = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, use);
      filled += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    this.buffered -= n;
    return out;
  }

  private tryReadFrame(): ParsedFrame | undefined {
    if (this.buffered < 2) return undefined;
    const head = this.peek(Math.min(this.buffered, 14));
    const b0 = head[0] ?? 0;
    const b1 = head[1] ?? 0;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    const extLen = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const headerLen = 2 + extLen + (masked ? 4 : 0);
    if (head.length < headerLen) return undefined;
    let length = len7;
    if (len7 === 126) {
      length = head.readUInt16BE(2);
    } else if (len7 === 127) {
      const hi = head.readUInt32BE(2);
      // RFC 6455 §5.2: the most significant bit MUST be 0.
      if (hi & 0x80000000) throw new FrameFormatError('64-bit payload length has its most significant bit set');
      length = hi * 2 ** 32 + head.readUInt32BE(6);
    }
    if (length > this.maxFrameBytes) throw new FrameFormatError(`frame of ${length} bytes exceeds the reader's limit`);
    if (this.buffered < headerLen + length) return undefined;
    const header = this.take(headerLen);
    const payload = Buffer.from(this.take(length));
    if (masked) applyMask(payload, header.subarray(headerLen - 4, headerLen));
    return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0xf, masked, payload };
  }
}

/** Close frame body: 2-byte code + reason (RFC 6455 §5.5.1). Any argument may be omitted. */
export function closePayload(code?: number, reason?: Uint8Array | string): Buffer {
  const parts: Buffer[] = [];
  if (code !== undefined) {
    const c = Buffer.alloc(2);
    c.writeUInt16BE(code & 0xffff, 0);
    parts.push(c);
  }
  if (reason !== undefined) parts.push(toBytes(reason));
  return Buffer.concat(parts);
}
