import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMask } from '../../src/transport/mask.js';

/** The RFC 6455 §5.3 definition, one octet at a time. */
function maskByteWise(data: Uint8Array, mask: Uint8Array, maskOffset: number): Uint8Array {
  return data.map((byte, i) => byte ^ (mask[(maskOffset + i) & 3] as number));
}

const pattern = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 97 + 13) & 0xff);

describe('applyMask', () => {
  it('masks the RFC 6455 §5.7 example "Hello" with key 37 fa 21 3d', () => {
    const data = Buffer.from('Hello');
    applyMask(data, Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]), 0);
    expect(data.toString('hex')).toBe('7f9f4d5158');
  });

  it('agrees with the byte-wise definition for every length 0..100, maskOffset 0..3 and byteOffset 0..3', () => {
    const mask = Uint8Array.from([0xa1, 0x5c, 0x07, 0xfe]);
    for (let length = 0; length <= 100; length++) {
      const source = pattern(length);
      for (let maskOffset = 0; maskOffset < 4; maskOffset++) {
        const expected = maskByteWise(source, mask, maskOffset);
        for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
          // Guard bytes on both sides catch a word write that spills out of the view.
          const backing = new Uint8Array(byteOffset + length + 8).fill(0xee);
          const view = backing.subarray(byteOffset, byteOffset + length);
          view.set(source);
          applyMask(view, mask, maskOffset);
          expect(
            Buffer.from(view).equals(Buffer.from(expected)),
            `length ${length} maskOffset ${maskOffset} byteOffset ${byteOffset}`,
          ).toBe(true);
          expect(backing.subarray(0, byteOffset).every((b) => b === 0xee)).toBe(true);
          expect(backing.subarray(byteOffset + length).every((b) => b === 0xee)).toBe(true);
        }
      }
    }
  });

  it('agrees with the byte-wise definition on Buffers sliced from a shared pool', () => {
    // Small Buffers share Node's pool, so their byteOffset is rarely a multiple of 4.
    for (let length = 30; length <= 70; length++) {
      const data = Buffer.from(pattern(length));
      const mask = Uint8Array.from([1, 2, 3, 4]);
      const expected = maskByteWise(data, mask, 2);
      applyMask(data, mask, 2);
      expect(Buffer.from(expected).equals(data)).toBe(true);
    }
  });

  it('is its own inverse', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 500 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat(3),
        (data, mask, offset) => {
          const copy = Uint8Array.from(data);
          applyMask(copy, mask, offset);
          applyMask(copy, mask, offset);
          expect(Buffer.from(copy).equals(Buffer.from(data))).toBe(true);
        },
      ),
    );
  });

  it('unmasks piece by piece with a running maskOffset exactly as in one go', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400), { maxLength: 8 }), (data, cuts) => {
        const mask = Uint8Array.from([0x12, 0x34, 0x56, 0x78]);
        const whole = Uint8Array.from(data);
        applyMask(whole, mask, 0);
        const pieces = Uint8Array.from(data);
        const points = [...new Set(cuts.filter((c) => c < data.length))].sort((a, b) => a - b);
        let from = 0;
        let offset = 0;
        for (const to of [...points, data.length]) {
          applyMask(pieces.subarray(from, to), mask, offset);
          offset = (offset + to - from) & 3;
          from = to;
        }
        expect(Buffer.from(pieces).equals(Buffer.from(whole))).toBe(true);
      }),
    );
  });
});
