import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameParser } from '../../src/transport/frame-parser.js';
import {
  allSplits,
  type ClientFrame,
  encodeClientFrame,
  hex,
  LIMITS,
  parseEveryWay,
  parsePieces,
  RecordingSink,
  type SinkEvent,
  splitAt,
} from './helpers.js';

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

const frames = (...specs: ClientFrame[]): Buffer => Buffer.concat(specs.map(encodeClientFrame));
const bytes = (length: number, seed = 7): Buffer =>
  Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
const error = (code: string, closeCode: number): SinkEvent => ({ type: 'error', code, closeCode });

describe('FrameParser: lengths', () => {
  it.each([0, 1, 125, 126, 127, 65535, 65536, 70000])(
    'delivers a %i-byte payload with the minimal length encoding',
    (length) => {
      const payload = bytes(length);
      const wire = encodeClientFrame({ opcode: BINARY, payload });
      // 7-bit lengths up to 125, 16-bit up to 65535, 64-bit beyond.
      expect(wire.length - length - 4).toBe(length < 126 ? 2 : length < 65536 ? 4 : 10);
      const events = parseEveryWay(wire);
      expect(events).toEqual([
        { type: 'start', opcode: 2, compressed: false },
        ...(length > 0 ? [{ type: 'data', hex: payload.toString('hex') }] : []),
        { type: 'end' },
      ]);
    },
  );

  it.each([0, 1, 125])('closes with 1002 (NON_MINIMAL_LENGTH) on %i bytes in the 16-bit length form', (length) => {
    const wire = encodeClientFrame({ opcode: TEXT, payload: bytes(length), lengthEncoding: '16' });
    expect(parseEveryWay(wire)).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      error('NON_MINIMAL_LENGTH', 1002),
    ]);
  });

  it.each([0, 125, 126, 65535])(
    'closes with 1002 (NON_MINIMAL_LENGTH) on %i bytes in the 64-bit length form',
    (length) => {
      const wire = encodeClientFrame({ opcode: BINARY, payload: bytes(length), lengthEncoding: '64' });
      expect(parseEveryWay(wire)).toEqual([
        { type: 'start', opcode: 2, compressed: false },
        error('NON_MINIMAL_LENGTH', 1002),
      ]);
    },
  );

  it('accepts 126 bytes in the 16-bit form and 65536 bytes in the 64-bit form', () => {
    expect(
      parseEveryWay(encodeClientFrame({ opcode: BINARY, payload: bytes(126), lengthEncoding: '16' })),
    ).toHaveLength(3);
    expect(
      parseEveryWay(encodeClientFrame({ opcode: BINARY, payload: bytes(65536), lengthEncoding: '64' })),
    ).toHaveLength(3);
  });

  it('closes with 1002 (LENGTH_MSB_SET) when the 64-bit length has its most significant bit set', () => {
    const wire = encodeClientFrame({ opcode: BINARY, declaredLength: 70000, lengthMsb: true });
    expect(parseEveryWay(wire)).toEqual([
      { type: 'start', opcode: 2, compressed: false },
      error('LENGTH_MSB_SET', 1002),
    ]);
  });

  it('closes with 1002 on a control frame with the most significant length bit set', () => {
    const wire = encodeClientFrame({ opcode: PING, declaredLength: 70000, lengthMsb: true });
    expect(parseEveryWay(wire)).toEqual([error('LENGTH_MSB_SET', 1002)]);
  });
});

