import { FrameParser, type FrameSink, isValidCloseCode, type ProtocolError } from '@switchboard/server/transport';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  failOnUncaughtException,
  MiB,
  memoryInUse,
  pseudoRandomBytes,
  type RunningServer,
  startServer,
  utf8Bytes,
} from './harness.js';
import { type ClientFrame, encodeClientFrame, OP, RawPeer, readClose, type ServerFrame } from './raw-peer.js';

// Property tests for the RFC 6455 frame layer (reliability.md §2 #24, §3.2):
//  (a) any split of a valid client byte stream yields the same messages and pongs as the whole;
//  (b) arbitrary bytes after a handshake never throw, always end in a valid Close or a closed
//      socket, and keep memory bounded.

vi.setConfig({ testTimeout: 40_000, hookTimeout: 10_000 });

failOnUncaughtException();

// ── a model of valid client traffic ─────────────────────────────────────────

interface MessageItem {
  kind: 'message';
  binary: boolean;
  payload: Buffer;
  /** Fragment boundaries, ascending offsets into payload. */
  cuts: number[];
  /** Pings sent after fragment `after` (inside the message when not the last). */
  pings: Array<{ after: number; payload: Buffer }>;
}
interface PingItem {
  kind: 'ping';
  payload: Buffer;
}
type Item = MessageItem | PingItem;

const sizeArb = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 130 }) }, // 7-bit lengths and the 125/126 edge
  { weight: 4, arbitrary: fc.integer({ min: 126, max: 2_000 }) }, // 16-bit lengths
  { weight: 1, arbitrary: fc.integer({ min: 65_536, max: 70_000 }) }, // 64-bit lengths
);
const pingPayloadArb = fc.uint8Array({ maxLength: 125 }).map((bytes) => Buffer.from(bytes));

const messageArb: fc.Arbitrary<MessageItem> = fc
  .record({
    binary: fc.boolean(),
    size: sizeArb,
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    pings: fc.array(fc.record({ after: fc.nat(), payload: pingPayloadArb }), { maxLength: 2 }),
  })
  .map(({ binary, size, seed, cuts, pings }) => {
    // Text is valid UTF-8 as a whole; cuts may still fall inside a character (that is legal).
    const payload = binary ? pseudoRandomBytes(size, seed) : utf8Bytes(size, seed);
    const offsets = [...new Set(cuts.map((cut) => cut % (size + 1)))].sort((a, b) => a - b);
    return {
      kind: 'message' as const,
      binary,
      payload,
      cuts: offsets,
      pings: pings.map((ping) => ({ after: ping.after % (offsets.length + 1), payload: ping.payload })),
    };
  });

const itemsArb: fc.Arbitrary<Item[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: messageArb },
    { weight: 1, arbitrary: pingPayloadArb.map((payload) => ({ kind: 'ping' as const, payload })) },
  ),
  { minLength: 1, maxLength: 8 },
);

/** Splits of a stream: cut points (taken modulo its length) or one byte at a time. */
const splitArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.nat(), { maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant('bytewise' as const) },
);

function fragmentsOf(item: MessageItem): Buffer[] {
  const bounds = [0, ...item.cuts, item.payload.length];
  const fragments: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    fragments.push(item.payload.subarray(bounds[i] as number, bounds[i + 1] as number));
  }
  return fragments;
}

/** The client byte stream for `items`, masked with keys drawn from `seed`. */
function encodeItems(items: Item[], seed: number): Buffer {
  const keys = pseudoRandomBytes(4 * 64, seed);
  let k = 0;
  const key = () => keys.subarray((4 * k) % keys.length, ((4 * k++) % keys.length) + 4);
  const frames: Buffer[] = [];
  for (const item of items) {
    if (item.kind === 'ping') {
      frames.push(encodeClientFrame({ opcode: OP.ping, payload: item.payload, mask: key() }));
      continue;
    }
    const fragments = fragmentsOf(item);
    fragments.forEach((fragment, i) => {
      const frame: ClientFrame = {
        opcode: i === 0 ? (item.binary ? OP.binary : OP.text) : OP.continuation,
        payload: fragment,
        fin: i === fragments.length - 1,
        mask: key(),
      };
      frames.push(encodeClientFrame(frame));
      for (const ping of item.pings) {
        if (ping.after === i) frames.push(encodeClientFrame({ opcode: OP.ping, payload: ping.payload, mask: key() }));
      }
    });
  }
  return Buffer.concat(frames);
}

