import * as zlib from 'node:zlib';
import { Deque } from '../deque.js';
import { ProtocolError } from './errors.js';
import type { ExtensionOffer } from './header-lists.js';

/** Server-side permessage-deflate settings (RFC 7692). */
export interface PerMessageDeflateOptions {
  /** Messages smaller than this are sent uncompressed. @default 1024 */
  threshold?: number;
  /** Reset our compressor after every message (less memory, worse ratio). @default false */
  serverNoContextTakeover?: boolean;
  /** Ask clients to reset theirs after every message. @default false */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window we compress with, 8–15. @default 15 */
  serverMaxWindowBits?: number;
  /** Largest window we ask clients to compress with, 8–15, when they allow us to. @default unset */
  clientMaxWindowBits?: number;
  /** zlib jobs (compress or inflate one message) running at once in this server. @default 10 */
  concurrencyLimit?: number;
  /** zlib compression level, 0–9. @default 6 (zlib's default) */
  level?: number;
  /** zlib memLevel, 1–9. @default 8 */
  memLevel?: number;
}

export type ResolvedDeflateOptions = Required<Omit<PerMessageDeflateOptions, 'clientMaxWindowBits'>> & {
  clientMaxWindowBits: number | undefined;
};

/** What one connection agreed on. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

export const EXTENSION_NAME = 'permessage-deflate';
// RFC 7692 §7.2.1: a sync flush ends with this empty block; senders strip it, receivers append it.
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** An empty stored block (BFINAL 0, BTYPE 00, LEN 0, NLEN ffff) starting on a byte boundary. */
const EMPTY_STORED_BLOCK = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

function parseWindowBits(value: string | true, allowEmpty: boolean): number | null | 'empty' {
  if (value === true) return allowEmpty ? 'empty' : null;
  // RFC 7692 §7.1.2: 1*DIGIT without leading zeros, 8..15.
  if (value === '8' || value === '9') return Number(value);
  if (value.length === 2 && value[0] === '1' && value[1] !== undefined && value[1] >= '0' && value[1] <= '5') {
    return Number(value);
  }
  return null;
}

/**
 * RFC 7692 §5: accept the first offer we can honour; an offer with an unknown,
 * repeated or invalid parameter is declined, not answered with an error.
 * Returns the response header value and the agreed parameters, or null.
 */
export function negotiateDeflate(
  offers: ExtensionOffer[],
  options: ResolvedDeflateOptions,
): { response: string; params: DeflateParams } | null {
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME || offer.hasDuplicateParam) continue;
    let valid = true;
    let serverMaxWindowBits: number | undefined;
    let clientMaxWindowBits: number | 'empty' | undefined;
    let serverNoContextTakeover = options.serverNoContextTakeover;
    for (const [name, value] of offer.params) {
      if (name === 'server_no_context_takeover' && value === true) {
        serverNoContextTakeover = true;
      } else if (name === 'client_no_context_takeover' && value === true) {
        // A hint that the client will reset its context anyway; nothing to answer.
      } else if (name === 'server_max_window_bits') {
        const bits = parseWindowBits(value, false);
        if (typeof bits !== 'number') valid = false;
        else serverMaxWindowBits = bits;
      } else if (name === 'client_max_window_bits') {
        const bits = parseWindowBits(value, true);
        if (bits === null) valid = false;
        else clientMaxWindowBits = bits;
      } else {
        valid = false;
      }
    }
    if (!valid) continue;

    const response = [EXTENSION_NAME];
    if (serverNoContextTakeover) response.push('server_no_context_takeover');
    if (options.clientNoContextTakeover) response.push('client_no_context_takeover');

    // RFC 7692 §7.1.2.1: compress with a window no larger than the client allows.
    const serverBits = Math.min(options.serverMaxWindowBits, serverMaxWindowBits ?? 15);
    if (serverMaxWindowBits !== undefined || options.serverMaxWindowBits < 15) {
      response.push(`server_max_window_bits=${serverBits}`);
    }

    // RFC 7692 §7.1.2.2: only answer client_max_window_bits if the client offered it.
    let clientBits = 15;
    if (clientMaxWindowBits !== undefined) {
      const offered = clientMaxWindowBits === 'empty' ? 15 : clientMaxWindowBits;
      clientBits = Math.min(offered, options.clientMaxWindowBits ?? 15);
      if (options.clientMaxWindowBits !== undefined || clientMaxWindowBits !== 'empty') {
        response.push(`client_max_window_bits=${clientBits}`);
      }
    }

    return {
      response: response.join('; '),
      params: {
        serverNoContextTakeover,
        clientNoContextTakeover: options.clientNoContextTakeover,
        serverMaxWindowBits: serverBits,
        clientMaxWindowBits: clientBits,
      },
    };
  }
  return null;
}

