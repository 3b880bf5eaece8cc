// The one encoder of client-to-server frames for the tests (RFC 6455 §5.2 header, §5.3
// masking), with every field able to break a rule on request.

/** One client-to-server frame. */
export interface ClientFrame {
  opcode: number;
  /** Strings are sent as UTF-8; bytes verbatim (so invalid UTF-8 is possible). */
  payload?: Uint8Array | string;
  /** @default true */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** RFC 6455 §5.1: clients mask; false sends an unmasked frame. @default true */
  masked?: boolean;
  /** The masking key. @default 4 random bytes */
  mask?: Uint8Array | readonly number[];
  /** How to write the length: minimal (the default), or forced into the 16- or 64-bit form. */
  lengthEncoding?: 'minimal' | '16' | '64';
  /** A length to write in the header instead of the payload's (the payload is still appended). */
  declaredLength?: number | bigint;
  /** Sets the most significant bit of a 64-bit length (RFC 6455 §5.2 forbids it). */
  lengthMsb?: boolean;
}

/** The RFC 6455 §5.7 example key, for tests that want fixed bytes. */
export const EXAMPLE_MASK = [0x37, 0xfa, 0x21, 0x3d] as const;

export function toBytes(payload: Uint8Array | string | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

function randomKey(): Buffer {
  const key = Buffer.allocUnsafe(4);
  for (let i = 0; i < 4; i++) key[i] = Math.floor(Math.random() * 256);
  return key;
}

/** One frame as raw bytes: masked unless told otherwise, nothing validated on purpose. */
export function encodeClientFrame(frame: ClientFrame): Buffer {
  const payload = toBytes(frame.payload);
  const length = BigInt(frame.declaredLength ?? payload.length);
  const masked = frame.masked ?? true;
  const encoding = frame.lengthEncoding ?? (frame.lengthMsb ? '64' : 'minimal');
  const lengthBytes =
    encoding === '64' || (encoding === 'minimal' && length > 0xffffn)
      ? 8
      : encoding === '16' || (encoding === 'minimal' && length > 125n)
        ? 2
        : 0;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] =
    ((frame.fin ?? true) ? 0x80 : 0) |
    (frame.rsv1 ? 0x40 : 0) |
    (frame.rsv2 ? 0x20 : 0) |
    (frame.rsv3 ? 0x10 : 0) |
    (frame.opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  if (lengthBytes === 0) header[1] = maskBit | Number(length);
  else if (lengthBytes === 2) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(Number(length), 2);
  } else {
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt.asUintN(64, length | (frame.lengthMsb ? 1n << 63n : 0n)), 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const key = frame.mask === undefined ? randomKey() : Buffer.from(frame.mask);
  key.copy(header, 2 + lengthBytes, 0, 4);
  const body = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = (payload[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([header, body]);
}
