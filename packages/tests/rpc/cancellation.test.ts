import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connectClient, RawClient, settle, startServer } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

describe("cancellation reaching the handler's signal", () => {
  it('aborts the handler signal with CANCELLED when the caller aborts', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const controller = new AbortController();
    const call = settle(client.call('slow.wait', { tag: 'abort-me', ms: 10_000 }, { signal: controller.signal }));
    await probe.whenStarted('abort-me');
    controller.abort();
    expect(await probe.whenAborted('abort-me')).toMatchObject({ code: 'CANCELLED' });
    expect((await call).ok).toBe(false);
    expect(probe.finished.has('abort-me')).toBe(false);
  });

  it('aborts the handler signal when the client deadline passes', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const call = settle(client.call('slow.wait', { tag: 'late', ms: 10_000 }, { timeoutMs: 200 }));
    await probe.whenStarted('late');
    expect((await call).ok || 'rejected').toBe('rejected');
    // The client sends `cancel` and the server has the same deadline: either reason will do.
    expect(await probe.whenAborted('late')).toMatchObject({ code: expect.toBeOneOf(['CANCELLED', 'TIMEOUT']) });
  });

  it('aborts the handler signal at the deadline a raw client sends in timeoutMs', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'slow.wait', input: { tag: 'raw-late', ms: 10_000 }, timeoutMs: 150 });
    expect(await probe.whenAborted('raw-late')).toMatchObject({ code: 'TIMEOUT' });
    expect(await raw.reply(1)).toMatchObject({ type: 'error', error: { code: 'TIMEOUT' } });
  });

  it('aborts the handler signal when the client closes: its calls are cancelled', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const call = settle(client.call('slow.wait', { tag: 'gone', ms: 10_000 }));
    await probe.whenStarted('gone');
    await client.close();
    expect(await call).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(await probe.whenAborted('gone')).toMatchObject({ code: 'CANCELLED' });
  });

  it('aborts the handler signal when a raw client drops the TCP connection', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'slow.wait', input: { tag: 'dropped', ms: 10_000 } });
    await probe.whenStarted('dropped');
    raw.socket.terminate();
    expect(await probe.whenAborted('dropped')).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('sends no reply for a call the raw client cancelled, and frees its id', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 5, name: 'slow.wait', input: { tag: 'c1', ms: 10_000 } });
    await probe.whenStarted('c1');
    raw.send({ type: 'cancel', id: 5 });
    expect(await probe.whenAborted('c1')).toMatchObject({ code: 'CANCELLED' });
    // The same id is free again once the cancelled call has settled; its reply is the marker.
    raw.send({ type: 'call', id: 'marker', name: 'math.add', input: { a: 1, b: 1 } });
    await raw.reply('marker');
    raw.send({ type: 'call', id: 5, name: 'math.add', input: { a: 2, b: 3 } });
    expect(await raw.reply(5)).toEqual({ type: 'result', id: 5, output: 5 });
    expect(raw.received.filter((envelope) => envelope.id === 5)).toHaveLength(1);
  });
});
