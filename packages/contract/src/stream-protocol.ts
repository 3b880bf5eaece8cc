import { MAX_NAME_LENGTH } from './contract.js';
import { RpcError } from './errors.js';
import type { RequestId } from './protocol.js';

// The envelopes of streaming procedures (docs/protocol.md, "Streams"), apart from the rest
// of protocol v1 so that each file stays about one thing. readClientEnvelope hands `stream`
// and `credit` here.

/**
 * Starts streaming procedure `name`, or resumes it after a reconnect: `key` names the run
 * (a re-send with the same key never runs the handler again) and `after` is the last chunk
 * the client has. Answered by `chunk`s, then one `end` or `error`.
 */
export interface StreamEnvelope {
  /** The envelope kind. */
  type: 'stream';
  /** Chosen by the client; its chunks and end carry it. */
  id: RequestId;
  /** The procedure's name in the contract. */
  name: string;
  /** The procedure's input, as superjson's `json` part. */
  input?: unknown;
  /** superjson meta for `input`, when it holds more than plain JSON. */
  meta?: unknown;
  /** Idempotency key of the run: the same on every re-send. */
  key: string;
  /** Resume: the client has every chunk up to this `seq`; the server sends those after it. Absent: 0. */
  after?: number;
  /** Chunks the client takes now, after `after`: the server produces no more until `credit` grants them. */
  credit: number;
}

/**
 * The client read chunks of stream `id`: it takes `n` more, and it has every chunk up to
 * `read` (the server may forget them).
 */
export interface CreditEnvelope {
  /** The envelope kind. */
  type: 'credit';
  /** The stream's id. */
  id: RequestId;
  /** Chunks granted, on top of those granted before. */
  n: number;
  /** The client has every chunk up to this `seq`. */
  read: number;
}

/** One chunk of stream `id`; `seq` rises by one per chunk of the run, from 1. */
export interface ChunkEnvelope {
  /** The envelope kind. */
  type: 'chunk';
  /** The stream's id. */
  id: RequestId;
  /** The chunk's place in the run: 1, 2, 3 … */
  seq: number;
  /** The chunk, as superjson's `json` part. */
  data?: unknown;
  /** superjson meta for `data`, when it holds more than plain JSON. */
  meta?: unknown;
}

/** Stream `id` ended: its handler returned after chunk `seq` (0: none); `output` is its result. */
export interface EndEnvelope {
  /** The envelope kind. */
  type: 'end';
  /** The stream's id. */
  id: RequestId;
  /** The last chunk's seq (0 when there was none): the client checks it has them all. */
  seq: number;
  /** The handler's return value, as superjson's `json` part (streams that declare a result). */
  output?: unknown;
  /** superjson meta for `output`, when it holds more than plain JSON. */
  meta?: unknown;
}

/** What STREAM_LOST's `data` says: the chunks after `after` cannot be sent, and why. */
export interface StreamLostData {
  /** `expired`: nobody resumed it within the server's streamIdleMs, or it was released; `process`: the process running it is gone. */
  reason: 'expired' | 'process';
  /** The last chunk the client had. */
  after: number;
}

/** Longest idempotency key of a stream (as of a call). */
const MAX_KEY_LENGTH = 128;

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Checks a `stream` envelope's fields; returns it or the error to answer with. */
export function readStreamEnvelope(message: Record<string, unknown>, id: RequestId): StreamEnvelope | RpcError {
  const { name, key, after, credit } = message;
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH) {
    return new RpcError('BAD_REQUEST', 'missing or invalid procedure name');
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    return new RpcError('BAD_REQUEST', `key must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (after !== undefined && !isCount(after))
    return new RpcError('BAD_REQUEST', 'after must be a non-negative integer');
  if (!isCount(credit)) return new RpcError('BAD_REQUEST', 'credit must be a non-negative integer');
  const envelope: StreamEnvelope = { type: 'stream', id, name, input: message.input, key, credit };
  if (message.meta !== undefined) envelope.meta = message.meta;
  if (after !== undefined) envelope.after = after;
  return envelope;
}

/** Checks a `credit` envelope's fields; returns it or the error to answer with. */
export function readCreditEnvelope(message: Record<string, unknown>, id: RequestId): CreditEnvelope | RpcError {
  const { n, read } = message;
  if (!isCount(n)) return new RpcError('BAD_REQUEST', 'n must be a non-negative integer');
  if (!isCount(read)) return new RpcError('BAD_REQUEST', 'read must be a non-negative integer');
  return { type: 'credit', id, n, read };
}
