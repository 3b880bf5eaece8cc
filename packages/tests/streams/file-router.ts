import { defineRouter } from '@switchboard/server';
import { CHUNK_BYTES, checksum, fileContract, fileSlice } from './files.js';

// The server side of the file service (files.ts): what it keeps of uploads, and its router.

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
