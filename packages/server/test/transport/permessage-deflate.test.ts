import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/transport/errors.js';
import { parseExtensionList } from '../../src/transport/header-lists.js';
import { resolveOptions } from '../../src/transport/options.js';
import {
  type DeflateParams,
  negotiateDeflate,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
  ZlibLimiter,
} from '../../src/transport/permessage-deflate.js';
import { until } from './helpers.js';

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Inflates one server message on its own, as a client with a fresh context would. */
const inflateAlone = (compressed: Buffer): Buffer =>
  zlib.inflateRawSync(Buffer.concat([compressed, TRAILER]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });

function options(input: PerMessageDeflateOptions = {}): ResolvedDeflateOptions {
  const resolved = resolveOptions({ noServer: true, perMessageDeflate: input }).deflate;
  if (resolved === undefined) throw new Error('deflate options did not resolve');
  return resolved;
}

function offers(header: string) {
  const parsed = parseExtensionList(header);
  if (parsed === null) throw new Error(`unparsable offer ${header}`);
  return parsed;
}

const negotiate = (header: string, input: PerMessageDeflateOptions = {}) =>
  negotiateDeflate(offers(header), options(input));

const PARAMS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

describe('negotiateDeflate', () => {
  it('accepts a plain offer with the default parameters', () => {
    expect(negotiate('permessage-deflate')).toEqual({ response: 'permessage-deflate', params: PARAMS });
  });

  it('answers server_no_context_takeover when the client asks for it', () => {
    expect(negotiate('permessage-deflate; server_no_context_takeover')).toEqual({
      response: 'permessage-deflate; server_no_context_takeover',
      params: { ...PARAMS, serverNoContextTakeover: true },
    });
  });

  it('answers server_no_context_takeover when the server is configured with it', () => {
    expect(negotiate('permessage-deflate', { serverNoContextTakeover: true })?.response).toBe(
      'permessage-deflate; server_no_context_takeover',
    );
  });

  it('accepts client_no_context_takeover from the client without answering it', () => {
    expect(negotiate('permessage-deflate; client_no_context_takeover')).toEqual({
      response: 'permessage-deflate',
      params: PARAMS,
    });
  });

  it('asks the client for client_no_context_takeover when configured to', () => {
    expect(negotiate('permessage-deflate', { clientNoContextTakeover: true })).toEqual({
      response: 'permessage-deflate; client_no_context_takeover',
      params: { ...PARAMS, clientNoContextTakeover: true },
    });
  });

  it.each([8, 9, 10, 11, 12, 13, 14, 15])('compresses with the %i-bit window the client asks for', (bits) => {
    expect(negotiate(`permessage-deflate; server_max_window_bits=${bits}`)).toEqual({
      response: `permessage-deflate; server_max_window_bits=${bits}`,
      params: { ...PARAMS, serverMaxWindowBits: bits },
    });
  });

  it('uses the smaller of the configured and the offered server window', () => {
    expect(
      negotiate('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 })?.params
        .serverMaxWindowBits,
    ).toBe(10);
    expect(
      negotiate('permessage-deflate; server_max_window_bits=9', { serverMaxWindowBits: 10 })?.params
        .serverMaxWindowBits,
    ).toBe(9);
    expect(negotiate('permessage-deflate', { serverMaxWindowBits: 10 })?.response).toBe(
      'permessage-deflate; server_max_window_bits=10',
    );
  });

  it('accepts client_max_window_bits without a value and does not answer it unless configured', () => {
    expect(negotiate('permessage-deflate; client_max_window_bits')).toEqual({
      response: 'permessage-deflate',
      params: PARAMS,
    });
    expect(negotiate('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 })).toEqual({
      response: 'permessage-deflate; client_max_window_bits=10',
      params: { ...PARAMS, clientMaxWindowBits: 10 },
    });
  });

  it('inflates with the window the client promised in client_max_window_bits=N', () => {
    expect(negotiate('permessage-deflate; client_max_window_bits=12')).toEqual({
      response: 'permessage-deflate; client_max_window_bits=12',
      params: { ...PARAMS, clientMaxWindowBits: 12 },
    });
    expect(
      negotiate('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 9 })?.params
        .clientMaxWindowBits,
    ).toBe(9);
  });

  it('never sends client_max_window_bits to a client that did not offer it', () => {
    expect(negotiate('permessage-deflate', { clientMaxWindowBits: 10 })).toEqual({
      response: 'permessage-deflate',
      params: PARAMS,
    });
  });

  it('treats a quoted value like the same token (RFC 6455 §9.1)', () => {
    expect(negotiate('permessage-deflate; server_max_window_bits="10"')?.params.serverMaxWindowBits).toBe(10);
  });

  it.each([
    'server_max_window_bits=7',
    'server_max_window_bits=16',
    'server_max_window_bits=010',
    'server_max_window_bits=09',
    'server_max_window_bits=1e1',
    'server_max_window_bits="7"',
    'server_max_window_bits="16"',
    'server_max_window_bits',
    'client_max_window_bits=7',
    'client_max_window_bits=16',
    'client_max_window_bits=010',
    'client_max_window_bits="16"',
    'server_no_context_takeover=1',
    'client_no_context_takeover="x"',
    'unknown_param',
    'x=1',
    '__proto__',
    'constructor=1',
  ])('declines an offer with %s and accepts the plain offer after it', (param) => {
    expect(negotiate(`permessage-deflate; ${param}`)).toBeNull();
    expect(negotiate(`permessage-deflate; ${param}, permessage-deflate`)).toEqual({
      response: 'permessage-deflate',
      params: PARAMS,
    });
  });

  it.each([
    'server_no_context_takeover; server_no_context_takeover',
    'client_max_window_bits; client_max_window_bits=10',
    'server_max_window_bits=10; server_max_window_bits=10',
  ])('declines an offer with a repeated parameter (%s)', (params) => {
    expect(negotiate(`permessage-deflate; ${params}`)).toBeNull();
    expect(negotiate(`permessage-deflate; ${params}, permessage-deflate; client_max_window_bits`)?.response).toBe(
      'permessage-deflate',
    );
  });

  it('ignores other extensions', () => {
    expect(negotiate('x-webkit-deflate-frame')).toBeNull();
    expect(negotiate('x-webkit-deflate-frame, permessage-deflate')?.response).toBe('permessage-deflate');
    expect(negotiateDeflate([], options())).toBeNull();
  });
});

// ── compress / decompress ─────────────────────────────────────────────────────

function compress(deflate: PerMessageDeflate, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    deflate.compress(data, (error, result) => (error || !result ? reject(error) : resolve(result))),
  );
}

function decompress(deflate: PerMessageDeflate, parts: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    deflate.decompress(parts, (error, result) => (error || !result ? reject(error) : resolve(Buffer.concat(result)))),
  );
}

