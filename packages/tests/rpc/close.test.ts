import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { once, within } from '../support/wait.js';
import { closeAll, connectClient, RawClient, settle, startServer, upgradeStatus, whenOpen } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

describe('graceful server.close()', () => {
  it('lets a running call finish, refuses new connections with 503, then closes clients with 1001', async () => {
    const { url, server, probe } = await startServer();
    const client = connectClient(url);
    const states: Array<[string, number | undefined]> = [];
    client.on('state', (state, info) => states.push([state, info.closeCode]));
    await whenOpen(client);
    expect(server.state).toBe('listening');
    expect(server.connections).toBe(1);

    const call = settle(client.call('slow.wait', { tag: 'drain', ms: 400 }), 5_000);
    await probe.whenStarted('drain');
    const closing = server.close();
    expect(server.state).toBe('draining');

    expect(await upgradeStatus(url)).toBe(503);
    // A new call on the open connection is refused while draining.
    const refused = await settle(client.call('math.add', { a: 1, b: 2 }));
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });

    expect(await call).toEqual({ ok: true, value: 'done:drain' });
    expect(probe.aborted.has('drain')).toBe(false);
    await within(closing, 5_000, 'server.close()');
    expect(server.state).toBe('closed');
    expect(server.connections).toBe(0);
    expect(client.state).toBe('closed');
    expect(states).toEqual([
      ['open', undefined],
      ['closed', 1001],
    ]);
  });

  it('sends close frame 1001 to a raw client', async () => {
    const { url, server } = await startServer();
    const raw = await RawClient.open(url);
    const closed = new Promise<number>((resolve) => raw.socket.once('close', (code) => resolve(code)));
    await within(server.close(), 5_000, 'server.close()');
    expect(await within(closed, 3_000, 'the close frame')).toBe(1001);
    expect(server.state).toBe('closed');
  });

  it('closes at once when no call is running, and a second close() is harmless', async () => {
    const { server, url } = await startServer();
    connectClient(url);
    await within(Promise.all([server.close(), server.close()]), 5_000, 'server.close() twice');
    expect(server.state).toBe('closed');
    await within(server.close(), 1_000, 'a third close()');
  });

  it('rejects publish after close with UNAVAILABLE', async () => {
    const { server } = await startServer();
    await server.close();
    const outcome = await settle(server.publish('chat.room', { room: 'a' }, { text: 'late' }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });

  it('ends subscriptions of connected clients with UNAVAILABLE', async () => {
    const { server, url } = await startServer();
    const client = connectClient(url);
    const onError = vi.fn();
    const subscription = client.subscribe('chat.room', { room: 'a' }, { onMessage() {}, onError });
    await subscription.ready;
    await server.close();
    await within(
      new Promise<void>((resolve) => {
        if (onError.mock.calls.length > 0) resolve();
        else onError.mockImplementation(() => resolve());
      }),
      3_000,
      'onError',
    );
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'UNAVAILABLE' }));
  });
});

describe('protocol version', () => {
  it.each([
    ['another switchboard version', 'switchboard.v2', 'switchboard.v2'],
    ['no subprotocol', undefined, ''],
  ])('opens for %s only to close it with 1002', async (_what, offered, selected) => {
    const { url } = await startServer();
    const socket = offered === undefined ? new WebSocket(url) : new WebSocket(url, offered);
    socket.on('error', () => {});
    await once(socket, 'open');
    expect(socket.protocol).toBe(selected);
    const [code, reason] = await once<[number, Buffer]>(socket, 'close');
    expect(code).toBe(1002);
    expect(reason.toString()).toBe('the switchboard.v1 subprotocol is required');
  });

  it('selects no subprotocol when only foreign ones are offered, so the client fails the handshake', async () => {
    const { url } = await startServer();
    const socket = new WebSocket(url, 'graphql-ws');
    const failed = once<[Error]>(socket, 'error');
    let opened = false;
    socket.on('open', () => {
      opened = true;
    });
    const [error] = await failed;
    expect(error.message).toMatch(/subprotocol/i);
    expect(opened).toBe(false);
  });
});
