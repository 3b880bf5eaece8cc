// The chunks every stream benchmark contender sends, by shape: the same values, the same zod
// schema, the same producer. A shape is a table entry; the binary shapes of issue 15 (16 KiB and
// 1 MiB Uint8Array chunks beside socket.io's binary attachments) are listed but blocked until
// bytes travel as bytes (see BLOCKED_SHAPES and bench/README.md, "bench/streams").

import { z } from 'zod';

/** At most this many chunks per stream, whatever the client asks: every producer loop is bounded in count. */
export const MAX_CHUNKS = 10_000_000;
/** A producer stops after this long, finished or not: every producer loop is bounded in time. */
export const MAX_STREAM_MS = 120_000;

const KIB_FILLER = 'abcdefghijklmnopqrstuvwxyz'.repeat(40).slice(0, 1024 - 8);

export const SmallChunk = z.object({ token: z.string(), i: z.number() });
export type SmallChunk = z.infer<typeof SmallChunk>;
export const KibChunk = z.string().length(1024);

export interface Shape<T> {
  id: string;
  label: string;
  /** Default chunks per measured stream. */
  defaultCount: number;
  schema: z.ZodType<T>;
  /** Chunk `i` of a stream (from 0). */
  make(i: number): T;
  /** Whether `chunk` is chunk `i` (the receivers check every one). */
  check(chunk: unknown, i: number): boolean;
  /** Payload bytes of chunk `i`: its JSON text, the same for every contender. */
  payloadBytes(i: number): number;
}

/** `{ token: 'abc', i }`: a token of an AI-style answer, ~22 bytes of JSON. */
const small: Shape<SmallChunk> = {
  id: 'small',
  label: "{ token: 'abc', i }",
  defaultCount: 200_000,
  schema: SmallChunk,
  make: (i) => ({ token: 'abc', i }),
  check: (chunk, i) => (chunk as SmallChunk | undefined)?.i === i,
  payloadBytes: (i) => `{"token":"abc","i":${i}}`.length,
};

/** A 1 KiB string whose first 8 characters are `i`, zero-padded. */
const kib: Shape<string> = {
  id: 'kib',
  label: '1 KiB string',
  defaultCount: 50_000,
  schema: KibChunk,
  make: (i) => String(i).padStart(8, '0') + KIB_FILLER,
  check: (chunk, i) => typeof chunk === 'string' && chunk.length === 1024 && Number(chunk.slice(0, 8)) === i,
  payloadBytes: () => 1024 + 2,
};

export const SHAPES = { small, kib } as const;
export type ShapeId = keyof typeof SHAPES;
export const SHAPE_IDS = Object.keys(SHAPES) as ShapeId[];

/** Shapes the issue asks for that cannot run yet, and why. */
export const BLOCKED_SHAPES: Record<string, string> = {
  bin16k: '16 KiB Uint8Array chunks: needs bytes as bytes (binary frames), on a parallel branch',
  bin1m: '1 MiB Uint8Array chunks: needs bytes as bytes (binary frames), on a parallel branch',
};

/** Payload bytes of a whole stream of `count` chunks. */
export function streamPayloadBytes(shape: ShapeId, count: number): number {
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += SHAPES[shape].payloadBytes(i);
  return bytes;
}

/**
 * The producer the generator-based servers share: chunk 0 … count - 1, each through `check` (the
 * schema, for servers whose framework does not check chunks), until `signal` aborts or
 * MAX_STREAM_MS passes. Returns how many it made. Handlers return it as it is (no `yield*`, which
 * would add a generator per chunk to the path being measured).
 */
export async function* produce<T>(
  shape: Shape<T>,
  count: number,
  signal: AbortSignal | undefined,
  check?: (chunk: T) => T,
): AsyncGenerator<T, { count: number }> {
  const n = Math.min(count, MAX_CHUNKS);
  const deadline = performance.now() + MAX_STREAM_MS;
  let i = 0;
  for (; i < n; i++) {
    if ((i & 1023) === 0 && (signal?.aborted || performance.now() > deadline)) break;
    const chunk = shape.make(i);
    yield check ? check(chunk) : chunk;
  }
  return { count: i };
}

export const StreamInput = z.object({ count: z.number().int().min(0).max(MAX_CHUNKS) });
export const StreamResult = z.object({ count: z.number() });