function make(params: Partial<DeflateParams> = {}, maxPayloadBytes = 1 << 20, limiter = new ZlibLimiter(10)) {
  return new PerMessageDeflate({ ...PARAMS, ...params }, options(), limiter, maxPayloadBytes);
}

/** What a client sends: raw deflate, sync-flushed, with the 00 00 ff ff trailer stripped. */
function clientCompress(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(out.subarray(-4).equals(TRAILER)).toBe(true);
  return out.subarray(0, -4);
}

const text = (n: number, seed = 1): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => `word${(i * 7919 + seed) % 1000} `).join('')).subarray(0, n);

describe('PerMessageDeflate: compress and decompress', () => {
  it('round-trips messages with context takeover, the repeat compressing much smaller', async () => {
    const server = make();
    const client = make();
    const message = text(20_000);
    const first = await compress(server, message);
    const second = await compress(server, message);
    expect(second.length).toBeLessThan(first.length / 4);
    expect((await decompress(client, [first])).equals(message)).toBe(true);
    expect((await decompress(client, [second])).equals(message)).toBe(true);
  });

  it('keeps every back-reference within 256 bytes when the client asks for server_max_window_bits=8', async () => {
    const server = make({ serverMaxWindowBits: 8 });
    // A client with an 8-bit window and context takeover, fed one message at a time.
    const inflater = zlib.createInflateRaw({ windowBits: 8 });
    const inflateNext = (compressed: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        const out: Buffer[] = [];
        const onData = (chunk: Buffer) => out.push(chunk);
        inflater.on('data', onData);
        inflater.once('error', reject);
        inflater.write(Buffer.concat([compressed, TRAILER]));
        inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          inflater.off('data', onData);
          inflater.off('error', reject);
          resolve(Buffer.concat(out));
        });
      });
    // Repeats 300–500 bytes back, within a message and across messages.
    const block = Buffer.from(Array.from({ length: 400 }, (_, i) => (i * 7919) % 251));
    for (let round = 0; round < 20; round++) {
      const message = Buffer.concat([block.subarray(round * 3), block, block.subarray(0, 100 + round)]);
      expect((await inflateNext(await compress(server, message))).equals(message)).toBe(true);
    }
    inflater.close();
  });

  it('compresses each message on its own with server_no_context_takeover', async () => {
    const server = make({ serverNoContextTakeover: true });
    const message = text(20_000);
    const first = await compress(server, message);
    const second = await compress(server, message);
    expect(second.equals(first)).toBe(true);
    // Each inflates alone, with a fresh context.
    expect(inflateAlone(second).equals(message)).toBe(true);
  });

  it('strips the 00 00 ff ff trailer from what it sends', async () => {
    const compressed = await compress(make(), Buffer.from('hello hello hello'));
    expect(compressed.subarray(-4).equals(TRAILER)).toBe(false);
    expect(inflateAlone(compressed).toString()).toBe('hello hello hello');
  });

  it('sends an empty message as one 00 byte and inflates it back to nothing', async () => {
    const compressed = await compress(make(), Buffer.alloc(0));
    expect(compressed.length).toBeGreaterThan(0);
    expect((await decompress(make(), [compressed])).length).toBe(0);
    expect((await decompress(make(), [Buffer.from([0x00])])).length).toBe(0);
  });

  it('compresses two messages requested in the same tick into two separate messages', async () => {
    const server = make();
    const client = make();
    const a = Buffer.from('A'.repeat(2000));
    const b = Buffer.from('B'.repeat(2000));
    const [first, second] = await Promise.all([compress(server, a), compress(server, b)]);
    const summary = (data: Buffer) => `${data.length} bytes: ${data.subarray(0, 1)}..${data.subarray(-1)}`;
    expect(summary(await decompress(client, [first]))).toBe('2000 bytes: A..A');
    expect(summary(await decompress(client, [second]))).toBe('2000 bytes: B..B');
  });

  it('inflates client messages that refer back to earlier messages (context takeover)', async () => {
    const deflate = zlib.createDeflateRaw();
    const flush = (data: Buffer): Promise<Buffer> =>
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        const onData = (chunk: Buffer) => chunks.push(chunk);
        deflate.on('data', onData);
        deflate.write(data);
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          deflate.off('data', onData);
          resolve(Buffer.concat(chunks).subarray(0, -4));
        });
      });
    const message = text(5_000);
    const first = await flush(message);
    const second = await flush(message);
    deflate.close();
    expect(second.length).toBeLessThan(first.length / 4);
    const server = make();
    expect((await decompress(server, [first])).equals(message)).toBe(true);
    expect((await decompress(server, [second])).equals(message)).toBe(true);
  });

  it('inflates messages from a client that resets its context (client_no_context_takeover)', async () => {
    const server = make({ clientNoContextTakeover: true });
    for (const message of [text(3000, 1), text(3000, 2), text(3000, 1)]) {
      expect((await decompress(server, [clientCompress(message)])).equals(message)).toBe(true);
    }
  });

  it('inflates a message split into several frames', async () => {
    const message = text(10_000);
    const compressed = clientCompress(message);
    const parts = [compressed.subarray(0, 3), compressed.subarray(3, 100), compressed.subarray(100)];
    expect((await decompress(make(), parts)).equals(message)).toBe(true);
  });

  it('inflates a message of exactly maxPayloadBytes', async () => {
    const message = text(50_000);
    expect((await decompress(make({}, 50_000), [clientCompress(message)])).length).toBe(50_000);
  });

  it('refuses a 1 KiB deflate bomb that inflates past maxPayloadBytes with 1009', async () => {
    const bomb = clientCompress(Buffer.alloc(1 << 20));
    expect(bomb.length).toBeLessThan(1500);
    const error = await decompress(make({}, 64 * 1024), [bomb]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', closeCode: 1009 });
  });

  it('refuses a message one byte over maxPayloadBytes once inflated', async () => {
    const error = await decompress(make({}, 49_999), [clientCompress(text(50_000))]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', closeCode: 1009 });
  });

  it.each([
    // Corruptions of clientCompress('abcabcabcabcabcabc') = 4a 4c 4a 4e 44 45 00 00.
    ['a reserved block type', Buffer.from('ff4c4a4e44450000', 'hex')],
    ['a stored block whose length check fails', Buffer.from('004c4a4e44450000', 'hex')],
    ['a distance too far back', Buffer.from('4a004a4e44450000', 'hex')],
    ['an invalid distance code', Buffer.from('4a4c4a4e44ff0000', 'hex')],
  ])('refuses %s as corrupt data with 1007, calling back once', async (_name, data) => {
    const calls: Array<Error | null> = [];
    make().decompress([data], (error) => calls.push(error));
    await until(() => calls.length > 0, 'the callback');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeInstanceOf(ProtocolError);
    expect(calls[0]).toMatchObject({ code: 'INVALID_COMPRESSED_DATA', closeCode: 1007 });
  });
});

