import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPCODES } from '../../src/transport/constants.js';
import { FrameSender } from '../../src/transport/frame-sender.js';
import type { PerMessageDeflate } from '../../src/transport/permessage-deflate.js';
import { readServerFrame } from './helpers.js';

type Compressed = (error: Error | null, result?: Buffer) => void;

/** A deflate whose compressions finish when the test says, in any order. */
function heldDeflate(): { deflate: PerMessageDeflate; finish: Compressed[] } {
  const finish: Compressed[] = [];
  const deflate = { compress: (_data: Buffer, callback: Compressed) => finish.push(callback) };
  return { deflate: deflate as unknown as PerMessageDeflate, finish };
}

/** The payloads of the unmasked frames written to `tcp` (each short, so a 2-byte header). */
function payloadsOf(written: Buffer): string[] {
  const payloads: string[] = [];
  for (let at = 0; at < written.length; ) {
    const length = (written[at + 1] as number) & 0x7f;
    payloads.push(written.subarray(at + 2, at + 2 + length).toString());
    at += 2 + length;
  }
  return payloads;
}

function sender(): { sender: FrameSender; written: () => Buffer } {
  const tcp = new PassThrough();
  const chunks: Buffer[] = [];
  tcp.on('data', (chunk: Buffer) => chunks.push(chunk));
  const frameSender = new FrameSender(tcp as unknown as Socket, 1 << 20, { overflowed: () => {} });
  return { sender: frameSender, written: () => Buffer.concat(chunks) };
}

describe('FrameSender', () => {
  it('holds frames behind a compression, writes them in order, and skips one whose compression failed', async () => {
    const { deflate, finish } = heldDeflate();
    const { sender: out, written } = sender();
    const results: Array<string> = [];
    out.sendCompressed(deflate, OPCODES.text, Buffer.from('one'), (error) => results.push(`one ${error?.message}`));
    out.send(OPCODES.text, Buffer.from('two'), false, () => results.push('two'));
    out.sendCompressed(deflate, OPCODES.text, Buffer.from('three'), () => results.push('three'));
    out.send(OPCODES.text, Buffer.from('four'), false, () => results.push('four'));
    expect([out.idle, out.bufferedAmount]).toEqual([false, 'onetwothreefour'.length]);

    finish[1]?.(null, Buffer.from('3')); // the later one first: nothing may pass the first
    await new Promise((resolve) => setImmediate(resolve));
    expect(written().length).toBe(0);

    finish[0]?.(new Error('zlib broke'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(payloadsOf(written())).toEqual(['two', '3', 'four']);
    expect(results).toEqual(['one zlib broke', 'two', 'three', 'four']);
    expect([out.idle, out.bufferedAmount]).toEqual([true, 0]);
  });

  it('fails what still waits when dropped, and only that', () => {
    const { deflate } = heldDeflate();
    const { sender: out } = sender();
    const errors: string[] = [];
    out.sendCompressed(deflate, OPCODES.text, Buffer.from('a'), (error) => errors.push(`a ${error?.message}`));
    out.send(OPCODES.text, Buffer.from('b'), false, (error) => errors.push(`b ${error?.message}`));
    out.drop(new Error('closed'), true);
    expect(errors).toEqual(['a closed', 'b closed']);
    expect(out.idle).toBe(true);
  });

  it('writes a gathered frame as its parts joined, big parts as they are; behind a compression, joined', async () => {
    const { deflate, finish } = heldDeflate();
    const tcp = new PassThrough();
    const chunks: Buffer[] = [];
    tcp.on('data', (chunk: Buffer) => chunks.push(chunk));
    const handed: unknown[] = [];
    const write = tcp.write.bind(tcp) as (chunk: unknown, callback?: () => void) => boolean;
    tcp.write = ((chunk: unknown, callback?: () => void) => {
      handed.push(chunk);
      return write(chunk, callback);
    }) as typeof tcp.write;
    const out = new FrameSender(tcp as unknown as Socket, 1 << 20, { overflowed: () => {} });
    const big = new Uint8Array(2000).fill(9);
    const large = new Uint8Array(3000).fill(8);
    const done: string[] = [];
    const smalls = [Buffer.from('ab'), Buffer.from('c'), Buffer.from('tail!')];
    const [ab, c, tail] = smalls as [Buffer, Buffer, Buffer];
    out.sendGathered(OPCODES.binary, [ab, big, c, large, tail], (error) => done.push(`first ${error ?? 'ok'}`));
    tail.fill(0); // reused by the caller before the frame left: the frame keeps 'tail!'
    // The parts over COPY_THRESHOLD_BYTES are handed to TCP themselves: no copy. Small ones,
    // before and after a big one, are copied: the caller may reuse them at once.
    expect(handed.filter((chunk) => chunk === big || chunk === large)).toEqual([big, large]);
    for (const small of smalls) expect(handed).not.toContain(small);
    out.sendCompressed(deflate, OPCODES.text, Buffer.from('z'), () => done.push('compressed'));
    out.sendGathered(OPCODES.binary, [Buffer.from('x'), big], () => done.push('second'));
    finish[0]?.(null, Buffer.from('Z'));
    await new Promise((resolve) => setImmediate(resolve));

    const bytes = Buffer.concat(chunks);
    const first = Buffer.concat([Buffer.from('ab'), big, Buffer.from('c'), large, Buffer.from('tail!')]);
    // One frame: FIN | binary, a 16-bit length (RFC 6455 §5.2), then the payload.
    expect([bytes[0], bytes[1], bytes.readUInt16BE(2)]).toEqual([0x82, 126, first.length]);
    expect(bytes.subarray(4, 4 + first.length).equals(first)).toBe(true);
    const rest = bytes.subarray(4 + first.length);
    expect([...rest.subarray(0, 3)]).toEqual([0xc1, 1, 'Z'.charCodeAt(0)]);
    expect([rest[3], rest[4], rest.readUInt16BE(5)]).toEqual([0x82, 126, 2001]);
    expect(rest.subarray(7).equals(Buffer.concat([Buffer.from('x'), big]))).toBe(true);
    expect(done).toEqual(['first ok', 'compressed', 'second']);
  });

  it('writes any list of parts as one frame of their bytes in order, with the minimal length (RFC 6455 §5.2)', async () => {
    const part = fc
      .record({
        size: fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 1000, max: 70_000 })),
        fill: fc.nat(255),
      })
      .map(({ size, fill }) => new Uint8Array(size).fill(fill));
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 12 }), async (parts) => {
        const { sender: out, written } = sender();
        const done: Array<Error | null | undefined> = [];
        out.sendGathered(OPCODES.binary, parts, (error) => done.push(error));
        await new Promise((resolve) => setImmediate(resolve));
        const bytes = written();
        const frame = readServerFrame(bytes);
        const payload = Buffer.concat(parts);
        expect(frame && [frame.fin, frame.opcode, frame.masked, frame.size]).toEqual([
          true,
          OPCODES.binary,
          false,
          bytes.length,
        ]);
        expect(frame?.payload.equals(payload)).toBe(true);
        expect(frame?.size).toBe(payload.length + (payload.length < 126 ? 2 : payload.length < 0x10000 ? 4 : 10));
        expect(done.map(Boolean)).toEqual([false]); // called once, without an error
      }),
      { numRuns: 200 },
    );
  });
});
