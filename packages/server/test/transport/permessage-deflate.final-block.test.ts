// RFC 7692 §7.2.1 lets a sender end a message's DEFLATE data with a block whose BFINAL bit is
// set (§7.2.3.4 shows one). That block ends the sender's DEFLATE stream, so the next message
// starts a new one (a regression: every later message used to inflate to nothing).
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProtocolError } from '../../src/transport/errors.js';
import { resolveOptions } from '../../src/transport/options.js';
import {
  type DeflateParams,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
  ZlibLimiter,
} from '../../src/transport/permessage-deflate.js';
import {
  connectRaw,
  encodeClientFrame,
  type RawPeer,
  type StartedServer,
  startServer,
  stopServer,
  until,
} from './helpers.js';

const TEXT = 0x1;
const CLOSE = 0x8;
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** RFC 7692 §7.2.1 steps 2–3 after a final block: an empty stored block, less its 00 00 ff ff. */
const EMPTY_BLOCK_HEAD = Buffer.from([0x00]);
/** An empty stored block on a byte boundary: what a sync flush ends with. */
const EMPTY_BLOCK = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);
/** RFC 7692 §7.2.3.4: "Hello" in one block with BFINAL set, then the empty stored block's first octet. */
const RFC_7692_FINAL_BLOCK_EXAMPLE = Buffer.from('f348cdc9c9070000', 'hex');

const PHRASE = 'the quick brown fox jumps over the lazy dog; '.repeat(8);
const MESSAGES = ['one', 'two', 'three', 'four'].map((n) => `${n}: ${PHRASE}`);

type Ending = 'sync' | 'final' | 'final, then the empty block';

/**
 * A zlib-based client compressor with context takeover. `sync` ends a message as zlib
 * peers usually do (a sync flush, 00 00 ff ff removed); the `final` endings use Z_FINISH,
 * after which zlib must start a new stream.
 */
class ClientCompressor {
  readonly #deflate = zlib.createDeflateRaw();

  async message(data: string, ending: Ending): Promise<Buffer> {
    const flush = ending === 'sync' ? zlib.constants.Z_SYNC_FLUSH : zlib.constants.Z_FINISH;
    const out = await this.#flush(Buffer.from(data), flush);
    if (ending === 'sync') {
      expect(out.subarray(-4)).toEqual(TRAILER);
      return out.subarray(0, -4);
    }
    this.#deflate.reset();
    // Short messages are one block, so the message's first bit is its BFINAL bit (RFC 1951 §3.2.3).
    expect((out[0] as number) & 0x01, 'BFINAL').toBe(1);
    return ending === 'final' ? out : Buffer.concat([out, EMPTY_BLOCK_HEAD]);
  }

  close(): void {
    this.#deflate.close();
  }

  #flush(data: Buffer, kind: number): Promise<Buffer> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer) => chunks.push(chunk);
      this.#deflate.on('data', onData);
      this.#deflate.write(data);
      this.#deflate.flush(kind, () => {
        this.#deflate.off('data', onData);
        resolve(Buffer.concat(chunks));
      });
    });
  }
}

/** Compresses `messages` in order with one client compressor, ending each as told. */
async function compressAll(messages: readonly string[], endings: readonly Ending[]): Promise<Buffer[]> {
  const client = new ClientCompressor();
  const out: Buffer[] = [];
  for (const [i, message] of messages.entries()) out.push(await client.message(message, endings[i] ?? 'sync'));
  client.close();
  return out;
}

/** Z_FINISH output on its own: a stream of its own, ending with a final block. */
const finishedStream = (data: string): Buffer =>
  zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_FINISH });

// ── over a connection, from a raw client ─────────────────────────────────────

let servers: StartedServer[] = [];
let peers: RawPeer[] = [];

afterEach(async () => {
  for (const peer of peers) peer.destroy();
  await Promise.all(servers.map((server) => stopServer(server.wss)));
  servers = [];
  peers = [];
});

async function open(options: PerMessageDeflateOptions = {}, offer = 'permessage-deflate') {
  const server = await startServer({ pingIntervalMs: 0, perMessageDeflate: options });
  servers.push(server);
  const { peer, socket, head } = await connectRaw(server, { 'Sec-WebSocket-Extensions': offer });
  peers.push(peer);
  const received: string[] = [];
  socket.on('message', (data) => received.push(data.toString()));
  /** Sends each payload as one compressed text message; resolves with what was delivered. */
  const send = async (payloads: readonly Buffer[]): Promise<string[]> => {
    for (const payload of payloads) peer.write(encodeClientFrame({ opcode: TEXT, rsv1: true, payload }));
    await until(() => received.length >= payloads.length || socket.state !== 'open', 'every message', 3_000);
    return received;
  };
  return { peer, socket, head, send };
}

