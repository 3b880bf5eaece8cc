import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OPCODES } from '../../src/transport/constants.js';
import { FrameSender } from '../../src/transport/frame-sender.js';
import type { PerMessageDeflate } from '../../src/transport/permessage-deflate.js';

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
});
