import { binaryMessage } from '@switchboard/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_DEFAULTS, type Client, createClient, type RpcError, type StateInfo } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// A hostile or broken server, with a fake clock and an in-memory WebSocket. What the client
// cannot accept is reported once on 'error' and the connection is dropped (1002, 1003 or
// 1009 as the client's close code; WHATWG sockets can only put 1000 and the reason on the
// wire) and opened again after the usual backoff. What is well-formed but of no use (a
// reply to a call that has ended, a stream no longer followed) is dropped without a word.

type Untyped = {
  call(name: string, input?: unknown, options?: object): Promise<unknown>;
  subscribe(
    name: string,
    params: unknown,
    handlers: { onMessage: (m: unknown) => void; onSnapshot?: (s: unknown) => void; onError?: (e: RpcError) => void },
  ): { ready: Promise<void>; unsubscribe(): void };
};

let client: Client<never> | undefined;

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.5); // every backoff delay is half its ceiling
  FakeWebSocket.reset();
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const reconnect = { initialDelayMs: 1_000, maxDelayMs: 8_000, factor: 2 };

async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** An open client that records its 'error' and 'state' events. */
async function openClient(options: Record<string, unknown> = {}) {
  const c = createClient<never>({
    url: 'ws://fake',
    WebSocket: FakeWebSocket as never,
    heartbeat: false,
    reconnect,
    ...options,
  });
  client = c;
  const errors: RpcError[] = [];
  const states: Array<{ state: string } & StateInfo> = [];
  c.on('error', (error) => errors.push(error));
  c.on('state', (state, info) => states.push({ state, ...info }));
  await settleMicrotasks();
  const socket = FakeWebSocket.last();
  socket.open();
  return { client: c, calls: c as unknown as Untyped, errors, states, socket };
}

/** A subscription to feed/{} registered at e:1 on `socket`. */
async function subscribed(
  calls: Untyped,
  socket: FakeWebSocket,
  handlers: Partial<Parameters<Untyped['subscribe']>[2]>,
) {
  const subscription = calls.subscribe('feed', {}, { onMessage() {}, ...handlers });
  await vi.advanceTimersByTimeAsync(0); // the subscribe leaves
  const id = socket.sentOfType('subscribe').at(-1)?.id;
  socket.receive({ type: 'subscribed', id, key: '{}', position: 'e:1' });
  await subscription.ready;
  return id as number;
}

const BAD_TEXTS: Array<[string, string]> = [
  ['null', 'null'],
  ['a number', '42'],
  ['an array', '[{"type":"pong"}]'],
  ['{}', '{}'],
  ['a type that is not a string', '{"type":7}'],
  ['a result with a string id', '{"type":"result","id":"1","output":1}'],
  ['a result with a negative id', '{"type":"result","id":-1,"output":1}'],
  ['a result with a huge id', '{"type":"result","id":1e300,"output":1}'],
  ['a result with an id past 2^53', '{"type":"result","id":9007199254740993,"output":1}'],
  ['a message with a non-string position', '{"type":"message","channel":"feed","key":"{}","position":42}'],
  ['an error whose error is not an object', '{"type":"error","id":1,"error":"boom"}'],
  ['a gap with a negative dropped', '{"type":"gap","channel":"feed","key":"{}","reason":"dropped","dropped":-1}'],
  ['text that is not JSON', '{"type":"result",'],
  ['a __proto__ key', '{"type":"pong","__proto__":{"polluted":true}}'],
];

