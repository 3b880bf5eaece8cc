// The chunks every stream benchmark contender sends, by shape: the same values, the same zod
// schema, the same producer. A shape is a table entry: two JSON shapes (an AI-style token, a
// 1 KiB string) and two binary ones (16 KiB and 1 MiB Uint8Array chunks: Switchboard's binary
// messages beside socket.io's binary attachments, and tRPC's superjson number arrays).

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
  /** Default chunks of the warm-up stream before it. */
  defaultWarmup: number;
  /** Whether a chunk is a Uint8Array (its payload is its bytes, not JSON text). */
  binary: boolean;
  schema: z.ZodType<T>;
  /** Chunk `i` of a stream (from 0). */
  make(i: number): T;
  /** Whether `chunk` is chunk `i` (the receivers check every one). */
  check(chunk: unknown, i: number): boolean;
  /** Payload bytes of chunk `i`: its JSON text (its bytes, for a binary shape), the same for every contender. */
  payloadBytes(i: number): number;
}

/** `{ token: 'abc', i }`: a token of an AI-style answer, ~22 bytes of JSON. */
const small: Shape<SmallChunk> = {
  id: 'small',
  label: "{ token: 'abc', i }",
  defaultCount: 200_000,
  defaultWarmup: 20_000,
  binary: false,
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
  defaultWarmup: 20_000,
  binary: false,
  schema: KibChunk,
  make: (i) => String(i).padStart(8, '0') + KIB_FILLER,
  check: (chunk, i) => typeof chunk === 'string' && chunk.length === 1024 && Number(chunk.slice(0, 8)) === i,
  payloadBytes: () => 1024 + 2,
};

export const BytesChunk = z.instanceof(Uint8Array);

/**
 * `size` bytes, chunk `i`'s index in its first 4 (big-endian), then a fixed pattern. Each chunk
 * is a fresh copy of one template (a memcpy): a server may keep a chunk it sent (Switchboard keeps
 * the unacknowledged ones for a resume), so none is reused.
 */
function bytesShape(
  id: string,
  label: string,
  size: number,
  count: number,
  warmup: number,
): Shape<Uint8Array<ArrayBuffer>> {
  const template = new Uint8Array(size);
  for (let k = 4; k < size; k++) template[k] = k & 0xff;
  return {
    id,
    label,
    defaultCount: count,
    defaultWarmup: warmup,
    binary: true,
    schema: BytesChunk,
    make: (i) => {
      const chunk = template.slice();
      new DataView(chunk.buffer).setUint32(0, i);
      return chunk;
    },
    check: (chunk, i) =>
      chunk instanceof Uint8Array &&
      chunk.length === size &&
      new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(0) === i &&
      chunk[size - 1] === ((size - 1) & 0xff),
    payloadBytes: () => size,
  };
}

/** 16 KiB Uint8Array chunks: 4,096 of them (64 MiB) per measured stream. */
const bin16k = bytesShape('bin16k', '16 KiB Uint8Array', 16 * 1024, 4096, 512);
/** 1 MiB Uint8Array chunks: 128 of them (128 MiB) per measured stream. */
const bin1m = bytesShape('bin1m', '1 MiB Uint8Array', 1024 * 1024, 128, 16);

export const SHAPES = { small, kib, bin16k, bin1m } as const;
export type ShapeId = keyof typeof SHAPES;
export const SHAPE_IDS = Object.keys(SHAPES) as ShapeId[];

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

/** What the servers that take any shape by name (socket.io, thin) are asked: `{ shape, count }`. */
const ShapeRequest = StreamInput.extend({ shape: z.enum(SHAPE_IDS) });

/** One stream such a server makes: its shape, that shape's schema, how many chunks, and until when (performance.now()). */
export interface StreamPlan {
  shape: Shape<unknown>;
  schema: z.ZodType<unknown>;
  count: number;
  deadline: number;
}

/** The plan for a `{ shape, count }` request, or undefined for a malformed one. */
export function planStream(request: unknown): StreamPlan | undefined {
  const parsed = ShapeRequest.safeParse(request);
  if (!parsed.success) return undefined;
  const shape = SHAPES[parsed.data.shape] as Shape<unknown>;
  return {
    shape,
    schema: shape.schema,
    count: Math.min(parsed.data.count, MAX_CHUNKS),
    deadline: performance.now() + MAX_STREAM_MS,
  };
}