/**
 * Bounds how many zlib jobs run at once (ws#1202: unbounded zlib use fragments memory).
 * A job must call `release` exactly once; extra calls are ignored.
 */
export class ZlibLimiter {
  #active = 0;
  readonly #waiting = new Deque<() => void>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  run(job: (release: () => void) => void): void {
    if (this.#active < this.#limit) this.#start(job);
    else this.#waiting.push(() => this.#start(job));
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  #start(job: (release: () => void) => void): void {
    this.#active++;
    let released = false;
    job(() => {
      if (released) return;
      released = true;
      this.#active--;
      this.#waiting.shift()?.();
    });
  }
}

type Callback<T> = (error: ProtocolError | Error | null, result?: T) => void;

/** A message's inflated pieces, and their total size checked against maxPayloadBytes. */
interface Inflated {
  chunks: Buffer[];
  bytes: number;
}

/** How a pass over a message went: inflated, or the stream it went to had already ended. */
type InflatePass = 'inflated' | 'stream had ended';

function corrupt(reason: string): ProtocolError {
  return new ProtocolError('INVALID_COMPRESSED_DATA', 1007, `invalid compressed data: ${reason}`);
}

/** `chunks` without their first `count` bytes. */
function skipBytes(chunks: readonly Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = count;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
    } else {
      rest.push(chunk.subarray(skip));
      skip = 0;
    }
  }
  return rest;
}

/**
 * What may follow a final block, trailer included: RFC 7692 §7.2.1 steps 2–3 append an
 * empty stored block and remove its 00 00 ff ff, leaving one 00 octet (the §7.2.3.4
 * example); a sender that skips step 2 leaves nothing. More data after a final block
 * would be a second DEFLATE stream in one message, which §7.2.1 allows: we refuse it
 * (1007) rather than set up a zlib stream for each of the thousands a message can hold,
 * or drop it silently as ws does within a frame.
 */
function isEmptyBlockTail(rest: readonly Buffer[]): boolean {
  let bytes = 0;
  for (const piece of rest) bytes += piece.length;
  if (bytes > EMPTY_STORED_BLOCK.length) return false;
  const tail = Buffer.concat(rest, bytes);
  return tail.equals(TRAILER) || tail.equals(EMPTY_STORED_BLOCK);
}

/** One connection's compressor and decompressor (RFC 7692 §7). */
export class PerMessageDeflate {
  readonly params: DeflateParams;
  readonly threshold: number;
  readonly #options: ResolvedDeflateOptions;
  readonly #limiter: ZlibLimiter;
  readonly #maxPayloadBytes: number;
  #deflate: zlib.DeflateRaw | undefined;
  #inflate: zlib.InflateRaw | undefined;
  #closed = false;
  readonly #releases = new Set<() => void>();
  readonly #compressQueue = new Deque<{ data: Buffer; callback: Callback<Buffer> }>();