describe('a message that is not a protocol v1 envelope', () => {
  it.each(BAD_TEXTS)('%s: one error event, closed with 1002, reconnected after the backoff', async (_what, text) => {
    const { errors, states, socket } = await openClient();
    expect(() => socket.receiveText(text)).not.toThrow();

    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('BAD_REQUEST');
    expect(errors[0]?.message).toMatch(/^bad server message: /);
    if (text.length > 12) expect(errors[0]?.message).not.toContain(text); // says what is wrong, not what came
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1002, nextDelayMs: 500 });
    expect(socket.closedWith).toEqual({ code: 1000, reason: errors[0]?.message });

    await vi.advanceTimersByTimeAsync(499);
    expect(FakeWebSocket.created).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeWebSocket.created).toHaveLength(2);
    FakeWebSocket.last().open();
    expect(states.at(-1)?.state).toBe('open');
    expect(errors).toHaveLength(1);
  });

  it('ignores what the dropped connection still delivers: one error, one reconnect', async () => {
    const { errors, socket } = await openClient();
    socket.receiveText('null');
    socket.receiveText('null');
    socket.receive({ type: 'result', id: 'x' });
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeWebSocket.created).toHaveLength(2);
  });

  it('refuses an undecodable message value (superjson meta) on a followed stream', async () => {
    const { calls, errors, states, socket } = await openClient();
    const messages: unknown[] = [];
    await subscribed(calls, socket, { onMessage: (m) => messages.push(m) });
    const meta = { values: { a: ['nonsense'] } };
    socket.receive({ type: 'message', channel: 'feed', key: '{}', position: 'e:2', data: { a: 1 }, meta });
    expect(messages).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['bad server message: undecodable message data']);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1002 });
    // The next connection resumes from before it: nothing was taken as delivered.
    await vi.advanceTimersByTimeAsync(500);
    FakeWebSocket.last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeWebSocket.last().sentOfType('subscribe')[0]?.from).toBe('e:1');
  });

  it('refuses an undecodable snapshot without moving the position (it threw later, uncaught, before)', async () => {
    const { calls, errors, states, socket } = await openClient();
    const snapshots: unknown[] = [];
    const id = await subscribed(calls, socket, { onSnapshot: (s) => snapshots.push(s) });
    socket.receive({ type: 'snapshot', id, position: 'e:5', data: { a: 1 }, meta: { values: { a: ['nonsense'] } } });
    expect(snapshots).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['bad server message: undecodable snapshot data']);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1002 });
    await vi.advanceTimersByTimeAsync(500);
    FakeWebSocket.last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeWebSocket.last().sentOfType('subscribe')[0]?.from).toBe('e:1');
  });
  it('refuses a second subscribed for one subscribe: a subscription is on one stream at a time', async () => {
    const { calls, errors, states, socket } = await openClient();
    const messages: unknown[] = [];
    const id = await subscribed(calls, socket, { onMessage: (m) => messages.push(m) });
    socket.receive({ type: 'subscribed', id, key: '{"other":1}', position: 'e:1' });
    expect(errors.map((e) => e.message)).toEqual(['bad server message: a second subscribed for one subscribe']);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1002 });
    // Nothing of the other stream reaches it.
    socket.receive({ type: 'message', channel: 'feed', key: '{"other":1}', position: 'e:2', data: 1 });
    expect(messages).toEqual([]);
  });
});

describe('a binary message', () => {
  it('that is malformed is reported once and the connection closed with 1002, then reconnected after the backoff', async () => {
    const { errors, states, socket } = await openClient();
    expect(() => socket.receiveBinary(new Uint8Array([0x7b, 0x7d]))).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('BAD_REQUEST');
    expect(errors[0]?.message).toMatch(/bad server message: bad binary message/);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1002, nextDelayMs: 500 });
    expect(socket.closedWith).toEqual({ code: 1000, reason: errors[0]?.message });
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeWebSocket.created).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeWebSocket.created).toHaveLength(2);
  });

  it.each([
    ['lengths that do not add up', binaryMessage('{"type":"pong","meta":{"b":[3]}}', [Uint8Array.of(1, 2)])],
    ['a JSON part past its end', Uint8Array.of(0, 0, 1, 0, 0x7b, 0x7d)],
    ['a batch', binaryMessage('[{"type":"pong","meta":{"b":[1]}}]', [Uint8Array.of(1)])],
  ])('with %s is refused with 1002', async (_, message) => {
    const { errors, states, socket } = await openClient();
    socket.receiveBinary(message.slice().buffer);
    expect(errors).toHaveLength(1);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1002 });
  });

  it('over maxMessageBytes is refused with 1009 before it is read', async () => {
    const { errors, states, socket } = await openClient({ maxMessageBytes: 1_024 });
    socket.receiveBinary(new Uint8Array(1_025));
    expect(errors[0]?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1009 });
  });

  it('that is neither text nor bytes (a Blob) is refused with 1003', async () => {
    const { errors, states, socket } = await openClient();
    socket.receiveRaw(new Blob(['{}']));
    expect(errors).toHaveLength(1);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1003 });
  });

  it('asks its socket for ArrayBuffers', async () => {
    const { socket } = await openClient();
    expect(socket.binaryType).toBe('arraybuffer');
  });
});