describe('FrameParser: maxPayloadBytes', () => {
  it.each([
    ['16-bit', 50_000, 4],
    ['64-bit', 1_000_000, 10],
  ] as const)(
    'closes with 1009 on a %s declared length over maxPayloadBytes before buffering a payload byte',
    (_form, declaredLength, lengthEnd) => {
      const wire = Buffer.concat([encodeClientFrame({ opcode: BINARY, declaredLength }), bytes(50)]); // header, mask, a few bytes
      const sink = new RecordingSink();
      const parser = new FrameParser(sink, { ...LIMITS, maxPayloadBytes: 1000 });
      let refusedAfter = -1;
      for (let i = 0; i < wire.length; i++) {
        parser.push(wire.subarray(i, i + 1));
        if (refusedAfter === -1 && sink.errors.length > 0) refusedAfter = i + 1;
      }
      // Refused as soon as the length is known: not even the mask key is waited for.
      expect(refusedAfter).toBe(lengthEnd);
      expect(sink.events).toEqual([{ type: 'start', opcode: 2, compressed: false }, error('PAYLOAD_TOO_LARGE', 1009)]);
      expect(sink.dataCalls).toBe(0);
      expect(parser.bufferedBytes).toBeLessThan(100);
      // Whatever the peer keeps sending is not kept.
      parser.push(Buffer.alloc(64 * 1024));
      expect(parser.bufferedBytes).toBe(0);
      expect(sink.events).toHaveLength(2);
    },
  );

  it('closes with 1009 on a 2^53-byte 64-bit length without trying to hold it', () => {
    const wire = encodeClientFrame({ opcode: TEXT, declaredLength: 2 ** 53 + 2, lengthEncoding: '64' });
    const { sink, parser } = parsePieces([wire, bytes(50)], { maxPayloadBytes: 1 << 20 });
    expect(sink.events.at(-1)).toEqual(error('PAYLOAD_TOO_LARGE', 1009));
    expect(sink.dataCalls).toBe(0);
    expect(parser.bufferedBytes).toBeLessThan(100);
  });

  it('refuses an oversized frame even when its payload arrives in the same chunk', () => {
    const wire = encodeClientFrame({ opcode: BINARY, payload: bytes(2000) });
    const events = parseEveryWay(wire, { maxPayloadBytes: 1999 });
    expect(events).toEqual([{ type: 'start', opcode: 2, compressed: false }, error('PAYLOAD_TOO_LARGE', 1009)]);
  });

  it('accepts a message of exactly maxPayloadBytes', () => {
    const wire = encodeClientFrame({ opcode: BINARY, payload: bytes(2000) });
    expect(parseEveryWay(wire, { maxPayloadBytes: 2000 }).at(-1)).toEqual({ type: 'end' });
  });

  it('closes with 1009 at the fragment whose length takes the message over maxPayloadBytes', () => {
    const wire = frames(
      { opcode: TEXT, payload: 'a'.repeat(40), fin: false },
      { opcode: CONTINUATION, payload: 'b'.repeat(40), fin: false },
      { opcode: CONTINUATION, payload: 'c'.repeat(40), fin: true },
    );
    expect(parseEveryWay(wire, { maxPayloadBytes: 100 })).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('a'.repeat(40) + 'b'.repeat(40)) },
      error('PAYLOAD_TOO_LARGE', 1009),
    ]);
    expect(parseEveryWay(wire, { maxPayloadBytes: 120 }).at(-1)).toEqual({ type: 'end' });
  });

  it('does not count control frames interleaved in a message against maxPayloadBytes', () => {
    const wire = frames(
      { opcode: BINARY, payload: bytes(60), fin: false },
      { opcode: PING, payload: bytes(100) },
      { opcode: CONTINUATION, payload: bytes(40), fin: true },
    );
    expect(parseEveryWay(wire, { maxPayloadBytes: 100 }).at(-1)).toEqual({ type: 'end' });
  });

  it('starts counting afresh for each message', () => {
    const wire = frames({ opcode: BINARY, payload: bytes(80) }, { opcode: BINARY, payload: bytes(80) });
    const events = parseEveryWay(wire, { maxPayloadBytes: 100 });
    expect(events.filter((event) => event.type === 'end')).toHaveLength(2);
  });
});

describe('FrameParser: maxFragments', () => {
  const fragmented = (count: number): Buffer =>
    frames(
      ...Array.from({ length: count }, (_, i) => ({
        opcode: i === 0 ? TEXT : CONTINUATION,
        payload: 'x',
        fin: i === count - 1,
      })),
    );

  it('accepts a message split into exactly maxFragments frames', () => {
    expect(parseEveryWay(fragmented(5), { maxFragments: 5 })).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('xxxxx') },
      { type: 'end' },
    ]);
  });

  it('closes with 1009 (TOO_MANY_FRAGMENTS) on the frame after maxFragments', () => {
    const events = parseEveryWay(fragmented(6), { maxFragments: 5 });
    expect(events).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('xxxxx') },
      error('TOO_MANY_FRAGMENTS', 1009),
    ]);
  });

  it('counts zero-length fragments too', () => {
    const wire = frames(
      { opcode: BINARY, fin: false },
      { opcode: CONTINUATION, fin: false },
      { opcode: CONTINUATION, fin: false },
      { opcode: CONTINUATION, fin: true },
    );
    expect(parseEveryWay(wire, { maxFragments: 3 }).at(-1)).toEqual(error('TOO_MANY_FRAGMENTS', 1009));
  });
});

