import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connectClient, settle, startServer, whenOpen } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

describe('the client on its own', () => {
  it('validates input locally with the contract: BAD_REQUEST without a round-trip', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url, { validate: true });
    const outcome = await settle(client.call('user.create', { name: '', age: 3, tags: [] }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    if (outcome.ok) return;
    const { issues } = outcome.error.data as { issues: Array<{ path: unknown[]; message: string }> };
    expect(issues).toEqual([{ path: ['name'], message: expect.any(String) }]);
    // A valid call afterwards is the first thing the server ran.
    await expect(client.call('user.create', { name: 'ada', age: 36, tags: [] })).resolves.toEqual({ id: 'user-ada' });
    expect(probe.handled).toEqual(['user.create']);
    expect(probe.inputs).toEqual([{ name: 'ada', age: 36, tags: [] }]);
  });

  it('refuses an unknown procedure locally with the contract: NOT_FOUND', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url, { validate: true });
    const outcome = await settle(client.call('nope' as 'math.add', { a: 1, b: 2 }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(probe.handled).toEqual([]);
  });

  it('validates subscribe params locally with the contract', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url, { validate: true });
    const onError = vi.fn();
    const subscription = client.subscribe('chat.room', { room: 1 } as never, { onMessage() {}, onError });
    await settle(subscription.ready);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(probe.authorized).toEqual([]);
  });

  it("rejects a refused subscription's ready with the server's error, the one onError receives", async () => {
    const { url } = await startServer();
    const client = connectClient(url);
    const onError = vi.fn();
    const subscription = client.subscribe('chat.room', { room: 'private-x' }, { onMessage() {}, onError });
    const outcome = await settle(subscription.ready);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ code: 'FORBIDDEN' });
    expect(outcome.ok || outcome.error).toBe(onError.mock.calls[0]?.[0]);
  });

  it('rejects ready with CANCELLED when the caller unsubscribes first, without calling onError', async () => {
    const { url } = await startServer();
    const client = connectClient(url);
    const onError = vi.fn();
    const subscription = client.subscribe('chat.room', { room: 'a' }, { onMessage() {}, onError });
    subscription.unsubscribe();
    expect(await settle(subscription.ready)).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(onError).not.toHaveBeenCalled();
  });

  it('rejects pending calls with UNAVAILABLE on client.close()', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const first = settle(client.call('slow.wait', { tag: 'p1', ms: 10_000 }));
    const second = settle(client.call('slow.wait', { tag: 'p2', ms: 10_000 }));
    await Promise.all([probe.whenStarted('p1'), probe.whenStarted('p2')]);
    await client.close();
    expect(await first).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(await second).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(client.state).toBe('closed');
    const late = await settle(client.call('math.add', { a: 1, b: 2 }));
    expect(late).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });

  it('rejects calls queued before the socket opened with UNAVAILABLE on close()', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const queued = settle(client.call('math.add', { a: 1, b: 2 }));
    await client.close();
    expect(await queued).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(probe.handled).toEqual([]);
  });

  it('goes connecting → open → closed', async () => {
    const { url } = await startServer();
    const client = connectClient(url);
    const states: string[] = [client.state];
    client.on('state', (state) => states.push(state));
    await whenOpen(client);
    await client.close();
    expect(states).toEqual(['connecting', 'open', 'closed']);
  });

  it('goes connecting → closed and fails calls with UNAVAILABLE when the connection is refused', async () => {
    const { url, server } = await startServer();
    await server.close();
    const client = connectClient(url);
    const states: string[] = [client.state];
    client.on('state', (state) => states.push(state));
    const outcome = await settle(client.call('math.add', { a: 1, b: 2 }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(states).toEqual(['connecting', 'closed']);
  });
});
