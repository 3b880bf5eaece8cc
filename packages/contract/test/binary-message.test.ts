import { describe, expect, it } from 'vitest';
import {
  BINARY_HEADER_BYTES,
  binaryMessage,
  decodeValue,
  encodeValue,
  readBinaryMessage,
  readMessage,
  writeMessage,
} from '../src/index.js';

/** Encodes `value` into a `result` envelope's message, reads it back and decodes it. */
function roundTrip(value: unknown): { message: string | Uint8Array; decoded: unknown } {
  const { json, meta, parts } = encodeValue(value);
  const message = writeMessage({ type: 'result', id: 1, output: json, meta }, parts);
  const read = readMessage(message) as { output: unknown; meta?: unknown };
  return { message, decoded: decodeValue(read.output, read.meta) };
}

function frame(json: string, ...parts: number[][]): Uint8Array {
  return binaryMessage(
    json,
    parts.map((part) => Uint8Array.from(part)),
  );
}

describe('byte values in the codec', () => {
  it('leaves a value without bytes a text message, as before', () => {
    const { message } = roundTrip({ a: 1, d: new Date(0) });
    expect(typeof message).toBe('string');
  });

  it('writes a Uint8Array as a placeholder index and its length in meta.b', () => {
    const encoded = encodeValue({ name: 'a.png', file: Uint8Array.of(1, 2, 3) });
    expect(encoded.json).toEqual({ name: 'a.png', file: 0 });
    expect(encoded.meta).toEqual({ values: { file: [['custom', 'bytes']] }, v: 1, b: [3] });
    expect(encoded.parts).toEqual([Uint8Array.of(1, 2, 3)]);
  });

  it.each([0, 1, 1024, 64 * 1024, 1024 * 1024])('round-trips a Uint8Array and an ArrayBuffer of %i bytes', (size) => {
    const bytes = new Uint8Array(size).map((_, i) => i * 7);
    const value = { bytes, buffer: bytes.slice().buffer, label: 'x' };
    const { message, decoded } = roundTrip(value);
    expect(message).toBeInstanceOf(Uint8Array);
    expect((message as Uint8Array).byteLength).toBeLessThanOrEqual(2 * size + 200);
    const out = decoded as typeof value;
    expect(Object.getPrototypeOf(out.bytes)).toBe(Uint8Array.prototype);
    expect(out.buffer).toBeInstanceOf(ArrayBuffer);
    expect(out).toEqual(value);
  });

  it('round-trips bytes at the root, in arrays, Maps and Sets, and a Buffer as a Uint8Array', () => {
    const value = [Buffer.from('hi'), new Map([['k', Uint8Array.of(9)]]), new Set([Uint8Array.of(8)]), 5n];
    const { decoded } = roundTrip(value);
    expect(decoded).toEqual([
      Uint8Array.of(104, 105),
      new Map([['k', Uint8Array.of(9)]]),
      new Set([Uint8Array.of(8)]),
      5n,
    ]);
    expect(Object.getPrototypeOf((decoded as unknown[])[0])).toBe(Uint8Array.prototype);
    expect(roundTrip(Uint8Array.of(1)).decoded).toEqual(Uint8Array.of(1));
  });

  it('sends one byte value used twice once, and gives back one object for both places', () => {
    const shared = new Uint8Array(1000);
    const { message, decoded } = roundTrip({ a: shared, b: shared });
    expect((message as Uint8Array).byteLength).toBeLessThan(1200);
    const out = decoded as { a: Uint8Array; b: Uint8Array };
    expect(out.a).toBe(out.b);
  });

  it('keeps an object shaped like a placeholder as that object', () => {
    const value = { $b: 0, file: Uint8Array.of(1) };
    expect(roundTrip(value).decoded).toEqual(value);
  });

  it('refuses a Blob with a TypeError that says to read it first', () => {
    expect(() => encodeValue({ file: new Blob(['x']) })).toThrow(/arrayBuffer/);
  });

  it('costs 4 bytes of header plus the JSON part: overhead within 1% from 16 KiB', () => {
    const bytes = new Uint8Array(16 * 1024);
    const { message } = roundTrip(bytes);
    expect((message as Uint8Array).byteLength).toBeLessThanOrEqual(bytes.byteLength * 1.01);
    const jsonBytes = new DataView((message as Uint8Array).buffer).getUint32(0);
    expect((message as Uint8Array).byteLength).toBe(BINARY_HEADER_BYTES + jsonBytes + bytes.byteLength);
  });
});