/** Cuts `stream` into chunks at the given points (each push gets its own copy: the parser unmasks in place). */
function split(stream: Buffer, how: number[] | 'bytewise'): Buffer[] {
  if (how === 'bytewise') return Array.from(stream, (byte) => Buffer.from([byte]));
  const points = [...new Set(how.map((cut) => (stream.length === 0 ? 0 : cut % stream.length)))].sort((a, b) => a - b);
  const bounds = [0, ...points, stream.length];
  const chunks: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    chunks.push(Buffer.from(stream.subarray(bounds[i] as number, bounds[i + 1] as number)));
  }
  return chunks;
}

// ── the parser, in process ──────────────────────────────────────────────────

type ParserEvent =
  | { type: 'start'; opcode: number; compressed: boolean }
  | { type: 'control'; opcode: number; payload: Buffer }
  | { type: 'end'; data: Buffer }
  | { type: 'partial'; data: Buffer }
  | { type: 'error'; code: string; closeCode: number };

/** One event as a string, so long event lists compare fast and print readably. */
function show(event: ParserEvent): string {
  switch (event.type) {
    case 'start':
      return `start ${event.opcode}${event.compressed ? ' compressed' : ''}`;
    case 'control':
      return `control ${event.opcode} ${event.payload.toString('hex')}`;
    case 'end':
    case 'partial':
      return `${event.type} ${event.data.length} ${event.data.toString('base64')}`;
    case 'error':
      return `error ${event.code} ${event.closeCode}`;
  }
}

/** Records what the parser reports, with data merged per message so any split compares equal. */
class RecordingSink implements FrameSink {
  readonly events: string[] = [];
  #data: Buffer[] = [];
  onMessageStart(opcode: 1 | 2, compressed: boolean): void {
    this.events.push(show({ type: 'start', opcode, compressed }));
  }
  onMessageData(chunk: Buffer): void {
    this.#data.push(Buffer.from(chunk));
  }
  onMessageEnd(): void {
    this.events.push(show({ type: 'end', data: Buffer.concat(this.#data) }));
    this.#data = [];
  }
  onControl(opcode: 0x8 | 0x9 | 0xa, payload: Buffer): void {
    this.events.push(show({ type: 'control', opcode, payload }));
  }
  onProtocolError(error: ProtocolError): void {
    this.#flushPartial();
    this.events.push(show({ type: 'error', code: error.code, closeCode: error.closeCode }));
  }
  /** All events, plus the data of a message still unfinished when the input ran out. */
  finish(): string[] {
    this.#flushPartial();
    return this.events;
  }
  #flushPartial(): void {
    if (this.#data.length > 0) this.events.push(show({ type: 'partial', data: Buffer.concat(this.#data) }));
    this.#data = [];
  }
}

function parse(chunks: Buffer[], limits = { maxPayloadBytes: MiB, maxFragments: 1024, compression: false }) {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, limits);
  for (const chunk of chunks) parser.push(chunk);
  return { events: sink.finish(), bufferedBytes: parser.bufferedBytes };
}

function expectedEvents(items: Item[]): ParserEvent[] {
  const events: ParserEvent[] = [];
  for (const item of items) {
    if (item.kind === 'ping') {
      events.push({ type: 'control', opcode: OP.ping, payload: item.payload });
      continue;
    }
    events.push({ type: 'start', opcode: item.binary ? OP.binary : OP.text, compressed: false });
    const last = item.cuts.length; // index of the final fragment
    const after = (i: number) =>
      item.pings
        .filter((ping) => ping.after === i)
        .map((ping) => ({ type: 'control' as const, opcode: OP.ping, payload: ping.payload }));
    for (let i = 0; i < last; i++) events.push(...after(i));
    events.push({ type: 'end', data: item.payload }, ...after(last));
  }
  return events;
}

// ── hostile input ───────────────────────────────────────────────────────────

/** One frame with every header field up to chance: masks, RSV bits, opcodes, lying lengths. */
const hostileFrameArb = fc
  .record({
    opcode: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) },
      { weight: 1, arbitrary: fc.nat(15) },
    ),
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    rsv2: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    rsv3: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    masked: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    payload: fc.uint8Array({ maxLength: 200 }),
    declaredLength: fc.option(
      fc.oneof(
        fc.nat(300),
        fc.constantFrom(125, 126, 127, 65_535, 65_536, 2 ** 31, 2 ** 53 - 1),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      ),
      { freq: 4, nil: undefined },
    ),
    closeCode: fc.option(fc.nat(5_000), { nil: undefined }),
  })
  .map((f) => {
    const payload =
      f.opcode === OP.close && f.closeCode !== undefined
        ? Buffer.concat([Buffer.from([f.closeCode >> 8, f.closeCode & 0xff]), Buffer.from(f.payload.subarray(0, 20))])
        : Buffer.from(f.payload);
    const frame: ClientFrame = { opcode: f.opcode, payload, fin: f.fin, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3 };
    frame.masked = f.masked;
    if (f.declaredLength !== undefined) frame.declaredLength = f.declaredLength;
    return encodeClientFrame(frame);
  });

