import { MAX_BATCH_CHARS } from '@switchboard/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// Envelopes sent in one task leave as one message (a JSON array), split at MAX_BATCH_CHARS.

type Untyped = { call(name: string, input?: unknown): Promise<unknown> };

let client: Client<never> | undefined;

beforeEach(() => FakeWebSocket.reset());
afterEach(async () => {
  await client?.close();
  client = undefined;
});

async function openClient(): Promise<{ calls: Untyped; socket: FakeWebSocket }> {
  client = createClient<never>({ url: 'ws://fake', WebSocket: FakeWebSocket as never, heartbeat: false });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const socket = FakeWebSocket.last();
  socket.open();
  return { calls: client as unknown as Untyped, socket };
}

/** Lets the task's microtasks (the flush among them) run. */
const endOfTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const ignore = () => {};

describe('batching', () => {
  it('sends the calls made in one task as one message, in order', async () => {
    const { calls, socket } = await openClient();
    for (let n = 0; n < 5; n++) calls.call('echo', n).catch(ignore);
    expect(socket.sent).toEqual([]); // nothing before the task ends
    await endOfTask();
    expect(socket.sent).toHaveLength(1);
    expect(JSON.parse(socket.sent[0] as string)).toHaveLength(5);
    expect(socket.sentOfType('call').map((m) => m.input)).toEqual([0, 1, 2, 3, 4]);
  });

  it('sends a call made alone as a plain envelope, not a batch of one', async () => {
    const { calls, socket } = await openClient();
    calls.call('echo', 'alone').catch(ignore);
    await endOfTask();
    calls.call('echo', 'next task').catch(ignore);
    await endOfTask();
    expect(socket.sent.map((text) => JSON.parse(text).input)).toEqual(['alone', 'next task']);
  });

  it(`splits a burst into messages of at most ${MAX_BATCH_CHARS} characters and sends a bigger envelope alone`, async () => {
    const { calls, socket } = await openClient();
    const big = 'x'.repeat(MAX_BATCH_CHARS);
    for (let n = 0; n < 400; n++) calls.call('echo', n === 200 ? big : `${n}:${'y'.repeat(100)}`).catch(ignore);
    await endOfTask();
    expect(socket.sent.length).toBeGreaterThan(3);
    for (const text of socket.sent) {
      if (!text.includes(big)) expect(text.length).toBeLessThanOrEqual(MAX_BATCH_CHARS);
    }
    expect(socket.sent.filter((text) => text.includes(big))).toEqual([expect.stringMatching(/^\{/)]);
    const inputs = socket.sentOfType('call').map((m) => m.input as string);
    expect(inputs).toHaveLength(400);
    expect(inputs.map((input, n) => (n === 200 ? input === big : input.startsWith(`${n}:`)))).not.toContain(false);
  });

  it('sends what the task queued before the socket closes when the client closes', async () => {
    const { calls, socket } = await openClient();
    calls.call('echo', 'last words').catch(ignore);
    const closed = client?.close();
    expect(socket.sentOfType('call').map((m) => m.input)).toEqual(['last words']);
    // The client cancels what it is closing on, in the same step.
    expect(socket.sentOfType('cancel')).toHaveLength(1);
    await closed;
  });
});
