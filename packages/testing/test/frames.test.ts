import { describe, expect, it } from 'vitest';
import { encodeClientFrame } from '../../tests/support/client-frame.js';
import { FrameSplitter } from '../src/frames.js';

// The link's units: the HTTP upgrade, then whole frames, however the bytes are chunked.

const REQUEST = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([
            Buffer.from([0x80 | opcode, 127]),
            Buffer.from(new BigUint64Array([BigInt(length)]).buffer).reverse(),
          ]);
  return Buffer.concat([header, payload]);
}

/** Every unit the splitter makes of `bytes` fed `step` bytes at a time. */
function split(bytes: Buffer, step: number) {
  const splitter = new FrameSplitter();
  const units = [];
  for (let i = 0; i < bytes.length; i += step) units.push(...splitter.push(bytes.subarray(i, i + step)));
  return units.map((unit) => ({ length: unit.bytes.length, data: unit.data }));
}

describe('FrameSplitter', () => {
  const frames = [
    encodeClientFrame({ opcode: 1, payload: 'hello' }),
    encodeClientFrame({ opcode: 9, payload: 'p' }),
    serverFrame(2, Buffer.alloc(300, 7)),
    serverFrame(1, Buffer.alloc(70_000, 97)),
    serverFrame(0x8, Buffer.from([0x03, 0xe8])),
  ];
  const stream = Buffer.concat([Buffer.from(REQUEST), ...frames]);
  const expected = [
    { length: REQUEST.length, data: false },
    ...frames.map((frame, i) => ({ length: frame.length, data: i === 0 || i === 2 || i === 3 })),
  ];

  for (const step of [1, 3, 125, 4096, stream.length]) {
    it(`cuts the upgrade, then whole frames (7- 16- and 64-bit lengths, masked or not), fed ${step} bytes at a time`, () => {
      expect(split(stream, step)).toEqual(expected);
    });
  }

  it("passes a refused upgrade's response through as it is: its body is no frame", () => {
    const response = Buffer.from(
      'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 19\r\n\r\nserver is shutting down',
    );
    const units = split(response, 10);
    expect(units.every((unit) => !unit.data)).toBe(true);
    expect(units.reduce((sum, unit) => sum + unit.length, 0)).toBe(response.length);
  });
});
