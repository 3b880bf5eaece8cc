import { defineContract, procedure, stream } from '@switchboard/contract';
import { z } from 'zod';

// A file service of the transfer tests, in Node and in Chromium: `file.get` streams a file
// made on the fly in 256 KiB chunks; `file.put` takes one chunk of an upload (a keyed call
// each, so a chunk re-sent after a cut is taken once); `file.done` says what arrived.
// Neither end holds a whole file: both check it with a position-weighted checksum, which
// each chunk adds to on its own (in any order).

export const CHUNK_BYTES = 256 * 1024;

/** The byte at `position` of file `seed`. */
export function byteAt(seed: number, position: number): number {
  return (Math.imul(position + seed, 2654435761) >>> 24) & 0xff;
}

/** Bytes `offset` to `offset + length` of file `seed`. */
export function fileSlice(seed: number, offset: number, length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = byteAt(seed, offset + i);
  return bytes;
}

/** What `bytes`, found at `offset` of a file, add to its checksum (mod 2^32). */
export function checksum(bytes: Uint8Array, offset: number, sum = 0): number {
  let total = sum;
  for (let i = 0; i < bytes.length; i++) total = (total + (bytes[i] as number) * (((offset + i) % 65521) + 1)) >>> 0;
  return total;
}

/** The checksum of file `seed` of `size` bytes, made a chunk at a time. */
export function fileChecksum(seed: number, size: number): number {
  let sum = 0;
  for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
    sum = checksum(fileSlice(seed, offset, Math.min(CHUNK_BYTES, size - offset)), offset, sum);
  }
  return sum;
}

export const fileContract = defineContract({
  procedures: {
    'file.get': procedure({
      input: z.object({ seed: z.number().int(), size: z.number().int().min(0) }),
      output: stream(z.instanceof(Uint8Array), { result: z.object({ bytes: z.number(), sum: z.number() }) }),
    }),
    'file.put': procedure({
      input: z.object({ upload: z.string().max(64), index: z.number().int().min(0), bytes: z.instanceof(Uint8Array) }),
      output: z.object({ received: z.number() }),
    }),
    'file.done': procedure({
      input: z.object({ upload: z.string().max(64) }),
      output: z.object({ bytes: z.number(), sum: z.number(), chunks: z.number() }),
    }),
  },
});
export type FileContract = typeof fileContract;
