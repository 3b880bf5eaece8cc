import { encodeValue, readMessage } from '@switchboard/contract';
import { describe, expect, it } from 'vitest';
import { type Holder, IdempotencyWindow } from '../../src/rpc/idempotency.js';
import {
  deserializeOutcome,
  errorOutcome,
  outcomeBytes,
  replyOutcome,
  resultOutcome,
  serializeOutcome,
} from '../../src/rpc/outcome.js';
import type { ServerWebSocket } from '../../src/transport/index.js';

const bytesOutcome = (size: number) => {
  const { json, meta, parts } = encodeValue({ file: new Uint8Array(size).fill(7) });
  return resultOutcome(json, meta, parts);
};

/** What `send` hands a socket: the message (the parts joined), and the parts as given. */
function sent(send: (socket: ServerWebSocket) => void): [string | Uint8Array, readonly Uint8Array[]] {
  let out: [string | Uint8Array, readonly Uint8Array[]] | undefined;
  const socket = {
    send: (text: string) => {
      out = [text, []];
    },
    sendParts: (parts: readonly Uint8Array[]) => {
      out = [new Uint8Array(Buffer.concat(parts)), parts];
    },
  };
  send(socket as unknown as ServerWebSocket);
  if (out === undefined) throw new Error('nothing sent');
  return out;
}

const holder = (): Holder => ({ scope: undefined, id: 1, open: true, sessions: 0, probe: async () => true });

describe('an outcome with byte values', () => {
  it('is sent under any id as a binary message holding its bytes, the bytes unjoined', () => {
    const outcome = bytesOutcome(1000);
    for (const id of [7, 'again']) {
      const [message, parts] = sent((socket) => replyOutcome(socket, id, outcome));
      expect(message).toBeInstanceOf(Uint8Array);
      expect((message as Uint8Array).byteLength).toBeLessThan(1200);
      expect(readMessage(message)).toMatchObject({ type: 'result', id, output: { file: 0 } });
      // The value itself is handed to the socket, not a copy of it.
      expect(parts[1]).toBe(outcome.parts?.[0]);
    }
    expect(typeof sent((socket) => replyOutcome(socket, 7, resultOutcome(1, undefined)))[0]).toBe('string');
  });

  it('holds bytes of its own, not the received message a value is a view of', () => {
    const message = new Uint8Array(900_000);
    const echoed = message.subarray(100, 1_200);
    const outcome = resultOutcome(0, undefined, [echoed]);
    expect(outcome.parts?.[0]?.buffer.byteLength).toBe(1_100);
    const [, parts] = sent((socket) => replyOutcome(socket, 1, outcome));
    expect(parts[1]?.buffer.byteLength).toBe(1_100);
    // A value with memory of its own is kept and sent as it is.
    const own = new Uint8Array(5_000);
    expect(resultOutcome(0, undefined, [own]).parts?.[0]).toBe(own);
  });

  it('counts its bytes besides its text', () => {
    const outcome = bytesOutcome(10_000);
    expect(outcomeBytes(outcome)).toBe(outcome.body.length * 2 + 10_000);
  });

  it('is kept by the idempotency window counted in bytes, and one too large is not kept', () => {
    const window = new IdempotencyWindow({
      maxKeys: 100,
      maxSessionBytes: 64 * 1024,
      maxSessions: 10,
      maxBytes: 1024 * 1024,
      maxSessionsPerConnection: 2,
      ttlMs: 60_000,
    });
    const who = holder();
    const small = window.claim('a', 1, who, 0);
    if (small.state !== 'new') throw new Error(small.state);
    const before = window.bytes;
    expect(window.finish(small.entry, bytesOutcome(10_000), 0).parts?.[0]?.byteLength).toBe(10_000);
    expect(window.bytes - before).toBeGreaterThanOrEqual(10_000);
    const repeat = window.claim('a', 1, who, 1);
    expect(repeat.state === 'repeat' && repeat.entry.outcome?.parts?.[0]?.byteLength).toBe(10_000);
    const large = window.claim('b', 2, who, 0);
    if (large.state !== 'new') throw new Error(large.state);
    expect(window.finish(large.entry, bytesOutcome(40_000), 0).ok).toBe(false);
  });

  it('goes through a shared store as text and comes back with the same bytes', () => {
    const outcome = bytesOutcome(300);
    const back = deserializeOutcome(serializeOutcome(outcome));
    expect(back).toEqual({ ok: true, body: outcome.body, parts: [new Uint8Array(300).fill(7)] });
    expect(deserializeOutcome(serializeOutcome(errorOutcome({ code: 'CONFLICT', message: 'x' })))?.ok).toBe(false);
    expect(deserializeOutcome('b{not json')).toBeUndefined();
  });
});
