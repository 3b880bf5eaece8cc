import { ERROR_CODES } from '@switchboard/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { once } from '../support/wait.js';
import { SECRET } from './fixtures/contract.js';
import { closeAll, connectClient, RawClient, settle, startServer, upgradeStatus } from './harness.js';

vi.setConfig({ testTimeout: 15_000 });

afterEach(closeAll);

describe('error codes reaching the caller', () => {
  it('answers invalid input with BAD_REQUEST carrying the zod issues (path and message)', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('user.create', { name: '', age: -1.5, tags: ['ok', 7] } as never));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('BAD_REQUEST');
    const { issues } = outcome.error.data as { issues: Array<{ path: unknown[]; message: string }> };
    expect(issues.map((issue) => issue.path)).toEqual(expect.arrayContaining([['name'], ['age'], ['tags', 1]]));
    for (const issue of issues) expect(issue.message).toEqual(expect.any(String));
    expect(issues.find((issue) => issue.path[0] === 'tags')?.message).toMatch(/expected string/);
    expect(probe.handled).toEqual([]);
  });

  it('answers an unknown procedure with NOT_FOUND', async () => {
    const { url } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('math.divide' as 'math.add', { a: 1, b: 2 }));
    expect(outcome.ok || outcome.error.code).toBe('NOT_FOUND');

    // Prototype names are not procedures either.
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 1, name: 'toString', input: {} });
    raw.send({ type: 'call', id: 2, name: '__proto__', input: {} });
    expect(await raw.reply(1)).toMatchObject({ type: 'error', error: { code: 'NOT_FOUND' } });
    expect(await raw.reply(2)).toMatchObject({ type: 'error', error: { code: 'NOT_FOUND' } });
  });

  it('answers a subscription to an unknown channel with NOT_FOUND', async () => {
    const { url } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'subscribe', id: 'sub-1', name: 'metrics.nope', params: { host: 'a' } });
    raw.send({ type: 'subscribe', id: 'sub-2', name: 'constructor', params: {} });
    expect(await raw.reply('sub-1')).toMatchObject({ type: 'error', error: { code: 'NOT_FOUND' } });
    expect(await raw.reply('sub-2')).toMatchObject({ type: 'error', error: { code: 'NOT_FOUND' } });

    const client = connectClient(url);
    const onError = vi.fn();
    const subscription = client.subscribe('metrics.nope' as 'metrics.host', { host: 'a' }, { onMessage() {}, onError });
    await expect(subscription.ready).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('turns a thrown plain Error into INTERNAL without leaking its message or stack', async () => {
    const { url, onError } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('fail.plain', {}));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('INTERNAL');
    expect(outcome.error.message).toBe(ERROR_CODES.INTERNAL.message);
    expect(outcome.error.data).toBeUndefined();

    // On the wire: nothing but the generic error.
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 9, name: 'fail.plain', input: {} });
    const reply = await raw.reply(9);
    expect(reply).toEqual({ type: 'error', id: 9, error: { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message } });
    const text = raw.texts.join('\n');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('connect failed');
    expect(text).not.toMatch(/\bat .*\.ts:\d+/);

    // The server's onError was told, with the original error.
    expect(onError).toHaveBeenCalledTimes(2);
    const [error, where] = onError.mock.calls[0] ?? [];
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(SECRET);
    expect(where).toEqual({ procedure: 'fail.plain' });
  });

  it('turns a handler result that fails the output schema into INTERNAL and tells onError', async () => {
    const { url, onError, probe } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('fail.badOutput', {}));
    expect(probe.handled).toEqual(['fail.badOutput']);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('INTERNAL');
    expect(outcome.error.message).toBe(ERROR_CODES.INTERNAL.message);
    expect(JSON.stringify(outcome.error.data ?? null)).not.toContain('not a number');
    expect(onError).toHaveBeenCalledWith(expect.any(Error), { procedure: 'fail.badOutput' });
  });

  it('rejects with TIMEOUT at the client deadline', async () => {
    const { url } = await startServer();
    const client = connectClient(url);
    const started = Date.now();
    const outcome = await settle(client.call('slow.wait', { tag: 't', ms: 5_000 }, { timeoutMs: 150 }));
    expect(outcome.ok || outcome.error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('answers TIMEOUT from the server at limits.maxCallDurationMs, whatever deadline the client asks', async () => {
    const { url, probe } = await startServer({ limits: { maxCallDurationMs: 150 } });
    const client = connectClient(url);
    const outcome = await settle(client.call('slow.wait', { tag: 'long', ms: 5_000 }, { timeoutMs: 10_000 }));
    expect(outcome.ok || outcome.error.code).toBe('TIMEOUT');
    expect(outcome.ok || outcome.error.message).toMatch(/150 ms/);
    expect(await probe.whenAborted('long')).toMatchObject({ code: 'TIMEOUT' });
  });

  it('answers TIMEOUT at limits.maxCallDurationMs even when the handler ignores its signal', async () => {
    const { url, probe } = await startServer({ limits: { maxCallDurationMs: 150 } });
    const client = connectClient(url);
    const startedAt = Date.now();
    const outcome = await settle(
      client.call('slow.stubborn', { tag: 'deaf', ms: 2_000 }, { timeoutMs: 10_000 }),
      5_000,
    );
    const elapsedMs = Date.now() - startedAt;
    expect(outcome.ok || outcome.error.code).toBe('TIMEOUT');
    // The deadline is the server's promise to the caller: it must not wait for the handler.
    expect({ handlerFinishedFirst: probe.finished.has('deaf'), withinOneSecond: elapsedMs < 1_000 }).toEqual({
      handlerFinishedFirst: false,
      withinOneSecond: true,
    });
  });

  it('rejects with CANCELLED when the caller aborts', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const controller = new AbortController();
    const call = settle(client.call('slow.wait', { tag: 'c', ms: 5_000 }, { signal: controller.signal }));
    await probe.whenStarted('c');
    controller.abort();
    const outcome = await call;
    expect(outcome.ok || outcome.error.code).toBe('CANCELLED');
  });

  it('rejects an already-aborted signal with CANCELLED without reaching the server', async () => {
    const { url, probe } = await startServer();
    const client = connectClient(url);
    const outcome = await settle(client.call('math.add', { a: 1, b: 1 }, { signal: AbortSignal.abort() }));
    expect(outcome.ok || outcome.error.code).toBe('CANCELLED');
    await expect(client.call('math.add', { a: 1, b: 1 })).resolves.toBe(2);
    expect(probe.handled).toEqual(['math.add']);
  });
});