describe('maxMessageBytes', () => {
  const pong = (padChars: number, unit = 'x') => `{"type":"pong","pad":"${unit.repeat(padChars)}"}`;
  const frame = pong(0).length; // 24 characters around the padding

  it('closes with 1009 on a longer message, before parsing it, and reconnects after the backoff', async () => {
    const { errors, states, socket } = await openClient({ maxMessageBytes: 1_024 });
    const parse = vi.spyOn(JSON, 'parse');
    expect(() => socket.receiveText(pong(1_024 - frame + 1))).not.toThrow();
    expect(parse).not.toHaveBeenCalled();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(errors[0]?.message).toBe('bad server message: over maxMessageBytes (1024 bytes)');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1009, nextDelayMs: 500 });
    expect(socket.closedWith).toEqual({ code: 1000, reason: errors[0]?.message });
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeWebSocket.created).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeWebSocket.created).toHaveLength(2);
  });

  it('counts UTF-8 bytes: accepts exactly the limit, refuses three-byte characters past it', async () => {
    const { errors, states, socket } = await openClient({ maxMessageBytes: 1_024 });
    socket.receiveText(pong(1_024 - frame));
    socket.receiveText(pong(Math.floor((1_024 - frame) / 3), '€')); // 1,023 bytes
    expect(errors).toEqual([]);
    expect(states.at(-1)?.state).toBe('open');
    socket.receiveText(pong(Math.floor((1_024 - frame) / 3) + 1, '€')); // 1,026 bytes, 366 characters
    expect(errors.map((e) => e.code)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: 1009 });
  });

  it('does not fail the largest call in flight: its own 1009 is not the server refusing ours', async () => {
    const { calls, socket } = await openClient({ maxMessageBytes: 1_024 });
    const big = 'b'.repeat(100_000); // over MIN_MAX_PAYLOAD_BYTES: a server's 1009 would fail it
    const result = calls.call('echo', big);
    await vi.advanceTimersByTimeAsync(0);
    socket.receiveText(pong(2_000));
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeWebSocket.last();
    next.open();
    await vi.advanceTimersByTimeAsync(0);
    const resent = next.sentOfType('call')[0];
    expect(resent?.input).toBe(big);
    next.receive({ type: 'result', id: resent?.id, output: 'done' });
    expect(await result).toBe('done');
  });

  it('is 16 MiB unless set, and must be a positive number', async () => {
    expect(CLIENT_DEFAULTS.maxMessageBytes).toBe(16 * 1024 * 1024);
    for (const maxMessageBytes of [0, -1, Number.NaN, '1024']) {
      expect(() =>
        createClient({ url: 'ws://fake', WebSocket: FakeWebSocket as never, maxMessageBytes } as never),
      ).toThrow(TypeError);
    }
    const { errors, socket } = await openClient();
    socket.receiveText(`{"type":"pong","pad":"${'x'.repeat(1024 * 1024)}"}`); // 1 MiB: well under
    expect(errors).toEqual([]);
  });
});