describe('FrameParser: header checks', () => {
  it('closes with 1002 (UNMASKED_FRAME) on an unmasked data frame', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: TEXT, payload: 'hi', masked: false }))).toEqual([
      error('UNMASKED_FRAME', 1002),
    ]);
  });

  it('closes with 1002 (UNMASKED_FRAME) on an unmasked ping', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: PING, masked: false }))).toEqual([error('UNMASKED_FRAME', 1002)]);
  });

  it('closes with 1002 on RSV1 when no compression was negotiated', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: TEXT, payload: 'hi', rsv1: true }))).toEqual([
      error('RESERVED_BITS', 1002),
    ]);
  });

  it.each([
    ['RSV2', { rsv2: true }],
    ['RSV3', { rsv3: true }],
  ] as const)('closes with 1002 on %s, with or without compression', (_name, bits) => {
    for (const compression of [false, true]) {
      expect(parseEveryWay(encodeClientFrame({ opcode: BINARY, payload: 'x', ...bits }), { compression })).toEqual([
        error('RESERVED_BITS', 1002),
      ]);
    }
  });

  it('reports a compressed message start when RSV1 is set and compression was negotiated', () => {
    expect(
      parseEveryWay(encodeClientFrame({ opcode: BINARY, payload: 'zz', rsv1: true }), { compression: true }),
    ).toEqual([{ type: 'start', opcode: 2, compressed: true }, { type: 'data', hex: hex('zz') }, { type: 'end' }]);
  });

  it.each([PING, PONG, CLOSE])('closes with 1002 on RSV1 on control frame 0x%s with compression', (opcode) => {
    expect(parseEveryWay(encodeClientFrame({ opcode, rsv1: true }), { compression: true })).toEqual([
      error('RESERVED_BITS', 1002),
    ]);
  });

  it('closes with 1002 on RSV1 on a continuation frame with compression', () => {
    const wire = frames(
      { opcode: TEXT, payload: 'a', rsv1: true, fin: false },
      { opcode: CONTINUATION, payload: 'b', rsv1: true },
    );
    expect(parseEveryWay(wire, { compression: true })).toEqual([
      { type: 'start', opcode: 1, compressed: true },
      { type: 'data', hex: hex('a') },
      error('RESERVED_BITS', 1002),
    ]);
  });

  it.each([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf])(
    'closes with 1002 (INVALID_OPCODE) on reserved opcode %i',
    (opcode) => {
      expect(parseEveryWay(encodeClientFrame({ opcode, payload: 'x' }))).toEqual([error('INVALID_OPCODE', 1002)]);
    },
  );

  it('closes with 1002 on a reserved opcode in the middle of a fragmented message', () => {
    const wire = frames({ opcode: TEXT, payload: 'a', fin: false }, { opcode: 0x5, payload: 'b' });
    expect(parseEveryWay(wire).at(-1)).toEqual(error('INVALID_OPCODE', 1002));
  });
});

describe('FrameParser: control frames', () => {
  it('delivers a ping, a pong and a close with their unmasked payloads', () => {
    const wire = frames(
      { opcode: PING, payload: 'ping!' },
      { opcode: PONG, payload: 'pong!' },
      { opcode: CLOSE, payload: Buffer.from([0x03, 0xe8, 0x6f, 0x6b]) },
    );
    expect(parseEveryWay(wire)).toEqual([
      { type: 'control', opcode: PING, hex: hex('ping!') },
      { type: 'control', opcode: PONG, hex: hex('pong!') },
      { type: 'control', opcode: CLOSE, hex: '03e86f6b' },
    ]);
  });

  it('delivers a control frame with exactly 125 bytes of payload', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: PING, payload: bytes(125) }))).toEqual([
      { type: 'control', opcode: PING, hex: bytes(125).toString('hex') },
    ]);
  });

  it('closes with 1002 (CONTROL_FRAME_TOO_LARGE) on a 126-byte ping', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: PING, payload: bytes(126) }))).toEqual([
      error('CONTROL_FRAME_TOO_LARGE', 1002),
    ]);
  });

  it('closes with 1002 on a control frame declaring a 64-bit length', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: CLOSE, declaredLength: 1 << 20 }))).toEqual([
      error('CONTROL_FRAME_TOO_LARGE', 1002),
    ]);
  });

  it('closes with 1002 on a fragmented ping', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: PING, payload: 'a', fin: false }))).toEqual([
      error('CONTROL_FRAME_FRAGMENTED', 1002),
    ]);
  });

  it('delivers a ping interleaved in a fragmented message and keeps the message intact', () => {
    const wire = frames(
      { opcode: TEXT, payload: 'Hello, ', fin: false },
      { opcode: PING, payload: 'are you there?' },
      { opcode: CONTINUATION, payload: 'World', fin: false },
      { opcode: PONG },
      { opcode: CONTINUATION, payload: '!', fin: true },
    );
    const events = parseEveryWay(wire);
    expect(events).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('Hello, ') },
      { type: 'control', opcode: PING, hex: hex('are you there?') },
      { type: 'data', hex: hex('World') },
      { type: 'control', opcode: PONG, hex: '' },
      { type: 'data', hex: hex('!') },
      { type: 'end' },
    ]);
  });

  it('hands over a control payload that does not alias the input buffer', () => {
    const wire = encodeClientFrame({ opcode: PING, payload: 'abc' });
    let payload: Buffer | undefined;
    const parser = new FrameParser(
      {
        onMessageStart() {},
        onMessageData() {},
        onMessageEnd() {},
        onControl(_opcode, data) {
          payload = data;
        },
        onProtocolError() {},
      },
      LIMITS,
    );
    parser.push(wire);
    wire.fill(0);
    expect(payload?.toString()).toBe('abc');
  });
});