describe('refusing a connection from context', () => {
  it.each([
    ['UNAUTHORIZED', 4401, 'none'],
    ['FORBIDDEN', 4403, 'banned'],
  ] as const)(
    'answers %s from context with close %i before any message is dispatched',
    async (code, closeCode, auth) => {
      const { url, probe } = await startServer();
      // The upgrade itself succeeds: a browser could not read an HTTP status.
      expect(await upgradeStatus(`${url}/?auth=${auth}`)).toBe(101);

      const raw = await RawClient.open(`${url}/?auth=${auth}`);
      raw.send({ type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 } });
      const [closed] = await once<[number, Buffer]>(raw.socket, 'close');
      expect(closed).toBe(closeCode);

      const client = connectClient(`${url}/?auth=${auth}`);
      const outcome = await settle(client.call('math.add', { a: 1, b: 2 }));
      expect(outcome.ok || outcome.error.code).toBe(code);
      expect(client.state).toBe('unauthorized');
      expect(probe.contexts).toEqual([`?auth=${auth}`, `?auth=${auth}`]);
      expect(probe.handled).toEqual([]);
    },
  );

  it('closes with 1011 when context throws a plain Error, and tells onError', async () => {
    const { url, onError, probe } = await startServer();
    const raw = await RawClient.open(`${url}/?auth=crash`);
    raw.send({ type: 'call', id: 1, name: 'math.add', input: { a: 1, b: 2 } });
    const [closed] = await once<[number, Buffer]>(raw.socket, 'close');
    expect(closed).toBe(1011);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(probe.handled).toEqual([]);
  });

  it('accepts the upgrade when context returns', async () => {
    const { url } = await startServer();
    expect(await upgradeStatus(`${url}/?user=ada`)).toBe(101);
  });
});