/** Pure noise, hostile frames, or frames with noise spliced in. */
const hostileBytesArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
  fc.array(hostileFrameArb, { minLength: 1, maxLength: 6 }).map((frames) => Buffer.concat(frames)),
  fc
    .array(
      fc.oneof(
        hostileFrameArb,
        fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
      ),
      {
        minLength: 1,
        maxLength: 6,
      },
    )
    .map((parts) => Buffer.concat(parts)),
);

describe('FrameParser in process', () => {
  it('(a) any split of a valid stream yields the same messages and pings as the whole, and as the model', () => {
    fc.assert(
      fc.property(itemsArb, splitArb, fc.integer(), (items, how, seed) => {
        const stream = encodeItems(items, seed);
        const whole = parse([Buffer.from(stream)]);
        const pieces = parse(split(stream, how === 'bytewise' && stream.length > 20_000 ? [1, 2, 3] : how));
        expect(pieces.events).toEqual(whole.events);
        expect(whole.events).toEqual(expectedEvents(items).map(show));
        expect(whole.bufferedBytes).toBe(0);
        expect(pieces.bufferedBytes).toBe(0);
      }),
      { numRuns: 2_000, interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false },
    );
  });

  it('(b) arbitrary bytes never throw, fail at most once with 1002/1009, are split-invariant and buffer < 126 bytes', () => {
    const limitsArb = fc.record({
      maxPayloadBytes: fc.constantFrom(16, 4_096, MiB),
      maxFragments: fc.constantFrom(1, 8, 1024),
      compression: fc.boolean(),
    });
    fc.assert(
      fc.property(hostileBytesArb, splitArb, limitsArb, (bytes, how, limits) => {
        const whole = parse([Buffer.from(bytes)], limits);
        const pieces = parse(split(bytes, how), limits);
        expect(pieces.events).toEqual(whole.events);
        const errors = whole.events.filter((event) => event.startsWith('error '));
        expect(errors.length).toBeLessThanOrEqual(1);
        if (errors[0] !== undefined) {
          expect(whole.events.at(-1)).toBe(errors[0]);
          expect(errors[0]).toMatch(/ (1002|1009)$/);
          expect(whole.bufferedBytes).toBe(0);
        }
        // At rest the parser holds at most a header or a control payload, never a data payload.
        expect(whole.bufferedBytes).toBeLessThan(126);
        expect(pieces.bufferedBytes).toBeLessThan(126);
      }),
      { numRuns: 2_000, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
    );
  });
});

// ── a real server over loopback ─────────────────────────────────────────────

/** What a peer collects until it has seen `count` frames. */
async function collectFrames(peer: RawPeer, count: number, timeoutMs: number): Promise<ServerFrame[]> {
  const frames: ServerFrame[] = [];
  const deadline = Date.now() + timeoutMs;
  while (frames.length < count) frames.push(await peer.nextFrame(Math.max(1, deadline - Date.now())));
  return frames;
}

/** Writes chunks one per event-loop turn, so they tend to leave as separate TCP segments. */
async function writeChunks(peer: RawPeer, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    peer.send(chunk);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** What an echo server answers, in order: a pong per ping, an unfragmented echo per message. */
function expectedReplies(items: Item[]): Array<{ opcode: number; payload: Buffer }> {
  const replies: Array<{ opcode: number; payload: Buffer }> = [];
  let opcode = 0;
  for (const event of expectedEvents(items)) {
    if (event.type === 'start') opcode = event.opcode;
    else if (event.type === 'control') replies.push({ opcode: OP.pong, payload: event.payload });
    else if (event.type === 'end') replies.push({ opcode, payload: event.data });
  }
  return replies;
}

describe('a real server over loopback', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ maxPayload: MiB, closeTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('(a) any split of a valid stream yields the same echoes and pongs as the whole', async () => {
    await fc.assert(
      fc.asyncProperty(itemsArb, fc.array(fc.nat(), { maxLength: 20 }), fc.integer(), async (items, cuts, seed) => {
        const stream = encodeItems(items, seed);
        const expected = expectedReplies(items);
        const results: ServerFrame[][] = [];
        for (const chunks of [[Buffer.from(stream)], split(stream, cuts)]) {
          const peer = await RawPeer.upgrade(server.port);
          try {
            await writeChunks(peer, chunks);
            const frames = await collectFrames(peer, expected.length, 5_000);
            // Nothing more: the next frame is the echo of our Close.
            peer.send({ opcode: OP.close, payload: Buffer.from([0x03, 0xe8]) });
            const close = await peer.nextFrame(2_000);
            expect(close.opcode).toBe(OP.close);
            expect(readClose(close).code).toBe(1000);
            results.push(frames);
          } finally {
            peer.destroy();
          }
        }
        const [whole, pieces] = results as [ServerFrame[], ServerFrame[]];
        expect(pieces.map((f) => f.opcode)).toEqual(whole.map((f) => f.opcode));
        expect(whole.map((f) => f.opcode)).toEqual(expected.map((reply) => reply.opcode));
        whole.forEach((frame, i) => {
          expect(frame).toMatchObject({ fin: true, rsv1: false, rsv2: false, rsv3: false, masked: false });
          expect(frame.payload.equals(expected[i]?.payload ?? Buffer.alloc(0))).toBe(true);
          expect(frame.payload.equals((pieces[i] as ServerFrame).payload)).toBe(true);
        });
      }),
      { numRuns: 50, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
    );
  });

  it('(b) arbitrary bytes after the handshake end in a valid Close or a closed socket, never a throw, memory bounded', async () => {
    const hostile = await startServer({
      maxPayload: 4_096,
      maxFragments: 8,
      perMessageDeflate: true,
      closeTimeoutMs: 1_000,
    });
    const before = memoryInUse();
    try {
      await fc.assert(
        fc.asyncProperty(hostileBytesArb, fc.array(fc.nat(), { maxLength: 3 }), async (bytes, cuts) => {
          const peer = await RawPeer.upgrade(hostile.port, {
            headers: ['Sec-WebSocket-Extensions: permessage-deflate'],
          });
          try {
            await writeChunks(peer, split(bytes, cuts));
            // Half-close: a server waiting for more of a frame must still finish.
            peer.socket.end();
            await peer.tcpClose(3_000);
            const closeAt = peer.frames.findIndex((frame) => frame.opcode === OP.close);
            for (const frame of peer.frames) {
              expect(frame.masked).toBe(false);
              expect(frame.rsv2 || frame.rsv3).toBe(false);
              expect([OP.text, OP.binary, OP.close, OP.ping, OP.pong]).toContain(frame.opcode);
            }
            if (closeAt !== -1) {
              // Nothing after a Close (RFC 6455 §5.5.1), and its code is one that may be sent.
              expect(closeAt).toBe(peer.frames.length - 1);
              const { code } = readClose(peer.frames[closeAt] as ServerFrame);
              if (code !== undefined) expect(isValidCloseCode(code)).toBe(true);
            }
          } finally {
            peer.destroy();
          }
        }),
        { numRuns: 100, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
      );
      expect(memoryInUse() - before).toBeLessThan(16 * MiB);
    } finally {
      await hostile.stop();
    }
  });
});
