// Raw WebSocket subscribers for the fan-out and memory benchmarks: node:net + a hand-made upgrade
// (optionally with a subprotocol), masked text frames out, unmasked frames in. Answers pings
// (WebSocket and socket.io's "2") so servers with heartbeats keep the connections. Speaks each
// contender's subscribe handshake; hands every other text message to `onText`.

import net from 'node:net';
import { encodeClientFrame, OPCODE_TEXT } from '../lib/frames.js';
import { HOST, newKey, UpgradeResponse } from '../lib/upgrade.js';

export type Flavor = 'switchboard' | 'thin' | 'socketio' | 'trpc';

const OP_PING = 0x9;
const OP_PONG = 0xa;
const OP_CLOSE = 0x8;

function upgradeRequest(port: number, key: string, path: string, protocol: string | undefined): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
    'latin1',
  );
}

const text = (s: string): Buffer => encodeClientFrame(Buffer.from(s), OPCODE_TEXT);

/** What each contender needs: path, subprotocol, a greeting, and the subscribe request and its ack. */
const FLAVORS: Record<
  Flavor,
  {
    path: string;
    protocol?: string;
    opened: (m: string) => boolean;
    /** Sent as soon as the upgrade completes; the connection is ready once `opened` says so. */
    greeting?: string;
    hello?: string;
    /** The subscribe request for `room`. */
    subscribe: (room: string) => string;
    acked: (m: string) => boolean;
  }
> = {
  switchboard: {
    path: '/',
    protocol: 'switchboard.v1',
    // The first message carries the (empty) credentials; a server from before protocol
    // authentication answers it with an error for id 0, which opens the connection as well.
    greeting: '{"type":"auth","id":0}',
    opened: (m) => m.startsWith('{"type":"authenticated"') || m.startsWith('{"type":"error","id":0'),
    subscribe: (room) => `{"type":"subscribe","id":1,"name":"feed","params":{"room":"${room}"}}`,
    acked: (m) => m.startsWith('{"type":"subscribed"'),
  },
  thin: {
    path: '/',
    opened: () => true,
    subscribe: (room) => `{"id":1,"method":"subscribe","params":{"room":"${room}"}}`,
    acked: (m) => m.startsWith('{"id":1,"result":true'),
  },
  socketio: {
    path: '/socket.io/?EIO=4&transport=websocket',
    // Engine.IO open packet "0{...}", then we connect to "/" with "40" and wait for "40{sid}".
    opened: (m) => m.startsWith('40'),
    hello: '40',
    subscribe: (room) => `420["join",{"room":"${room}"}]`,
    acked: (m) => m.startsWith('430'),
  },
  trpc: {
    path: '/',
    opened: () => true,
    subscribe: (room) =>
      `{"id":1,"method":"subscription","params":{"path":"feed","input":{"json":{"room":"${room}"}}}}`,
    acked: (m) => m.includes('"type":"started"'),
  },
};

export class RawSubscriber {
  readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private phase: 'upgrade' | 'open' | 'ready' | 'subscribing' | 'subscribed' = 'upgrade';
  private readonly upgrade: UpgradeResponse;
  private readonly flavor;
  private onReady: (() => void) | undefined;
  private onFail: ((err: Error) => void) | undefined;
  private readonly subscribed: Promise<void>;
  private resolveSub!: () => void;
  private rejectSub!: (err: Error) => void;
  /** Text messages after the subscription was acknowledged (or all, for `onText` before it). */
  onText: (message: string) => void = () => {};
  closed = false;

  constructor(
    readonly kind: Flavor,
    port: number,
  ) {
    this.flavor = FLAVORS[kind];
    const key = newKey();
    this.upgrade = new UpgradeResponse(key);
    this.subscribed = new Promise((resolve, reject) => {
      this.resolveSub = resolve;
      this.rejectSub = reject;
    });
    this.subscribed.catch(() => {});
    this.socket = net.connect({ port, host: HOST, noDelay: true });
    this.socket.on('connect', () =>
      this.socket.write(upgradeRequest(port, key, this.flavor.path, this.flavor.protocol)),
    );
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('closed by the server'));
    });
  }

  /** Resolves when the connection is usable (upgraded, plus socket.io's namespace connect). */
  ready(): Promise<void> {
    if (this.phase === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onFail = reject;
    });
  }

  /** Sends the contender's subscribe request (to `room`: the feed's by default); resolves on its acknowledgement. */
  subscribe(room = 'r'): Promise<void> {
    this.phase = 'subscribing';
    this.socket.write(text(this.flavor.subscribe(room)));
    return this.subscribed;
  }

  private fail(err: Error): void {
    this.onFail?.(err);
    this.onFail = undefined;
    this.rejectSub(err);
  }

  private becomeReady(): void {
    this.phase = 'ready';
    this.onReady?.();
    this.onReady = undefined;
    this.onFail = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'upgrade') {
      let rest: Buffer | null;
      try {
        rest = this.upgrade.feed(chunk);
      } catch (err) {
        this.fail(err as Error);
        this.socket.destroy();
        return;
      }
      if (rest === null) return;
      this.phase = 'open';
      if (this.flavor.greeting !== undefined) this.socket.write(text(this.flavor.greeting));
      else if (this.flavor.hello === undefined) this.becomeReady();
      if (rest.length === 0) return;
      chunk = rest;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    const buf = this.buf;
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
      const op = b0 & 0x0f;
      if (op === OP_PING) this.socket.write(encodeClientFrame(buf.subarray(start, start + len), OP_PONG));
      else if (op === OP_CLOSE) this.socket.end();
      else if (op === OPCODE_TEXT) this.onMessage(buf.toString('utf8', start, start + len));
      // (fragmented messages are not used by any contender for these tiny messages)
    }
    this.buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  }

  private onMessage(m: string): void {
    if (this.kind === 'socketio' && m === '2') {
      this.socket.write(text('3'));
      return;
    }
    if (this.phase === 'open') {
      if (this.flavor.opened(m)) this.becomeReady();
      else if (m.startsWith('0{') && this.flavor.hello) this.socket.write(text(this.flavor.hello));
      return;
    }
    if (this.phase === 'subscribing') {
      if (this.flavor.acked(m)) {
        this.phase = 'subscribed';
        this.resolveSub();
        return;
      }
    }
    this.onText(m);
  }
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight. */
export { mapLimit } from '../lib/upgrade.js';