describe('ZlibLimiter', () => {
  it('never runs more jobs than its limit and starts queued ones as slots free up', () => {
    const limiter = new ZlibLimiter(2);
    const releases: Array<() => void> = [];
    let running = 0;
    let most = 0;
    for (let i = 0; i < 5; i++) {
      limiter.run((release) => {
        running++;
        most = Math.max(most, running);
        releases.push(() => {
          running--;
          release();
        });
      });
    }
    expect(limiter.active).toBe(2);
    expect(limiter.queued).toBe(3);
    while (releases.length > 0) releases.shift()?.();
    expect(most).toBe(2);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('ignores a second release of the same slot', () => {
    const limiter = new ZlibLimiter(1);
    let first: (() => void) | undefined;
    limiter.run((release) => {
      first = release;
    });
    const started: number[] = [];
    limiter.run(() => started.push(2));
    limiter.run(() => started.push(3));
    first?.();
    first?.();
    expect(started).toEqual([2]);
    expect(limiter.active).toBe(1);
    expect(limiter.queued).toBe(1);
  });

  it('keeps zlib jobs of many connections within the limit', async () => {
    const limiter = new ZlibLimiter(3);
    const connections = Array.from({ length: 8 }, () => make({}, 1 << 20, limiter));
    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, limiter.active);
    }, 0);
    const jobs = connections.map(async (connection, i) => {
      most = Math.max(most, limiter.active);
      const compressed = await compress(connection, text(200_000, i));
      most = Math.max(most, limiter.active);
      return compressed;
    });
    expect(limiter.active).toBe(3);
    expect(limiter.queued).toBe(5);
    await Promise.all(jobs);
    clearInterval(sample);
    expect(most).toBeLessThanOrEqual(3);
    expect(limiter.active).toBe(0);
  });

  it('releases the slots of a connection that closes mid-job, so queued connections proceed', async () => {
    const limiter = new ZlibLimiter(1);
    const closing = make({}, 1 << 20, limiter);
    const waiting = make({}, 1 << 20, limiter);
    let closingCalledBack = false;
    closing.compress(text(500_000), () => {
      closingCalledBack = true;
    });
    const result = compress(waiting, Buffer.from('still served'));
    expect(limiter.active).toBe(1);
    expect(limiter.queued).toBe(1);
    closing.close();
    const compressed = await result;
    expect(inflateAlone(compressed).toString()).toBe('still served');
    await until(() => limiter.active === 0, 'the limiter to be idle');
    expect(limiter.queued).toBe(0);
    expect(closingCalledBack).toBe(false);
  });

  it('fails jobs queued behind a connection that has closed and frees their slots', async () => {
    const limiter = new ZlibLimiter(1);
    const busy = make({}, 1 << 20, limiter);
    const closed = make({}, 1 << 20, limiter);
    const first = compress(busy, text(100_000));
    const refused = compress(closed, Buffer.from('never')).catch((e: unknown) => e);
    closed.close();
    await first;
    expect(await refused).toBeInstanceOf(Error);
    expect(limiter.active).toBe(0);
  });
});
