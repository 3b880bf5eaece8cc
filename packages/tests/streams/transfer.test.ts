import { createTestPair, type TestPair } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { heapUsedAfterGc } from '../support/heap.js';
import { fileRouter, Uploads } from './file-router.js';
import { type FileContract, fileChecksum } from './files.js';
import { download, type Progress, upload } from './transfer.js';

// 50 MiB down and up through the client in Node, cut twice on the way, memory bounded.

const SIZE = 50 * 1024 * 1024;
const MiB = 2 ** 20;

let pair: TestPair<FileContract, undefined> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** Live memory after a full collection: the heap, and the array buffers where byte values live. */
function liveBytes(): number {
  return heapUsedAfterGc() + process.memoryUsage().arrayBuffers;
}

async function open(uploads: Uploads) {
  pair = await createTestPair({
    router: fileRouter(uploads),
    clock: false,
    client: { reconnect: { initialDelayMs: 1, maxDelayMs: 5 }, queue: { maxBytes: 4 * MiB } },
  });
  return pair;
}

/** Cuts the link once at each of `at` (fractions of the transfer) and counts the progress reports. */
function cutting(p: TestPair<FileContract, undefined>, at: number[]) {
  const cuts: number[] = [];
  let reports = 0;
  let last = 0;
  let peak = 0;
  let monotonic = true;
  const onProgress = ({ done, total }: Progress) => {
    reports++;
    if (done < last) monotonic = false;
    last = done;
    if (reports % 25 === 0) peak = Math.max(peak, liveBytes());
    const due = at[cuts.length];
    if (due !== undefined && done >= total * due && p.client.state === 'open') {
      cuts.push(done);
      p.link.cut();
      // Restored on the next turn: the client finds the link down, then reconnects.
      setImmediate(() => p.link.restore());
    }
  };
  return { onProgress, cuts, stats: () => ({ reports, monotonic, peak }) };
}

describe('a 50 MiB file through the client in Node', () => {
  it('downloads as a stream of 256 KiB chunks through two cuts: every byte once, memory bounded', async () => {
    const p = await open(new Uploads());
    const before = liveBytes();
    const watch = cutting(p, [0.3, 0.7]);
    const got = await download(p.client, 42, SIZE, watch.onProgress);
    const { reports, monotonic, peak } = watch.stats();
    console.log(
      `[streams] download 50 MiB: ${got.bytes} bytes, ${reports} progress reports, cuts at ${watch.cuts.map((b) => (b / MiB).toFixed(1)).join(', ')} MiB, ` +
        `memory peak ${((peak - before) / MiB).toFixed(1)} MiB above the start`,
    );
    expect(watch.cuts).toHaveLength(2);
    expect(got.bytes).toBe(SIZE);
    expect(got.sum).toBe(fileChecksum(42, SIZE));
    expect(got.reported).toEqual({ bytes: SIZE, sum: got.sum });
    expect(monotonic).toBe(true);
    // Never the whole file (50 MiB): the window (16 chunks = 4 MiB) on each end, and what is in flight.
    expect(peak - before).toBeLessThan(16 * MiB);
  });

  it('uploads as keyed calls of 256 KiB through two cuts: every chunk taken once, memory bounded', async () => {
    const uploads = new Uploads();
    const p = await open(uploads);
    const before = liveBytes();
    const watch = cutting(p, [0.3, 0.7]);
    const done = await upload(p.client, 'u1', 7, SIZE, watch.onProgress);
    const { reports, monotonic, peak } = watch.stats();
    console.log(
      `[streams] upload 50 MiB: ${done.bytes} bytes in ${done.chunks} chunks, ${reports} progress reports, ` +
        `repeats ${uploads.repeats}, memory peak ${((peak - before) / MiB).toFixed(1)} MiB above the start`,
    );
    expect(watch.cuts).toHaveLength(2);
    expect(done).toEqual({ bytes: SIZE, sum: fileChecksum(7, SIZE), chunks: 200 });
    expect(uploads.repeats).toBe(0);
    expect(monotonic).toBe(true);
    expect(peak - before).toBeLessThan(16 * MiB);
  });
});
