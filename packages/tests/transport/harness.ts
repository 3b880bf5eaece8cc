import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type ServerWebSocket, WebSocketServer, type WebSocketServerOptions } from '@switchboard/server/transport';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { once } from '../support/wait.js';

export type ServerOptions = Omit<WebSocketServerOptions, 'port' | 'host' | 'server' | 'noServer'>;

export interface RunningServer {
  wss: WebSocketServer;
  port: number;
  url: string;
  /** Every socket the server accepted, in order. */
  sockets: ServerWebSocket[];
  /** Terminates every socket and waits for the server's 'close'. */
  stop(): Promise<void>;
}

/** A WebSocketServer on 127.0.0.1, port 0; `onConnection` defaults to echo. */
export async function startServer(
  options: ServerOptions = {},
  onConnection: (socket: ServerWebSocket) => void = echo,
): Promise<RunningServer> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await once(wss, 'listening', 2_000);
  const port = (wss.address() as AddressInfo).port;
  const sockets: ServerWebSocket[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}`,
    sockets,
    async stop() {
      for (const socket of wss.clients) socket.terminate();
      const closed = once(wss, 'close', 5_000);
      wss.close();
      await closed;
    },
  };
}

/** Sends every message back as it came (text as text, binary as binary). */
export function echo(socket: ServerWebSocket): void {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
}

let collect: (() => void) | undefined;

/** A full garbage collection, for memory assertions (exposes gc without a CLI flag). */
export function gc(): void {
  if (collect === undefined) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

/** Bytes of JS heap plus Buffers and other memory outside the heap, after a GC. */
export function memoryInUse(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

export const MiB = 1024 * 1024;

/** Deterministic bytes (xorshift32) so failures reproduce. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const UTF8_SAMPLES = ['a', 'z', ' ', 'é', 'ß', '€', '中', '😀', '𝄞'].map((s) => Buffer.from(s, 'utf8'));

/** Exactly `length` bytes of valid UTF-8 mixing 1- to 4-byte characters. */
export function utf8Bytes(length: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(length);
  const noise = pseudoRandomBytes(Math.min(length, 1 << 16) + 1, seed);
  let offset = 0;
  let n = 0;
  while (offset < length) {
    const sample = UTF8_SAMPLES[(noise[n++ % noise.length] as number) % UTF8_SAMPLES.length] as Buffer;
    if (offset + sample.length > length) {
      out[offset++] = 0x61; // pad the tail with ASCII so the length is exact
      continue;
    }
    sample.copy(out, offset);
    offset += sample.length;
  }
  return out;
}

/** Fails the test after which an exception escaped to the process (none may, whatever the peer sends). */
export function failOnUncaughtException(): void {
  const uncaught = vi.fn();
  beforeAll(() => {
    process.on('uncaughtException', uncaught);
  });
  afterEach(() => {
    try {
      expect(uncaught).not.toHaveBeenCalled();
    } finally {
      uncaught.mockClear();
    }
  });
  afterAll(() => {
    process.off('uncaughtException', uncaught);
  });
}
