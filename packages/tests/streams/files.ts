import { defineContract, procedure, stream } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
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

/** What the server keeps of each upload: per chunk, its size and what it adds to the checksum (never its bytes). */
export class Uploads {
  readonly #uploads = new Map<string, Map<number, { bytes: number; sum: number }>>();
  /** Chunks handed to `file.put` twice (a re-sent call run again): must stay 0. */
  repeats = 0;

  put(upload: string, index: number, bytes: Uint8Array): number {
    let chunks = this.#uploads.get(upload);
    if (chunks === undefined) {
      chunks = new Map();
      this.#uploads.set(upload, chunks);
    }
    if (chunks.has(index)) this.repeats++;
    chunks.set(index, { bytes: bytes.length, sum: checksum(bytes, index * CHUNK_BYTES) });
    let received = 0;
    for (const chunk of chunks.values()) received += chunk.bytes;
    return received;
  }

  done(upload: string): { bytes: number; sum: number; chunks: number } {
    let bytes = 0;
    let sum = 0;
    const chunks = this.#uploads.get(upload) ?? new Map<number, { bytes: number; sum: number }>();
    for (const chunk of chunks.values()) {
      bytes += chunk.bytes;
      sum = (sum + chunk.sum) >>> 0;
    }
    return { bytes, sum, chunks: chunks.size };
  }
}

export function fileRouter(uploads: Uploads) {
  return defineRouter(fileContract, {
    procedures: {
      'file.get': async function* ({ input }) {
        let sum = 0;
        for (let offset = 0; offset < input.size; offset += CHUNK_BYTES) {
          const chunk = fileSlice(input.seed, offset, Math.min(CHUNK_BYTES, input.size - offset));
          sum = checksum(chunk, offset, sum);
          yield chunk;
        }
        return { bytes: input.size, sum };
      },
      'file.put': ({ input }) => ({ received: uploads.put(input.upload, input.index, input.bytes) }),
      'file.done': ({ input }) => uploads.done(input.upload),
    },
  });
}