describe('per-connection limits', () => {
  it('answers calls beyond limits.maxInFlightCalls with TOO_MANY_REQUESTS, then accepts again', async () => {
    const { url, probe } = await startServer({ limits: { maxInFlightCalls: 2 } });
    const client = connectClient(url);
    const first = settle(client.call('slow.wait', { tag: 'one', ms: 300 }), 5_000);
    const second = settle(client.call('slow.wait', { tag: 'two', ms: 300 }), 5_000);
    await Promise.all([probe.whenStarted('one'), probe.whenStarted('two')]);
    const third = await settle(client.call('math.add', { a: 1, b: 2 }));
    expect(third.ok || third.error.code).toBe('TOO_MANY_REQUESTS');
    expect(await first).toEqual({ ok: true, value: 'done:one' });
    expect(await second).toEqual({ ok: true, value: 'done:two' });
    await expect(client.call('math.add', { a: 1, b: 2 })).resolves.toBe(3);
    expect(probe.handled).toEqual(['slow.wait', 'slow.wait', 'math.add']);
  });

  it('answers subscriptions beyond limits.maxSubscriptions with TOO_MANY_REQUESTS', async () => {
    const { url } = await startServer({ limits: { maxSubscriptions: 2 } });
    const client = connectClient(url);
    const a = client.subscribe('metrics.host', { host: 'a' }, { onMessage() {} });
    const b = client.subscribe('metrics.host', { host: 'b' }, { onMessage() {} });
    await Promise.all([a.ready, b.ready]);
    const onError = vi.fn();
    const c = client.subscribe('metrics.host', { host: 'c' }, { onMessage() {}, onError });
    await expect(c.ready).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'TOO_MANY_REQUESTS' }));

    // Freeing one makes room again.
    a.unsubscribe();
    const d = client.subscribe('metrics.host', { host: 'd' }, { onMessage() {} });
    await expect(d.ready).resolves.toEqual({ snapshot: false });
  });
});