  constructor(params: DeflateParams, options: ResolvedDeflateOptions, limiter: ZlibLimiter, maxPayloadBytes: number) {
    this.params = params;
    this.threshold = options.threshold;
    this.#options = options;
    this.#limiter = limiter;
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /**
   * Compresses one whole message; the result has the trailer stripped. Messages of one
   * connection share one compressor, so they are compressed one after another, in order.
   */
  compress(data: Buffer, callback: Callback<Buffer>): void {
    this.#compressQueue.push({ data, callback });
    if (this.#compressQueue.length === 1) this.#compressNext();
  }

  #compressNext(): void {
    const next = this.#compressQueue.peek();
    if (next === undefined) return;
    this.#compressOne(next.data, (error, result) => {
      this.#compressQueue.shift();
      next.callback(error, result);
      this.#compressNext();
    });
  }

  #compressOne(data: Buffer, callback: Callback<Buffer>): void {
    this.#job(callback, (done) => {
      this.#deflate ??= zlib.createDeflateRaw({
        // zlib has no 8-bit window for raw deflate and Node asks it for 9. That still
        // honours server_max_window_bits=8: zlib never reaches further back than the
        // window less 262 bytes (MAX_DIST), 250 bytes for a 9-bit window.
        windowBits: Math.max(9, this.params.serverMaxWindowBits),
        level: this.#options.level,
        memLevel: this.#options.memLevel,
      });
      const deflate = this.#deflate;
      const output: Buffer[] = [];
      let outputBytes = 0;
      let settled = false;
      const onData = (chunk: Buffer) => {
        output.push(chunk);
        outputBytes += chunk.length;
      };
      deflate.on('data', onData);
      deflate.once('error', (error) => {
        settled = true;
        this.#deflate = undefined;
        done(error);
      });
      deflate.write(data);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (settled) return;
        settled = true;
        deflate.off('data', onData);
        deflate.removeAllListeners('error');
        let compressed = Buffer.concat(output, outputBytes);
        if (compressed.length >= 4 && compressed.subarray(compressed.length - 4).equals(TRAILER)) {
          compressed = compressed.subarray(0, compressed.length - 4);
        }
        // RFC 7692 §7.2.3.6: an empty message may be sent as a single 0x00 byte.
        if (compressed.length === 0) compressed = Buffer.from([0x00]);
        // The connection may have closed (and freed the stream) while zlib worked.
        if (this.params.serverNoContextTakeover && !this.#closed) deflate.reset();
        done(null, compressed);
      });
    });
  }

  /**
   * Inflates one whole message (its compressed frames' payloads, in order). Stops at
   * `maxPayloadBytes` of output (1009) so a small bomb cannot expand without bound;
   * corrupt data is 1007.
   */
  decompress(parts: Buffer[], callback: Callback<Buffer[]>): void {
    this.#job(callback, (done) => {
      // RFC 7692 §7.2.2: append 00 00 ff ff to the payload, then inflate.
      const input = [...parts, TRAILER];
      const output: Inflated = { chunks: [], bytes: 0 };
      const afterPass = (error: ProtocolError | null, pass?: InflatePass) => {
        if (error) done(error);
        // A second pass uses a new stream, which always reads: it never comes back here.
        else if (pass === 'stream had ended') this.#inflateMessage(input, output, afterPass);
        else done(null, output.chunks);
      };
      this.#inflateMessage(input, output, afterPass);
    });
  }

  /** Feeds one message to the peer's DEFLATE stream, creating one if there is none. */
  #inflateMessage(
    input: Buffer[],
    output: Inflated,
    callback: (error: ProtocolError | null, pass?: InflatePass) => void,
  ): void {
    if (this.#closed) return; // #job has already released the slot
    const fresh = this.#inflate === undefined;
    this.#inflate ??= zlib.createInflateRaw({ windowBits: this.params.clientMaxWindowBits });
    const inflate = this.#inflate;
    const readBefore = inflate.bytesWritten;
    let inputBytes = 0;
    let settled = false;
    const settle = (error: ProtocolError | null, pass?: InflatePass) => {
      if (settled) return;
      settled = true;
      inflate.off('data', onData);
      inflate.removeAllListeners('error');
      // After an error the stream is unusable; the connection is failing anyway.
      if (error) this.#dropInflate(inflate);
      callback(error, pass);
    };
    const onData = (chunk: Buffer) => {
      output.bytes += chunk.length;
      if (output.bytes > this.#maxPayloadBytes) {
        settle(new ProtocolError('PAYLOAD_TOO_LARGE', 1009, `inflated message over ${this.#maxPayloadBytes} bytes`));
        return;
      }
      output.chunks.push(chunk);
    };
    inflate.on('data', onData);
    inflate.once('error', (error) => settle(corrupt(error.message)));
    for (const part of input) {
      inflate.write(part);
      inputBytes += part.length;
    }
    inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      if (settled) return;
      // zlib reads nothing past a block with BFINAL set; bytesWritten counts what it read.
      const readBytes = inflate.bytesWritten - readBefore;
      if (readBytes === inputBytes) {
        if (this.params.clientNoContextTakeover && !this.#closed) inflate.reset();
        settle(null, 'inflated');
        return;
      }
      // RFC 7692 §7.2.1: a sender may end a message's DEFLATE data with a final block
      // (§7.2.3.4). That ends its DEFLATE stream (RFC 1951 §3.2.3): the next message starts
      // a new one, with an empty window, with or without context takeover.
      this.#dropInflate(inflate);
      if (readBytes === 0 && !fresh) {
        // The final block ended exactly where the previous message did; zlib notices only now.
        settle(null, 'stream had ended');
      } else if (isEmptyBlockTail(skipBytes(input, readBytes))) {
        settle(null, 'inflated');
      } else {
        settle(corrupt('data after a final block (BFINAL) in the same message'));
      }
    });
  }

  #dropInflate(inflate: zlib.InflateRaw): void {
    inflate.close();
    if (this.#inflate === inflate) this.#inflate = undefined;
  }

  /** Frees zlib memory and any limiter slot still held; later jobs fail. */
  close(): void {
    this.#closed = true;
    for (const release of this.#releases) release();
    this.#releases.clear();
    this.#deflate?.close();
    this.#inflate?.close();
    this.#deflate = undefined;
    this.#inflate = undefined;
  }

  #job<T>(callback: Callback<T>, work: (done: Callback<T>) => void): void {
    this.#limiter.run((release) => {
      if (this.#closed) {
        release();
        callback(new Error('the connection is closed'));
        return;
      }
      this.#releases.add(release);
      work((error, result) => {
        this.#releases.delete(release);
        release();
        if (this.#closed) return;
        callback(error, result);
      });
    });
  }
}