describe('permessage-deflate: messages after one whose DEFLATE data ends with a final block', () => {
  it('delivers every later message intact with context takeover', async () => {
    const { send } = await open();
    const payloads = await compressAll(MESSAGES, ['final']);
    // Messages three and four are mostly back-references into two: the client keeps its window.
    expect((payloads[2] as Buffer).length).toBeLessThan((payloads[1] as Buffer).length / 2);
    expect(await send(payloads)).toEqual(MESSAGES);
  });

  it('delivers every later message intact with client_no_context_takeover', async () => {
    const { send, head } = await open(
      { clientNoContextTakeover: true },
      'permessage-deflate; client_no_context_takeover',
    );
    expect(head.headers['sec-websocket-extensions']).toBe('permessage-deflate; client_no_context_takeover');
    const payloads = [];
    // Each message compressed on its own, as the negotiated parameter asks of the client.
    for (const [i, message] of MESSAGES.entries())
      payloads.push(...(await compressAll([message], [i === 0 ? 'final' : 'sync'])));
    expect(await send(payloads)).toEqual(MESSAGES);
  });

  it('delivers messages that end with a final block and the empty stored block (RFC 7692 §7.2.3.4)', async () => {
    const { send } = await open();
    const payloads = await compressAll(MESSAGES, [
      'final, then the empty block',
      'sync',
      'final, then the empty block',
      'final, then the empty block',
    ]);
    expect(await send([RFC_7692_FINAL_BLOCK_EXAMPLE, ...payloads, RFC_7692_FINAL_BLOCK_EXAMPLE])).toEqual([
      'Hello',
      ...MESSAGES,
      'Hello',
    ]);
  });

  it('delivers messages that each end with a final block (Z_FINISH) with client_no_context_takeover', async () => {
    const { send } = await open({ clientNoContextTakeover: true });
    expect(await send(MESSAGES.map(finishedStream))).toEqual(MESSAGES);
  });

  it('closes with 1007 when a final block is followed by more compressed data in the same message', async () => {
    const { peer, socket, send } = await open();
    const errors: ProtocolError[] = [];
    socket.on('error', (error) => errors.push(error));
    const [hello] = await compressAll(['Hello, '], ['final']);
    const [world] = await compressAll(['world'], ['sync']);
    // RFC 7692 §7.2.1 lets blocks follow a final block; delivering 'Hello, ' alone would lose data.
    expect(await send([Buffer.concat([hello as Buffer, world as Buffer])])).toEqual([]);
    const close = await peer.readFrame();
    expect([close.opcode, close.payload.readUInt16BE(0)]).toEqual([CLOSE, 1007]);
    expect(errors.map((error) => error.code)).toEqual(['INVALID_COMPRESSED_DATA']);
  });
});

// ── PerMessageDeflate on its own ─────────────────────────────────────────────

function options(input: PerMessageDeflateOptions = {}): ResolvedDeflateOptions {
  const resolved = resolveOptions({ noServer: true, perMessageDeflate: input }).deflate;
  if (resolved === undefined) throw new Error('deflate options did not resolve');
  return resolved;
}

function make(params: Partial<DeflateParams> = {}, maxPayloadBytes = 1 << 20): PerMessageDeflate {
  const agreed: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...params,
  };
  return new PerMessageDeflate(agreed, options(), new ZlibLimiter(10), maxPayloadBytes);
}

function decompress(deflate: PerMessageDeflate, parts: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) =>
    deflate.decompress(parts, (error, result) =>
      error || !result ? reject(error) : resolve(Buffer.concat(result).toString()),
    ),
  );
}

describe('PerMessageDeflate: final blocks', () => {
  it('inflates the next message after a final block that ends exactly where the data does', async () => {
    const deflate = make();
    // 01: a stored block with BFINAL set, whose LEN and NLEN are the 00 00 ff ff the receiver appends.
    expect(await decompress(deflate, [Buffer.from([0x01])])).toBe('');
    const [next] = await compressAll([MESSAGES[1] as string], ['sync']);
    expect(await decompress(deflate, [next as Buffer])).toBe(MESSAGES[1]);
  });

  it('inflates a message whose final block and empty block are split across frames', async () => {
    const deflate = make();
    const [first, second] = await compressAll(MESSAGES.slice(0, 2), ['final, then the empty block', 'sync']);
    const bytes = first as Buffer;
    const parts = [bytes.subarray(0, 5), bytes.subarray(5, -1), bytes.subarray(-1)];
    expect(await decompress(deflate, parts)).toBe(MESSAGES[0]);
    expect(await decompress(deflate, [second as Buffer])).toBe(MESSAGES[1]);
  });

  it('keeps the 1009 cap for messages after a final block', async () => {
    const deflate = make({}, 64 * 1024);
    expect(await decompress(deflate, [finishedStream('small')])).toBe('small');
    const [bomb] = await compressAll(['a'.repeat(1 << 20)], ['sync']);
    const error = await decompress(deflate, [bomb as Buffer]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', closeCode: 1009 });
  });

  it.each([
    ['a second DEFLATE stream', () => Buffer.concat([finishedStream('one'), finishedStream('two')])],
    ['a block header with the reserved BTYPE 11', () => Buffer.concat([finishedStream('one'), Buffer.from([0xff])])],
    ['an empty block whose 00 00 ff ff was left in', () => Buffer.concat([finishedStream('one'), EMPTY_BLOCK])],
  ])('refuses data after a final block (%s) with 1007, with or without context takeover', async (_name, payload) => {
    for (const clientNoContextTakeover of [false, true]) {
      const error = await decompress(make({ clientNoContextTakeover }), [payload()]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_COMPRESSED_DATA', closeCode: 1007 });
    }
  });
});