describe('FrameParser: fragmentation', () => {
  it('reassembles a text message from a start, continuations and a final frame', () => {
    const wire = frames(
      { opcode: TEXT, payload: 'frag', fin: false },
      { opcode: CONTINUATION, payload: 'men', fin: false },
      { opcode: CONTINUATION, payload: 'ted', fin: true },
    );
    expect(parseEveryWay(wire)).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('fragmented') },
      { type: 'end' },
    ]);
  });

  it('closes with 1002 (UNEXPECTED_CONTINUATION) on a continuation frame without a message to continue', () => {
    expect(parseEveryWay(encodeClientFrame({ opcode: CONTINUATION, payload: 'x' }))).toEqual([
      error('UNEXPECTED_CONTINUATION', 1002),
    ]);
  });

  it('closes with 1002 on a continuation frame after the message has ended', () => {
    const wire = frames({ opcode: TEXT, payload: 'done' }, { opcode: CONTINUATION, payload: 'x' });
    expect(parseEveryWay(wire).at(-1)).toEqual(error('UNEXPECTED_CONTINUATION', 1002));
  });

  it('closes with 1002 (EXPECTED_CONTINUATION) on a new data frame in the middle of a message', () => {
    const wire = frames({ opcode: TEXT, payload: 'a', fin: false }, { opcode: BINARY, payload: 'b' });
    expect(parseEveryWay(wire)).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('a') },
      error('EXPECTED_CONTINUATION', 1002),
    ]);
  });

  it('delivers several messages from one chunk in order', () => {
    const wire = frames(
      { opcode: TEXT, payload: 'one' },
      { opcode: BINARY, payload: Buffer.from([2]) },
      { opcode: TEXT, payload: '' },
    );
    expect(parseEveryWay(wire)).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('one') },
      { type: 'end' },
      { type: 'start', opcode: 2, compressed: false },
      { type: 'data', hex: '02' },
      { type: 'end' },
      { type: 'start', opcode: 1, compressed: false },
      { type: 'end' },
    ]);
  });

  it('reports nothing after a protocol error, even for valid frames in the same chunk', () => {
    const wire = frames({ opcode: TEXT, payload: 'x', masked: false }, { opcode: TEXT, payload: 'fine' });
    expect(parseEveryWay(wire)).toEqual([error('UNMASKED_FRAME', 1002)]);
  });
});

