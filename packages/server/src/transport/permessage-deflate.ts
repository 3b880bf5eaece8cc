import * as zlib from 'node:zlib';
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
  readonly #waiting: Array<() => void> = [];
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
  readonly #compressQueue: Array<{ data: Buffer; callback: Callback<Buffer> }> = [];

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
    const next = this.#compressQueue[0];
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
      this.#inflate ??= zlib.createInflateRaw({ windowBits: this.params.clientMaxWindowBits });
      const inflate = this.#inflate;
      const output: Buffer[] = [];
      let outputBytes = 0;
      let finished = false;
      const finish = (error: ProtocolError | null) => {
        if (finished) return;
        finished = true;
        inflate.off('data', onData);
        inflate.removeAllListeners('error');
        if (error) {
          // The stream is unusable now; the connection is failing anyway.
          inflate.close();
          this.#inflate = undefined;
          done(error);
          return;
        }
        if (this.params.clientNoContextTakeover && !this.#closed) inflate.reset();
        done(null, output);
      };
      const onData = (chunk: Buffer) => {
        outputBytes += chunk.length;
        if (outputBytes > this.#maxPayloadBytes) {
          finish(new ProtocolError('PAYLOAD_TOO_LARGE', 1009, `inflated message over ${this.#maxPayloadBytes} bytes`));
          return;
        }
        output.push(chunk);
      };
      inflate.on('data', onData);
      inflate.once('error', (error) =>
        finish(new ProtocolError('INVALID_COMPRESSED_DATA', 1007, `invalid compressed data: ${error.message}`)),
      );
      for (const part of parts) inflate.write(part);
      inflate.write(TRAILER);
      inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => finish(null));
    });
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
