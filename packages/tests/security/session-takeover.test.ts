import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildServer } from '../resilience/child-server.js';
import { closeAll, type Envelope, PROTOCOL, RawClient } from '../rpc/harness.js';
import { OP, RawPeer } from '../transport/raw-peer.js';
import type { TargetCommand, TargetEvent } from './fixtures/target-process.js';

// A session key presented by a new connection while the connection holding the session is
// closing (its Close sent and echoed, its TCP not yet gone). The holder cannot answer a ping
// any more, so the session moves at once. It used to spin the server's event loop for ever:
// the claim found the holder "open", the probe said "gone" without waiting, and the claim
// ran again. The server runs in its own process, so that a regression fails this test
// instead of freezing the test runner.

const SCRIPT = 'packages/tests/security/fixtures/target-process.ts';
type Target = ChildServer<TargetEvent, TargetCommand>;
let target: Target;

beforeAll(async () => {
  target = await ChildServer.start<TargetEvent, TargetCommand>(['{}'], SCRIPT);
}, 30_000);
afterAll(async () => {
  await closeAll();
  await target?.exit();
});

function textFrame(value: unknown) {
  return { opcode: OP.text, payload: Buffer.from(JSON.stringify(value)) };
}

async function replyOn(peer: RawPeer, id: number): Promise<Envelope> {
  for (;;) {
    const frame = await peer.nextFrame(5_000);
    if (frame.opcode !== OP.text) continue;
    const envelope = JSON.parse(frame.payload.toString('utf8')) as Envelope;
    if (envelope.id === id) return envelope;
  }
}

describe('a session held by a closing connection', () => {
  it('moves to the connection that presents it, and the server stays responsive', async () => {
    const url = `ws://127.0.0.1:${target.port}/?user=ann`;
    const call = {
      type: 'call',
      id: 1,
      name: 'slow.whoami',
      input: { ms: 0, tag: 't1' },
      key: 'closing-holder-session.1',
    };

    const holder = await RawPeer.upgrade(target.port, {
      path: '/?user=ann',
      headers: [`Sec-WebSocket-Protocol: ${PROTOCOL}`],
      halfOpen: true,
    });
    holder.send(textFrame(call));
    const first = await replyOn(holder, 1);
    expect(first).toMatchObject({ type: 'result', output: 't1 ran for ann' });
    // Close, and keep TCP open: the server's socket stays 'closing' until its close timeout.
    holder.send({ opcode: OP.close, payload: Buffer.from([0x03, 0xe8]) });
    expect((await holder.closeFrame(5_000)).code).toBe(1000);

    const next = await RawClient.open(url);
    next.send(call);
    expect(await next.reply(1)).toEqual(first);

    // The event loop is free: a new connection is served.
    const other = await RawClient.open(url);
    other.send({ type: 'ping' });
    await other.next((envelope) => envelope.type === 'pong', 'a pong');
    holder.destroy();
  });
});