describe('FrameParser: masking', () => {
  it('unmasks the RFC 6455 §5.7 example "Hello"', () => {
    const wire = Buffer.from('818537fa213d7f9f4d5158', 'hex');
    expect(parseEveryWay(wire)).toEqual([
      { type: 'start', opcode: 1, compressed: false },
      { type: 'data', hex: hex('Hello') },
      { type: 'end' },
    ]);
  });

  it('unmasks payloads correctly for any mask, payload and split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)),
        fc.array(fc.nat(400), { maxLength: 6 }),
        (payload, mask, points) => {
          const wire = encodeClientFrame({ opcode: BINARY, payload, mask });
          const { sink } = parsePieces(splitAt(wire, points));
          expect(sink.events).toEqual([
            { type: 'start', opcode: 2, compressed: false },
            ...(payload.length > 0 ? [{ type: 'data', hex: Buffer.from(payload).toString('hex') }] : []),
            { type: 'end' },
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports the same events for any split of any sequence of valid frames', () => {
    const frameArb = fc.oneof(
      fc.record({
        kind: fc.constant('message' as const),
        binary: fc.boolean(),
        parts: fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant('ping' as const),
        binary: fc.constant(false),
        parts: fc.tuple(fc.uint8Array({ maxLength: 125 })),
      }),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 5 }), fc.array(fc.nat(2000), { maxLength: 10 }), (items, points) => {
        const specs: ClientFrame[] = [];
        for (const item of items) {
          if (item.kind === 'ping') {
            specs.push({ opcode: PING, payload: item.parts[0] });
            continue;
          }
          item.parts.forEach((part, i) => {
            specs.push({
              opcode: i === 0 ? (item.binary ? BINARY : TEXT) : CONTINUATION,
              payload: part,
              fin: i === item.parts.length - 1,
            });
          });
        }
        const wire = frames(...specs);
        const whole = parsePieces([wire]).sink.events;
        expect(parsePieces(splitAt(wire, points)).sink.events).toEqual(whole);
        expect(whole.filter((event) => event.type === 'error')).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('FrameParser: pause, resume and stop', () => {
  it('holds parsing while paused and buffers what arrives, then resumes where it stopped', () => {
    const wire = frames({ opcode: TEXT, payload: 'first' }, { opcode: TEXT, payload: 'second' });
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, LIMITS);
    parser.pause();
    for (const piece of splitAt(wire, [3, 9])) parser.push(piece);
    expect(sink.events).toEqual([]);
    expect(parser.bufferedBytes).toBe(wire.length);
    parser.resume();
    expect(sink.events.filter((event) => event.type === 'end')).toHaveLength(2);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('stops before the next frame when the sink pauses at the end of a message', () => {
    const wire = frames(
      { opcode: TEXT, payload: 'first' },
      { opcode: PING, payload: 'p' },
      { opcode: TEXT, payload: 'second' },
    );
    for (const { name, pieces } of allSplits(wire)) {
      const sink = new RecordingSink();
      const parser = new FrameParser(sink, LIMITS);
      let paused = false;
      sink.onEvent = (event) => {
        if (event.type === 'end' && !paused) {
          paused = true;
          parser.pause();
        }
      };
      for (const piece of pieces) parser.push(piece);
      expect(
        sink.events.map((event) => event.type),
        name,
      ).toEqual(['start', 'data', 'end']);
      parser.resume();
      expect(
        sink.events.map((event) => event.type),
        name,
      ).toEqual(['start', 'data', 'end', 'control', 'start', 'data', 'end']);
    }
  });

  it('drops buffered bytes on stop and ignores everything pushed afterwards', () => {
    const wire = encodeClientFrame({ opcode: TEXT, payload: 'never delivered' });
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, LIMITS);
    parser.pause();
    parser.push(wire.subarray(0, 10));
    expect(parser.bufferedBytes).toBe(10);
    parser.stop();
    expect(parser.bufferedBytes).toBe(0);
    parser.push(wire.subarray(10));
    parser.resume();
    expect(parser.bufferedBytes).toBe(0);
    expect(sink.events).toEqual([]);
  });

  it('stops at once when the sink calls stop on a close frame', () => {
    const wire = frames(
      { opcode: CLOSE, payload: Buffer.from([0x03, 0xe8]) },
      { opcode: TEXT, payload: 'after close' },
    );
    for (const { name, pieces } of allSplits(wire)) {
      const sink = new RecordingSink();
      const parser = new FrameParser(sink, LIMITS);
      sink.onEvent = (event) => {
        if (event.type === 'control') parser.stop();
      };
      for (const piece of pieces) parser.push(piece);
      expect(sink.events, name).toEqual([{ type: 'control', opcode: CLOSE, hex: '03e8' }]);
      expect(parser.bufferedBytes, name).toBe(0);
    }
  });

  it('stops delivering data when the sink stops in the middle of a payload', () => {
    const wire = encodeClientFrame({ opcode: BINARY, payload: bytes(100) });
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, LIMITS);
    sink.onEvent = (event) => {
      if (event.type === 'data') parser.stop();
    };
    for (const piece of splitAt(wire, [20, 40, 60])) parser.push(piece);
    expect(sink.dataCalls).toBe(1);
    expect(sink.events.map((event) => event.type)).toEqual(['start', 'data']);
  });
});
