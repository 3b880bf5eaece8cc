import { describe, expect, it } from 'vitest';
import { encodeClosePayload } from '../../src/transport/close-payload.js';
import { isValidCloseCode } from '../../src/transport/constants.js';
import { encodeFrame, encodeHeader, headerLength } from '../../src/transport/frame-writer.js';
import { readServerFrame } from './helpers.js';

describe('encodeFrame', () => {
  it('writes a final, unmasked text frame: the RFC 6455 §5.7 "Hello" example', () => {
    expect(encodeFrame(0x1, Buffer.from('Hello')).toString('hex')).toBe('810548656c6c6f');
  });

  it.each([
    [0, '8200'],
    [125, '827d'],
    [126, '827e007e'],
    [65_535, '827effff'],
    [65_536, '827f0000000000010000'],
  ])('encodes a %i-byte payload with the minimal length header %s', (length, header) => {
    const frame = encodeFrame(0x2, Buffer.alloc(length, 0xab));
    expect(frame.subarray(0, header.length / 2).toString('hex')).toBe(header);
    expect(frame.length).toBe(header.length / 2 + length);
    expect(frame.subarray(header.length / 2).every((b) => b === 0xab)).toBe(true);
  });

  it('sets RSV1 for a compressed frame and clears FIN for a fragment', () => {
    expect(encodeFrame(0x1, Buffer.from('x'), true).toString('hex')).toBe('c10178');
    expect(encodeFrame(0x1, Buffer.from('x'), false, false).toString('hex')).toBe('010178');
    expect(encodeFrame(0x0, Buffer.from('x'), false, true).toString('hex')).toBe('800178');
  });

  it('never sets the mask bit (RFC 6455 §5.1)', () => {
    for (const length of [0, 1, 125, 126, 70_000]) {
      const frame = readServerFrame(encodeFrame(0x2, Buffer.alloc(length)));
      expect(frame?.masked).toBe(false);
      expect(frame?.payload.length).toBe(length);
    }
  });

  it('copies a Uint8Array payload that is not a Buffer', () => {
    const frame = encodeFrame(0x2, new Uint8Array([1, 2, 3]));
    expect(frame.toString('hex')).toBe('8203010203');
  });
});

describe('encodeHeader and headerLength', () => {
  it.each([0, 1, 125, 126, 1000, 65_535, 65_536, 1 << 24])(
    'writes the same header as encodeFrame for %i bytes',
    (length) => {
      const header = encodeHeader(0x2, length);
      expect(header.length).toBe(headerLength(length));
      if (length <= 70_000)
        expect(encodeFrame(0x2, Buffer.alloc(length)).subarray(0, header.length).equals(header)).toBe(true);
    },
  );

  it('encodes lengths above 2^32 in both 32-bit halves', () => {
    expect(encodeHeader(0x2, 2 ** 32 + 5).toString('hex')).toBe('827f0000000100000005');
  });

  it('sets RSV1 and FIN as asked', () => {
    expect(encodeHeader(0x1, 2000, true, false).toString('hex')).toBe('417e07d0');
  });
});

describe('encodeClosePayload', () => {
  it('is empty without a code', () => {
    expect(encodeClosePayload().length).toBe(0);
    expect(encodeClosePayload(undefined, '').length).toBe(0);
  });

  it('writes the code big-endian, then the UTF-8 reason', () => {
    expect(encodeClosePayload(1000).toString('hex')).toBe('03e8');
    expect(encodeClosePayload(4000, 'bye é').toString('hex')).toBe('0fa0' + Buffer.from('bye é').toString('hex'));
  });

  it('accepts a reason of exactly 123 bytes', () => {
    expect(encodeClosePayload(1000, 'a'.repeat(123)).length).toBe(125);
  });

  it('throws a RangeError for a 124-byte reason, counted in UTF-8 bytes', () => {
    expect(() => encodeClosePayload(1000, 'a'.repeat(124))).toThrow(RangeError);
    expect(() => encodeClosePayload(1000, '€'.repeat(42))).toThrow(RangeError);
  });

  it('throws a TypeError for a reason that is not a string, or a reason without a code', () => {
    expect(() => encodeClosePayload(1000, new Float32Array(20) as unknown as string)).toThrow(TypeError);
    expect(() => encodeClosePayload(undefined, 'why')).toThrow(TypeError);
  });

  it('accepts exactly the codes RFC 6455 §7.4 allows on the wire', () => {
    for (let code = 0; code <= 5_100; code++) {
      const allowed =
        (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
      expect(isValidCloseCode(code), `code ${code}`).toBe(allowed);
      if (allowed) expect(encodeClosePayload(code).readUInt16BE(0)).toBe(code);
      else expect(() => encodeClosePayload(code), `code ${code}`).toThrow(RangeError);
    }
  });

  it.each([1000.5, Number.NaN, -1000, 70_000])('throws a RangeError for the code %d', (code) => {
    expect(() => encodeClosePayload(code)).toThrow(RangeError);
  });
});
