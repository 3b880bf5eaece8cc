// Raw HTTP/1.1 WebSocket upgrade (client side) over node:net, without the ws client.

import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_RESPONSE_HEAD = 16 * 1024;

export const HOST = '127.0.0.1';

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

export function upgradeRequest(port: number, key: string): Buffer {
  return Buffer.from(
    `GET / HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    'latin1',
  );
}

/**
 * Incremental parser for the server's 101 response. `feed` returns null until the head is
 * complete, then the bytes that followed it (already WebSocket frames); it throws on a bad response.
 */
export class UpgradeResponse {
  private head: Buffer = Buffer.alloc(0);
  private readonly accept: string;

  constructor(key: string) {
    this.accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
  }

  feed(chunk: Buffer): Buffer | null {
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (this.head.length > MAX_RESPONSE_HEAD) throw new Error('upgrade response head too large');
      return null;
    }
    const lines = this.head.toString('latin1', 0, end).split('\r\n');
    const status = lines[0] ?? '';
    if (!/^HTTP\/1\.1 101\b/.test(status)) throw new Error(`upgrade refused: ${JSON.stringify(status)}`);
    let accept: string | undefined;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'sec-websocket-accept') {
        accept = line.slice(colon + 1).trim();
      }
    }
    if (accept !== this.accept) throw new Error(`bad Sec-WebSocket-Accept: ${String(accept)}`);
    return this.head.subarray(end + 4);
  }
}

export interface Upgraded {
  socket: net.Socket;
  /** Bytes received after the 101 head (normally empty). */
  rest: Buffer;
}

/**
 * Connects to 127.0.0.1:port and performs the upgrade ('ws'), or only connects ('tcp').
 * Uses 'data' events; the caller attaches its own listeners afterwards.
 */
export function connectAndUpgrade(port: number, protocol: 'ws' | 'tcp', timeoutMs: number): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST, noDelay: true });
    const timer = setTimeout(() => fail(new Error(`connect/upgrade timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('socket closed during upgrade')));
    const done = (rest: Buffer): void => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      socket.removeAllListeners('data');
      socket.removeAllListeners('connect');
      resolve({ socket, rest });
    };
    if (protocol === 'tcp') {
      socket.once('connect', () => done(Buffer.alloc(0)));
      return;
    }
    const key = newKey();
    const response = new UpgradeResponse(key);
    socket.once('connect', () => socket.write(upgradeRequest(port, key)));
    socket.on('data', (chunk: Buffer) => {
      try {
        const rest = response.feed(chunk);
        if (rest) done(rest);
      } catch (err) {
        fail(err as Error);
      }
    });
  });
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight; resolves with all results. */
export async function mapLimit<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}