describe('reading a hostile binary message', () => {
  const call = (meta: string, input = '0') => `{"type":"call","id":1,"name":"f","input":${input},"meta":${meta}}`;
  const good = '{"values":[["custom","bytes"]],"v":1,"b":[2]}';

  it('reads a well-formed message, then decodes its value', () => {
    const read = readBinaryMessage(frame(call(good), [1, 2])) as { input: unknown; meta: unknown };
    expect(decodeValue(read.input, read.meta)).toEqual(Uint8Array.of(1, 2));
  });

  it.each([
    ['shorter than its header', Uint8Array.of(0, 0)],
    ['a JSON length past the end', Uint8Array.of(0, 0, 0, 9, 0x7b, 0x7d)],
    ['a JSON length over maxJsonBytes', Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 0x7b)],
    ['a JSON part that is not JSON', frame('not json', [1])],
    ['a JSON part that is not UTF-8', Uint8Array.of(0, 0, 0, 2, 0xc3, 0x28)],
    ['a JSON part that is a batch', frame(`[${call(good)}]`, [1, 2])],
    ['no meta.b', frame(call('{"values":[["custom","bytes"]],"v":1}'), [1, 2])],
    ['an empty meta.b', frame(call('{"values":{},"v":1,"b":[]}', '{}'))],
    ['a length that is not an integer', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[1.5]}'), [1, 2])],
    ['lengths adding up to more than follows', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[3]}'), [1, 2])],
    ['lengths adding up to less than follows', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[1]}'), [1, 2])],
    ['a __proto__ key', frame(call('{"values":[["custom","bytes"]],"v":1,"b":[2],"__proto__":{}}'), [1, 2])],
  ])('refuses %s with BAD_REQUEST', (_, message) => {
    expect(() => readBinaryMessage(message, { maxJsonBytes: 1024, maxByteValues: 4 })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
  });

  it('refuses more byte values than maxByteValues', () => {
    const message = frame(call('{"values":{},"v":1,"b":[0,0,0,0,0]}', '{}'));
    expect(() => readBinaryMessage(message, { maxJsonBytes: 1024, maxByteValues: 4 })).toThrow(/1 to 4 byte values/);
  });

  it.each([
    ['an index out of range', call('{"values":[["custom","bytes"]],"v":1,"b":[2]}', '1')],
    ['an index that is not an integer', call('{"values":[["custom","bytes"]],"v":1,"b":[2]}', '"0"')],
    ['a byte value no placeholder names', call('{"values":{"a":[["custom","bytes"]]},"v":1,"b":[1,1]}', '{"a":0}')],
    ['an unknown custom annotation', call('{"values":[["custom","evil"]],"v":1,"b":[2]}')],
  ])('decodeValue refuses %s with BAD_REQUEST', (_, json) => {
    const read = readBinaryMessage(frame(json, [1, 2])) as { input: unknown; meta: unknown };
    expect(() => decodeValue(read.input, read.meta)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('refuses byte lengths in a text message: they name no bytes', () => {
    const read = readMessage(call(good)) as { input: unknown; meta: unknown };
    expect(() => decodeValue(read.input, read.meta)).toThrow(/byte values of a binary message/);
    const noB = readMessage(call('{"values":[["custom","bytes"]],"v":1}')) as { input: unknown; meta: unknown };
    expect(() => decodeValue(noB.input, noB.meta)).toThrow(/not in the message/);
  });

  it('reads a text message as JSON, refusing what parseJson refuses with BAD_REQUEST', () => {
    expect(readMessage('{"a":1}')).toEqual({ a: 1 });
    expect(() => readMessage('{')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: 'malformed JSON' }));
  });
});