describe('malformed envelopes from a raw client', () => {
  it('answers a second call with an id already in flight with BAD_REQUEST and keeps the first', async () => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.send({ type: 'call', id: 7, name: 'slow.wait', input: { tag: 'first', ms: 200 } });
    await probe.whenStarted('first');
    raw.send({ type: 'call', id: 7, name: 'slow.wait', input: { tag: 'second', ms: 0 } });
    const duplicate = await raw.reply(7);
    expect(duplicate).toMatchObject({ type: 'error', id: 7, error: { code: 'BAD_REQUEST' } });
    const result = await raw.next((envelope) => envelope.type === 'result' && envelope.id === 7, 'the first result');
    expect(result).toEqual({ type: 'result', id: 7, output: 'done:first' });
    expect(probe.started.has('second')).toBe(false);
  });

  // Each field's rules are unit-tested in packages/contract/test/protocol.test.ts; here, one
  // of each kind of refusal through a real server, which must answer it and stay up.
  const MALFORMED: Array<[string, string | Buffer, unknown]> = [
    ['non-JSON text', '{"type": "call", ', null],
    ['an empty JSON array (batch)', '[]', null],
    ['a batch holding a non-object', '[42]', null],
    ['a batch holding a batch', '[[{"type":"ping"}]]', null],
    ['JSON null', 'null', null],
    ['a JSON number', '42', null],
    ['a JSON string', '"call"', null],
    ['an object id', '{"type":"call","id":{"x":1},"name":"math.add","input":{"a":1,"b":2}}', null],
    ['a numeric name', '{"type":"call","id":11,"name":5}', 11],
    ['a string timeoutMs', '{"type":"call","id":13,"name":"math.add","input":{"a":1,"b":2},"timeoutMs":"5"}', 13],
    ['an unknown type', '{"type":"explode","id":15}', 15],
    ['a binary frame', Buffer.from('{"type":"call","id":17,"name":"math.add","input":{"a":1,"b":2}}'), null],
    [
      'a __proto__ key in the input',
      '{"type":"call","id":18,"name":"math.add","input":{"a":1,"b":2,"__proto__":{"polluted":"yes"}}}',
      null,
    ],
    [
      'a nested __proto__ key in subscribe params',
      '{"type":"subscribe","id":19,"name":"chat.room","params":{"room":"x","o":{"__proto__":{"polluted":"yes"}}}}',
      null,
    ],
    [
      'superjson meta with a path through __proto__',
      JSON.stringify({
        type: 'call',
        id: 20,
        name: 'math.add',
        input: { a: 1, b: 2 },
        meta: { values: { '__proto__.polluted': ['undefined'] } },
      }),
      20,
    ],
    [
      'superjson meta with a path through constructor.prototype',
      JSON.stringify({
        type: 'call',
        id: 21,
        name: 'math.add',
        input: { a: 1, b: 2 },
        meta: { values: { 'constructor.prototype.polluted': ['undefined'] } },
      }),
      21,
    ],
    [
      'superjson referential meta through __proto__',
      JSON.stringify({
        type: 'call',
        id: 22,
        name: 'math.add',
        input: { a: 1, b: 2, c: { polluted: 'yes' } },
        meta: { referentialEqualities: { c: ['__proto__'] } },
      }),
      22,
    ],
    [
      'superjson meta naming an unknown type',
      '{"type":"call","id":24,"name":"math.add","input":{"a":1,"b":2},"meta":{"values":{"a":["nope"]}}}',
      24,
    ],
  ];

  it.each([
    ['a string', '"garbage"'],
    ['a number', '5'],
    ['an array', '[]'],
    ['an object whose values are not an object', '{"values":5}'],
  ])('answers a call whose superjson meta is %s and keeps the connection up', async (_name, meta) => {
    const { url } = await startServer();
    const raw = await RawClient.open(url);
    raw.send(`{"type":"call","id":23,"name":"math.add","input":{"a":1,"b":2},"meta":${meta}}`);
    // Either a BAD_REQUEST or the plain-JSON result: superjson ignores meta it cannot read.
    const reply = await raw.reply(23);
    const outcome = reply.type === 'result' ? reply.output : (reply.error as { code: string }).code;
    expect(outcome).toBeOneOf([3, 'BAD_REQUEST']);
    raw.send({ type: 'call', id: 'after', name: 'math.add', input: { a: 20, b: 22 } });
    expect(await raw.reply('after')).toEqual({ type: 'result', id: 'after', output: 42 });
  });

  it.each(MALFORMED)('answers %s with BAD_REQUEST and keeps the connection up', async (_name, message, id) => {
    const { url, probe } = await startServer();
    const raw = await RawClient.open(url);
    raw.socket.send(message, { binary: Buffer.isBuffer(message) });
    const reply = await raw.next((envelope) => envelope.type === 'error', 'an error reply');
    expect(reply).toMatchObject({ type: 'error', id, error: { code: 'BAD_REQUEST', message: expect.any(String) } });
    expect(raw.received).toHaveLength(1);

    raw.send({ type: 'call', id: 'after', name: 'math.add', input: { a: 20, b: 22 } });
    expect(await raw.reply('after')).toEqual({ type: 'result', id: 'after', output: 42 });
    expect(raw.isOpen).toBe(true);
    expect(probe.handled).toEqual(['math.add']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