describe('after a refusal', () => {
  it('re-sends the call that was in flight, with its id and key, on the next connection', async () => {
    const { calls, socket } = await openClient();
    const result = calls.call('echo', 'again');
    await vi.advanceTimersByTimeAsync(0);
    const first = socket.sentOfType('call')[0];
    socket.receiveText('null');
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeWebSocket.last();
    next.open();
    await vi.advanceTimersByTimeAsync(0);
    // The same call, id and key (its ack may differ: the ack says what has settled since).
    expect(next.sentOfType('call')[0]).toMatchObject({ id: first?.id, key: first?.key, name: first?.name });
    next.receive({ type: 'result', id: first?.id, output: 'again' });
    expect(await result).toBe('again');
  });

  it('climbs the backoff when every connection is refused at once: no spinning', async () => {
    const { states, socket } = await openClient();
    socket.receiveText('null');
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(8_000);
      FakeWebSocket.last().open();
      FakeWebSocket.last().receiveText('null');
    }
    const delays = states.filter((s) => s.state === 'reconnecting').map((s) => s.nextDelayMs);
    // half of 1 s, 2 s, 4 s, then the 8 s cap
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    expect(FakeWebSocket.created).toHaveLength(5);
  });

  it('stops for good when reconnect is off, failing what was waiting', async () => {
    const { calls, states, socket } = await openClient({ reconnect: false });
    const pending = calls.call('echo', 'x').catch((error: RpcError) => error.code);
    await vi.advanceTimersByTimeAsync(0);
    socket.receiveText('null');
    expect(states.at(-1)).toMatchObject({ state: 'closed', closeCode: 1002 });
    expect(await pending).toBe('UNAVAILABLE');
  });

  it('lets an error listener close the client: no reconnect follows', async () => {
    const { client: c, states, socket } = await openClient();
    c.on('error', () => void c.close());
    socket.receiveText('null');
    expect(c.state).toBe('closed');
    expect(states.filter((s) => s.state === 'reconnecting')).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.created).toHaveLength(1);
  });
});

describe('a well-formed message the client has no use for', () => {
  it.each([
    ['a result for an unknown id', { type: 'result', id: 999, output: 1 }],
    ['a result for a call that timed out', { type: 'result', id: 1, output: 'late' }],
    ['an error without id', { type: 'error', id: null, error: { code: 'BAD_REQUEST', message: 'no id' } }],
    ['an error for an unknown id', { type: 'error', id: 999, error: { code: 'NOPE', message: 'unknown code' } }],
    ['a subscribed for an unknown id', { type: 'subscribed', id: 999, key: '{}', position: 'e:1' }],
    ['a message on a stream not followed', { type: 'message', channel: 'feed', key: '{}', position: 'e:1', data: 1 }],
    ['a snapshot for an unknown id', { type: 'snapshot', id: 999, position: 'e:1', data: 1 }],
    ['a gap on a stream not followed', { type: 'gap', channel: 'feed', key: '{}', reason: 'dropped', dropped: 2 }],
    ['an unsubscribed for an unknown id', { type: 'unsubscribed', id: 999 }],
    ['an envelope type from a later v1', { type: 'hello', id: 'anything' }],
  ])('%s: dropped without an error, the connection kept', async (_what, envelope) => {
    const { calls, errors, states, socket } = await openClient();
    const late = calls.call('echo', 'slow', { timeoutMs: 100 }).catch((error: RpcError) => error.code);
    await vi.advanceTimersByTimeAsync(100);
    expect(await late).toBe('TIMEOUT'); // call 1 is over: its result is now late
    const before = states.length;

    expect(() => socket.receive(envelope)).not.toThrow();
    expect(errors).toEqual([]);
    expect(states.length).toBe(before);
    expect(socket.closedWith).toBeUndefined();

    // Still in use: a call on the same socket gets its answer.
    const answered = calls.call('echo', 'still here');
    await vi.advanceTimersByTimeAsync(0);
    const id = socket.sentOfType('call').at(-1)?.id;
    socket.receive({ type: 'result', id, output: 'still here' });
    expect(await answered).toBe('still here');
    expect(FakeWebSocket.created).toHaveLength(1);
  });
});
