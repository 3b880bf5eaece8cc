// Raw WebSocket subscribers of the `ticks` channel for the load process: node:net, a hand-made
// upgrade with `Sec-WebSocket-Protocol: switchboard.v1`, one masked subscribe frame, unmasked
// frames in. A healthy peer reads everything, answers pings, checks that seq rises by one and
// records publish→receive latency; a stalled peer subscribes and then stops reading
// (socket.pause()), like packages/tests/rpc/dashboards.test.ts, until `resume()` at the end.

import net from 'node:net';
import { encodeClientFrame, OPCODE_CLOSE, OPCODE_TEXT } from '../lib/frames.js';
import { HOST, newKey, UpgradeResponse } from '../lib/upgrade.js';
import { nowMs } from '../rpc/contract.js';
import { SUBSCRIBE } from './common.js';

const OP_PING = 0x9;
const OP_PONG = 0xa;
const MESSAGE = '{"type":"message"';
const GAP = '{"type":"gap"';
const SUBSCRIBED = '{"type":"subscribed"';
const TICK = /"seq":(\d+),"t":([\d.e+]+)/;
/** How the server encodes a tick, up to seq's digits (the envelope's keys come in a fixed order). */
const TICK_PREFIX = Buffer.from('{"type":"message","channel":"ticks","key":"{}","data":{"seq":', 'latin1');
const T_FIELD = Buffer.from(',"t":', 'latin1');
const DROPPED = /"dropped":(\d+)/;

/** Publish→receive latencies in 10 µs buckets up to 10 s (longer ones land in the last bucket). */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.01;
  readonly counts = new Uint32Array(1_000_000);
  count = 0;
  maxMs = 0;

  record(ms: number): void {
    const bucket = Math.min(this.counts.length - 1, Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)));
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The upper bound of the bucket holding the p-quantile, in ms; NaN when empty. */
  percentileMs(p: number): number {
    if (this.count === 0) return Number.NaN;
    let rank = Math.ceil(p * this.count);
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      rank -= this.counts[bucket] as number;
      if (rank <= 0) return (bucket + 1) * LatencyHistogram.BUCKET_MS;
    }
    return this.maxMs;
  }
}

export type PeerKind = 'healthy' | 'stalled';
type PeerState = 'upgrading' | 'subscribing' | 'live';

function upgradeRequest(port: number, key: string): Buffer {
  return Buffer.from(
    `GET / HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: switchboard.v1\r\n\r\n`,
    'latin1',
  );
}

export class Peer {
  readonly socket: net.Socket;
  #state: PeerState = 'upgrading';
  #buf: Buffer = Buffer.alloc(0);
  readonly #upgrade: UpgradeResponse;
  readonly #subscribed: Promise<void>;
  #resolveSubscribed!: () => void;
  #rejectSubscribed!: (err: Error) => void;
  /** Where a healthy peer's latencies go; undefined for a stalled one. */
  readonly #latency: LatencyHistogram | undefined;

  /** `message` envelopes received. */
  messages = 0;
  lastSeq = 0;
  /** Messages whose seq was not above the previous one. */
  outOfOrder = 0;
  /** Messages never received: the sum of the jumps in seq. */
  missing = 0;
  /** `gap` envelopes, and the sum of their `dropped`. */
  gaps = 0;
  toldDropped = 0;
  /** Anything else the server sent (the first one is kept). */
  unexpected = 0;
  firstUnexpected: string | undefined;
  /** The Close frame's code, if one arrived. */
  closeCode: number | undefined;
  closed = false;
  /** nowMs() of the last message (or of anything, for a stalled peer being read). */
  lastAt = 0;

