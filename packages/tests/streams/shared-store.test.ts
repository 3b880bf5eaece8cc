import { binaryMessage, decodeValue, readMessage } from '@switchboard/contract';
import { createServer, type ServerLimits } from '@switchboard/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { scopeTag } from '../../server/src/rpc/shared-idempotency.js';
import { closeAll, PROTOCOL, RawClient } from '../rpc/harness.js';
import { once, until } from '../support/wait.js';
import { patterned, StreamProbe, streamRouter } from './fixtures.js';
import { MemoryStreamStore, streamsOnlyStore } from './memory-stream-store.js';

// The shared-store path (streams recorded for other processes) against a store in memory
// with the Redis store's semantics: races between claims, cuts and abandonment.

afterEach(closeAll);

async function node(store: MemoryStreamStore, limits: ServerLimits = {}) {
  const probe = new StreamProbe();
  const server = createServer({
    router: streamRouter(probe, true),
    heartbeat: false,
    limits,
    idempotency: { scope: (ctx) => (ctx as { user: string }).user, store: streamsOnlyStore(store) as never },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const connect = async (user: string) => {
    const raw = await RawClient.open(`ws://127.0.0.1:${port}`);
    raw.send({ type: 'auth', id: 0, data: { user } });
    await raw.next((e) => e.type === 'authenticated', 'authenticated');
    return raw;
  };
  return { probe, server, connect, port };
}

const answered = (raw: RawClient, id: number) =>
  raw.next((e) => e.id === id && (e.type === 'end' || e.type === 'error'), `an end or error for ${id}`);

describe('streams with a shared store', () => {
  it('counts streams whose claim is on its way toward maxStreams', async () => {
    const store = new MemoryStreamStore();
    let open = () => {};
    store.gate = new Promise((resolve) => {
      open = resolve;
    });
    const a = await node(store, { maxStreams: 4 });
    const raw = await a.connect('ada');
    for (let i = 1; i <= 20; i++) {
      raw.send({ type: 'stream', id: i, name: 'count', input: { to: 1_000, tag: `m${i}` }, key: `m.${i}`, credit: 2 });
    }
    const refused = await Promise.all(Array.from({ length: 16 }, (_, i) => raw.reply(i + 5)));
    expect(refused.map((e) => (e.error as { code: string }).code)).toEqual(Array(16).fill('TOO_MANY_REQUESTS'));
    open();
    await raw.next((e) => e.type === 'chunk' && e.id === 4 && e.seq === 2, 'the fourth stream to run');
    expect(a.probe.runs.size).toBe(4);
    await a.server.close();
  });

  it('runs a stream whose connection closed while its claim was on its way; the re-send gets every chunk', async () => {
    const store = new MemoryStreamStore();
    let open = () => {};
    store.gate = new Promise((resolve) => {
      open = resolve;
    });
    const a = await node(store);
    const first = await a.connect('ada');
    const input = { to: 10, tag: 'cut' };
    first.send({ type: 'stream', id: 1, name: 'count', input, key: 'c.1', credit: 64 });
    first.socket.terminate();
    open();
    await a.probe.until(() => a.probe.finished.has('cut'), 'the detached run to finish');
    const second = await a.connect('ada');
    second.send({ type: 'stream', id: 1, name: 'count', input, key: 'c.1', credit: 64 });
    expect(await answered(second, 1)).toMatchObject({ type: 'end', seq: 10 });
    expect(second.received.filter((e) => e.type === 'chunk').map((e) => e.seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(a.probe.runs.get('cut')).toBe(1);
    await a.server.close();
  });

  it('keeps the record of a finished run nobody resumed: another process answers with its chunks and end', async () => {
    const store = new MemoryStreamStore();
    const a = await node(store, { streamIdleMs: 20 });
    const b = await node(store);
    const input = { to: 3, tag: 'once' };
    const first = await a.connect('ada');
    first.send({ type: 'stream', id: 1, name: 'count', input, key: 't.1', credit: 64 });
    first.socket.terminate();
    await a.probe.until(() => a.probe.finished.has('once'), 'the run on A to finish');
    // Abandoned on A (streamIdleMs), its record stays.
    await until(() => a.server.metrics().streams.runs === 0, 'A to abandon the run');
    const second = await b.connect('ada');
    second.send({ type: 'stream', id: 1, name: 'count', input, key: 't.1', credit: 64 });
    expect(await answered(second, 1)).toMatchObject({ type: 'end', seq: 3, output: { total: 3 } });
    expect((a.probe.runs.get('once') ?? 0) + (b.probe.runs.get('once') ?? 0)).toBe(1);
    await a.server.close();
    await b.server.close();
  });

  it('relays byte chunks and a byte result from the record as bytes', async () => {
    const store = new MemoryStreamStore();
    const a = await node(store);
    const b = await node(store);
    const first = await a.connect('ada');
    const call = JSON.stringify({
      type: 'stream',
      id: 1,
      name: 'bytes',
      input: { sizes: [0, 5, 70_000], salt: 0 },
      meta: { values: { salt: [['custom', 'bytes']] }, v: 1, b: [1] },
      key: 'b.1',
      credit: 8,
    });
    first.socket.send(binaryMessage(call, [new Uint8Array([9])]));
    await first.next((e) => e.type === 'binary', 'a first chunk');
    await until(() => store.runs.get(`${scopeTag('ada')}b.1`)?.final !== undefined, 'the run to record its end');
    const second = new WebSocket(`ws://127.0.0.1:${b.port}`, PROTOCOL);
    const messages: Buffer[] = [];
    second.on('message', (data: Buffer) => messages.push(data));
    await once(second, 'open');
    second.send(JSON.stringify({ type: 'auth', id: 0, data: { user: 'ada' } }));
    second.send(binaryMessage(call, [new Uint8Array([9])]));
    while (messages.filter((m) => m.readUInt32BE(0) < 4096).length < 4) await once(second, 'message');
    const read = messages
      .filter((m) => m.readUInt32BE(0) < 4096)
      .map((m) => readMessage(new Uint8Array(m)) as Record<string, unknown>);
    const values = read.map((envelope) =>
      decodeValue(envelope.type === 'end' ? envelope.output : envelope.data, envelope.meta),
    );
    expect(read.map((e) => e.type)).toEqual(['chunk', 'chunk', 'chunk', 'end']);
    expect((values[2] as Uint8Array).byteLength).toBe(70_000);
    expect(Buffer.from(values[1] as Uint8Array).equals(Buffer.from(patterned(5, 10)))).toBe(true);
    expect(values[3]).toEqual({ salt: new Uint8Array([9]), total: 70_005 });
    second.close();
    await a.server.close();
    await b.server.close();
  });

  it('relays no more chunks than the client granted', async () => {
    const store = new MemoryStreamStore();
    const a = await node(store);
    const b = await node(store);
    const input = { to: 100, tag: 'granted' };
    const first = await a.connect('ada');
    first.send({ type: 'stream', id: 1, name: 'count', input, key: 'g.1', credit: 101 });
    await a.probe.until(() => a.probe.finished.has('granted'), 'the run on A to finish');
    const second = await b.connect('ada');
    second.send({ type: 'stream', id: 1, name: 'count', input, key: 'g.1', credit: 10 });
    await second.next((e) => e.type === 'chunk' && e.seq === 10, 'ten chunks');
    // A round trip: had the relay gone past the credit, more chunks would have arrived by now.
    second.send({ type: 'stream', id: 2, name: 'tokens', input: { text: 'a' }, key: 'g.2', credit: 2 });
    await answered(second, 2);
    expect(second.received.filter((e) => e.type === 'chunk' && e.id === 1)).toHaveLength(10);
    second.send({ type: 'credit', id: 1, n: 90, read: 10 });
    expect(await answered(second, 1)).toMatchObject({ type: 'end', seq: 100 });
    expect(second.received.filter((e) => e.type === 'chunk' && e.id === 1)).toHaveLength(100);
    await a.server.close();
    await b.server.close();
  });
});
