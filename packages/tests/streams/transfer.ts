import type { Client } from '@switchboard/client';
import { CHUNK_BYTES, checksum, type FileContract, fileSlice } from './files.js';

// The two ends of a file transfer as an app writes them, the same in Node and in the
// browser: a download read as a stream (progress from the bytes received), and an upload
// sent as keyed calls of one chunk each, at most `inFlight` at a time (progress from the
// calls answered). A cut loses nothing: the stream resumes from its last chunk, and the
// calls are re-sent with their keys, each run once.

export interface Progress {
  done: number;
  total: number;
}

/** Downloads file `seed` of `size` bytes; resolves to what arrived and its checksum. */
export async function download(
  client: Client<FileContract>,
  seed: number,
  size: number,
  onProgress: (progress: Progress) => void,
): Promise<{ bytes: number; sum: number; reported: { bytes: number; sum: number } }> {
  let bytes = 0;
  let sum = 0;
  const stream = client.stream('file.get', { seed, size }, { credit: 16, timeoutMs: 30_000 });
  for await (const chunk of stream) {
    sum = checksum(chunk, bytes, sum);
    bytes += chunk.byteLength;
    onProgress({ done: bytes, total: size });
  }
  return { bytes, sum, reported: await stream.result };
}

/**
 * Uploads file `seed` of `size` bytes (made a chunk at a time, as a file is read), with at
 * most `inFlight` chunks sent and not answered.
 */
export async function upload(
  client: Client<FileContract>,
  name: string,
  seed: number,
  size: number,
  onProgress: (progress: Progress) => void,
  inFlight = 4,
): Promise<{ bytes: number; sum: number; chunks: number }> {
  const count = Math.ceil(size / CHUNK_BYTES);
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const offset = index * CHUNK_BYTES;
      const bytes = fileSlice(seed, offset, Math.min(CHUNK_BYTES, size - offset));
      await client.call('file.put', { upload: name, index, bytes }, { timeoutMs: 60_000 });
      sent += bytes.byteLength;
      onProgress({ done: sent, total: size });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return client.call('file.done', { upload: name });
}