  constructor(
    readonly kind: PeerKind,
    port: number,
    latency: LatencyHistogram | undefined,
  ) {
    this.#latency = latency;
    const key = newKey();
    this.#upgrade = new UpgradeResponse(key);
    this.#subscribed = new Promise((resolve, reject) => {
      this.#resolveSubscribed = resolve;
      this.#rejectSubscribed = reject;
    });
    this.#subscribed.catch(() => {});
    this.socket = net.connect({ port, host: HOST, noDelay: true });
    this.socket.on('connect', () => this.socket.write(upgradeRequest(port, key)));
    this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.socket.on('error', (err) => this.#rejectSubscribed(err));
    this.socket.on('close', () => {
      this.closed = true;
      this.#rejectSubscribed(new Error('closed by the server'));
    });
  }

  /** Resolves once `subscribed` has arrived; a stalled peer then stops reading. */
  async subscribed(): Promise<void> {
    await this.#subscribed;
    if (this.kind === 'stalled') this.socket.pause();
  }

  /** A stalled peer reads again: what the server kept for it arrives now. */
  resume(): void {
    this.socket.resume();
  }

  #onData(chunk: Buffer): void {
    this.lastAt = nowMs();
    if (this.#state === 'upgrading') {
      let rest: Buffer | null;
      try {
        rest = this.#upgrade.feed(chunk);
      } catch (err) {
        this.#rejectSubscribed(err as Error);
        this.socket.destroy();
        return;
      }
      if (rest === null) return;
      this.#state = 'subscribing';
      this.socket.write(encodeClientFrame(Buffer.from(SUBSCRIBE), OPCODE_TEXT));
      if (rest.length === 0) return;
      chunk = rest;
    }
    const buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    while (buf.length - pos >= 2) {
      const b0 = buf[pos] as number;
      const len7 = (buf[pos + 1] as number) & 0x7f;
      const head = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (buf.length - pos < head) break;
      const len =
        len7 < 126
          ? len7
          : len7 === 126
            ? buf.readUInt16BE(pos + 2)
            : buf.readUInt32BE(pos + 6) + buf.readUInt32BE(pos + 2) * 2 ** 32;
      if (buf.length - pos < head + len) break;
      const start = pos + head;
      pos = start + len;
      const opcode = b0 & 0x0f;
      if (opcode === OPCODE_TEXT) {
        if (!this.#onTick(buf, start, pos)) this.#onText(buf.toString('latin1', start, pos));
      } else if (opcode === OP_PING) this.socket.write(encodeClientFrame(buf.subarray(start, pos), OP_PONG));
      else if (opcode === OPCODE_CLOSE) {
        this.closeCode = len >= 2 ? buf.readUInt16BE(start) : undefined;
        this.socket.end();
      }
      // (the server sends no fragmented or binary frames to these peers)
    }
    this.#buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  }

  /**
   * The fast path for a tick as the server encodes it (`TICK_PREFIX`, digits, `,"t":`, a decimal):
   * reads seq and t from the bytes, without a string. false for anything else.
   */
  #onTick(buf: Buffer, start: number, end: number): boolean {
    let i = start + TICK_PREFIX.length;
    if (end < i || buf.compare(TICK_PREFIX, 0, TICK_PREFIX.length, start, i) !== 0) return false;
    let seq = 0;
    for (let c = buf[i] as number; c >= 0x30 && c <= 0x39; c = buf[++i] as number) seq = seq * 10 + c - 0x30;
    if (buf.compare(T_FIELD, 0, T_FIELD.length, i, i + T_FIELD.length) !== 0) return false;
    i += T_FIELD.length;
    let whole = 0;
    for (let c = buf[i] as number; c >= 0x30 && c <= 0x39; c = buf[++i] as number) whole = whole * 10 + c - 0x30;
    let fraction = 0;
    let scale = 1;
    if (buf[i] === 0x2e) {
      for (let c = buf[++i] as number; c >= 0x30 && c <= 0x39; c = buf[++i] as number) {
        fraction = fraction * 10 + c - 0x30;
        scale *= 10;
      }
    }
    if (buf[i] !== 0x2c) return false; // an exponent or anything unexpected: the slow path
    this.#tick(seq, whole + fraction / scale);
    return true;
  }

  #tick(seq: number, publishedAt: number): void {
    this.messages++;
    if (seq <= this.lastSeq) this.outOfOrder++;
    else {
      this.missing += seq - this.lastSeq - 1;
      this.lastSeq = seq;
    }
    this.#latency?.record(this.lastAt - publishedAt);
  }

  #onText(text: string): void {
    if (text.startsWith(MESSAGE)) {
      const match = TICK.exec(text);
      if (match === null) this.#unexpected(text);
      else this.#tick(Number(match[1]), Number(match[2]));
      return;
    }
    if (text.startsWith(GAP)) {
      this.gaps++;
      this.toldDropped += Number(DROPPED.exec(text)?.[1] ?? Number.NaN);
      return;
    }
    if (this.#state === 'subscribing' && text.startsWith(SUBSCRIBED)) {
      this.#state = 'live';
      this.#resolveSubscribed();
      return;
    }
    this.#unexpected(text);
  }

  #unexpected(text: string): void {
    this.unexpected++;
    this.firstUnexpected ??= text.slice(0, 200);
  }
}
