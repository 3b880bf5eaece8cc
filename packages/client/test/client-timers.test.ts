import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Client, createClient, type RpcError } from '../src/index.js';
import { FakeWebSocket } from './fake-websocket.js';

// The client's timers with a fake clock and an in-memory WebSocket: heartbeat, offline
// queue expiry and reconnect delays, without a network or real time.

let client: Client<never> | undefined;

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  vi.useRealTimers();
});

function start(options: Record<string, unknown> = {}) {
  client = createClient<never>({
    url: 'ws://fake',
    WebSocket: FakeWebSocket as never,
    ...options,
  });
  return client as unknown as {
    call(name: string, input?: unknown, options?: object): Promise<unknown>;
    state: string;
    queuedCalls: number;
    on(
      event: 'state',
      listener: (state: string, info: { attempt: number; nextDelayMs?: number; queuedCalls: number }) => void,
    ): void;
  };
}

/** Lets the client's pending promise work (URL resolution, validation) run. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('heartbeat, with a fake clock', () => {
  it('pings after intervalMs of silence and gives the connection up timeoutMs later', async () => {
    const c = start({ heartbeat: { intervalMs: 1_000, timeoutMs: 500 }, reconnect: { initialDelayMs: 10_000 } });
    await settleMicrotasks();
    const socket = FakeWebSocket.last();
    socket.open();
    expect(c.state).toBe('open');

    await vi.advanceTimersByTimeAsync(1_600);
    expect(socket.sentOfType('ping')).toHaveLength(1);
    expect(c.state).toBe('open');

    await vi.advanceTimersByTimeAsync(600);
    expect(c.state).toBe('reconnecting');
  });

  it('keeps a connection that answers', async () => {
    const c = start({ heartbeat: { intervalMs: 1_000, timeoutMs: 500 } });
    await settleMicrotasks();
    const socket = FakeWebSocket.last();
    socket.open();
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(400);
      socket.receive({ type: 'pong' });
    }
    expect(c.state).toBe('open');
  });
});

describe('the offline queue, with a fake clock', () => {
  it('rejects a queued call with UNAVAILABLE after queue.maxAgeMs', async () => {
    const c = start({ queue: { maxAgeMs: 2_000 }, timeoutMs: 60_000, heartbeat: false });
    await settleMicrotasks();
    const outcome = c.call('echo', 'x').catch((error: RpcError) => error.code);
    await settleMicrotasks();
    expect(c.queuedCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(c.queuedCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toBe('UNAVAILABLE');
    expect(c.queuedCalls).toBe(0);
  });

  it('bounds the queue in UTF-8 bytes, as they go out, not in UTF-16 units', async () => {
    // `€` is one UTF-16 unit and three UTF-8 bytes: 300 of them are 300 units, 900 bytes.
    const c = start({ queue: { maxBytes: 1_000 }, heartbeat: false });
    await settleMicrotasks();
    const first = c.call('echo', '€'.repeat(300)).catch((error: RpcError) => error.code);
    const second = c.call('echo', '€'.repeat(300)).catch((error: RpcError) => error.code);
    await settleMicrotasks();
    expect(c.queuedCalls).toBe(1);
    expect(await second).toBe('UNAVAILABLE');
    void first;
  });

  it('sends queued calls in order once the connection opens', async () => {
    const c = start({ heartbeat: false });
    await settleMicrotasks();
    const ignore = () => {};
    c.call('echo', 'one').catch(ignore); // rejected by the close in afterEach
    c.call('echo', 'two').catch(ignore);
    await settleMicrotasks();
    const socket = FakeWebSocket.last();
    expect(socket.sent).toEqual([]);
    socket.open();
    await settleMicrotasks();
    // One message: calls sent in the same task leave as one batch.
    expect(socket.sent).toHaveLength(1);
    expect(socket.sentOfType('call').map((m) => m.input)).toEqual(['one', 'two']);
  });

  it('re-sends a call that was in flight with the same id and key after a reconnect', async () => {
    const c = start({ heartbeat: false, reconnect: { initialDelayMs: 100, maxDelayMs: 100, factor: 1 } });
    await settleMicrotasks();
    FakeWebSocket.last().open();
    const result = c.call('echo', 'again');
    await settleMicrotasks();
    const first = FakeWebSocket.last().sentOfType('call')[0];
    FakeWebSocket.last().drop();
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(100);
    const second = FakeWebSocket.last();
    second.open();
    await settleMicrotasks();
    const resent = second.sentOfType('call')[0];
    // The same call: its id and key (its ack may differ: the ack says what has settled since).
    const { ack: _ack, ...firstCall } = first ?? {};
    const { ack: _ack2, ...resentCall } = resent ?? {};
    expect(resentCall).toEqual(firstCall);
    second.receive({ type: 'result', id: resent?.id, output: 'again' });
    expect(await result).toBe('again');
  });
});

describe('state events while waiting, with a fake clock', () => {
  it('announces every change of the queued count while not open', async () => {
    const c = start({ heartbeat: false, reconnect: { initialDelayMs: 100, maxDelayMs: 100, factor: 1 } });
    await settleMicrotasks();
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop();
    const seen: Array<[string, number]> = [];
    c.on('state', (state, info) => seen.push([state, info.queuedCalls]));
    c.call('echo', 'one').catch(() => {});
    c.call('echo', 'two').catch(() => {});
    await settleMicrotasks();
    expect(seen).toEqual([
      ['reconnecting', 1],
      ['reconnecting', 2],
    ]);
  });

  it("goes offline when the browser does while it waits to reconnect, and back at once on 'online'", async () => {
    const listeners = new Map<string, () => void>();
    const navigator = { onLine: true };
    vi.stubGlobal('navigator', navigator);
    vi.stubGlobal('addEventListener', (type: string, listener: () => void) => listeners.set(type, listener));
    vi.stubGlobal('removeEventListener', (type: string) => listeners.delete(type));
    try {
      const c = start({ heartbeat: false, reconnect: { initialDelayMs: 10_000, maxDelayMs: 10_000, factor: 1 } });
      await settleMicrotasks();
      FakeWebSocket.last().open();
      FakeWebSocket.last().drop();
      expect(c.state).toBe('reconnecting');
      navigator.onLine = false;
      listeners.get('offline')?.();
      expect(c.state).toBe('offline');
      await vi.advanceTimersByTimeAsync(20_000);
      expect(FakeWebSocket.created).toHaveLength(1); // no attempt while offline
      navigator.onLine = true;
      listeners.get('online')?.();
      await settleMicrotasks();
      expect(FakeWebSocket.created).toHaveLength(2);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('reconnect delays, with a fake clock', () => {
  it('waits a jittered delay below the growing ceiling before each attempt', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const c = start({ heartbeat: false, reconnect: { initialDelayMs: 1_000, maxDelayMs: 3_000, factor: 2 } });
    const delays: Array<number | undefined> = [];
    c.on('state', (state, info) => {
      if (state === 'reconnecting') delays.push(info.nextDelayMs);
    });
    await settleMicrotasks();
    for (let attempt = 0; attempt < 4; attempt++) {
      FakeWebSocket.last().drop();
      await vi.advanceTimersByTimeAsync(3_000);
    }
    // half of 1 s, 2 s, then the 3 s cap
    expect(delays).toEqual([500, 1_000, 1_500, 1_500]);
    expect(FakeWebSocket.created).toHaveLength(5);
  });
});

describe('close codes, with a fake clock', () => {
  const reconnect = { initialDelayMs: 1_000, maxDelayMs: 8_000, factor: 2 };

  function recordStates(c: ReturnType<typeof start>) {
    const seen: Array<{ state: string; nextDelayMs: number | undefined; closeCode: number | undefined }> = [];
    (c as unknown as Client<never>).on('state', (state, info) =>
      seen.push({ state, nextDelayMs: info.nextDelayMs, closeCode: info.closeCode }),
    );
    return seen;
  }

  // 1001 going away, 1006 no close frame, 1011 server error, 1012 service restart.
  it.each([1001, 1006, 1011, 1012])('retries after close code %i within the first backoff step', async (code) => {
    const c = start({ heartbeat: false, reconnect });
    const seen = recordStates(c);
    await settleMicrotasks();
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop(code);
    expect(seen.at(-1)).toMatchObject({ state: 'reconnecting', closeCode: code });
    const delay = seen.at(-1)?.nextDelayMs as number;
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThan(reconnect.initialDelayMs);
    await vi.advanceTimersByTimeAsync(reconnect.initialDelayMs);
    expect(FakeWebSocket.created).toHaveLength(2);
    FakeWebSocket.last().open();
    expect(c.state).toBe('open');
  });

  it('backs off to [maxDelayMs / 2, maxDelayMs) after 1013 (try again later), not the first step', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    const c = start({ heartbeat: false, reconnect });
    const seen = recordStates(c);
    await settleMicrotasks();
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop(1013);
    // Lowest draw: half of maxDelayMs, where the first step would have retried at once.
    expect(seen.at(-1)).toEqual({ state: 'reconnecting', nextDelayMs: 4_000, closeCode: 1013 });
    await vi.advanceTimersByTimeAsync(3_999);
    expect(FakeWebSocket.created).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeWebSocket.created).toHaveLength(2);

    // Highest draw: just below maxDelayMs. A later ordinary loss goes on up the usual ramp.
    random.mockReturnValue(0.999);
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop(1013);
    expect(seen.at(-1)?.nextDelayMs).toBe(7_996);
    await vi.advanceTimersByTimeAsync(7_996);
    FakeWebSocket.last().drop(1006);
    // attempt 2 (after two 1013s): ceiling initialDelayMs × 2² = 4 s
    expect(seen.at(-1)).toEqual({ state: 'reconnecting', nextDelayMs: 3_996, closeCode: 1006 });
  });

  it.each([1002, 1008])('stops for good on close code %i and fails what was waiting', async (code) => {
    const c = start({ heartbeat: false, reconnect });
    const seen = recordStates(c);
    await settleMicrotasks();
    FakeWebSocket.last().open();
    const pending = c.call('echo', 'in flight').catch((error: RpcError) => error.code);
    await settleMicrotasks();
    FakeWebSocket.last().drop(code);
    expect(seen.at(-1)).toEqual({ state: 'closed', nextDelayMs: undefined, closeCode: code });
    expect(await pending).toBe('UNAVAILABLE');
    expect(await c.call('echo', 'after').catch((error: RpcError) => error.code)).toBe('UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.created).toHaveLength(1);
  });

  it('stops for good when the socket opens without the switchboard.v1 subprotocol', async () => {
    const c = start({ heartbeat: false, reconnect });
    const seen = recordStates(c);
    const queued = c.call('echo', 'queued').catch((error: RpcError) => error.code);
    await settleMicrotasks();
    FakeWebSocket.last().open(''); // a server (or an older one) that did not pick our protocol
    expect(seen.at(-1)).toMatchObject({ state: 'closed', closeCode: 1002 });
    expect(await queued).toBe('UNAVAILABLE');
    expect(FakeWebSocket.last().sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.created).toHaveLength(1);
  });
});

describe('ordering on open', () => {
  it('sends a subscription made from the open event once, after what was waiting', async () => {
    const c = start({ heartbeat: false });
    const subscribeOnOpen = (state: string) => {
      if (state !== 'open') return;
      (c as unknown as { subscribe(n: string, p: unknown, h: object): unknown }).subscribe(
        'news',
        { topic: 'a' },
        { onMessage() {} },
      );
    };
    c.on('state', subscribeOnOpen);
    c.call('echo', 'queued before open').catch(() => {});
    await settleMicrotasks();
    FakeWebSocket.last().open();
    await settleMicrotasks();
    expect(
      FakeWebSocket.last()
        .envelopes()
        .map((m) => m.type),
    ).toEqual(['call', 'subscribe']);
  });
});
