import { randomUUID } from 'node:crypto';
import { RedisBroker } from '@switchboard/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, type Envelope, RawClient } from '../rpc/harness.js';
import { useRedisServer } from '../support/redis-server.js';
import { startTarget } from './fixtures/target.js';

// Finding 1 across nodes: the window shared through Redis holds each user's keys apart.

const { available, redis } = useRedisServer();

const brokers: RedisBroker[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

async function node(prefix: string) {
  const broker = new RedisBroker({ url: redis.url, prefix });
  brokers.push(broker);
  const target = await startTarget({
    broker,
    idempotency: { store: broker.idempotency, scope: (ctx) => ctx.user },
  });
  return target;
}

async function ask(client: RawClient, call: { id: number; [field: string]: unknown }): Promise<Envelope> {
  client.send(call);
  return client.reply(call.id);
}

const secret = (id: number, key: string) => ({ type: 'call', id, name: 'admin.secret', input: { n: 1 }, key });

describe.skipIf(!available)('the shared window (Redis)', () => {
  it("answers a user's re-send on another node with its outcome, and another user's same key with a run of its own", async () => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const a = await node(prefix);
    const b = await node(prefix);
    const admin = await RawClient.open(a.url('admin'));
    expect((await ask(admin, secret(1, 'sess.1'))).output).toBe("the admin's secret #1");

    const guest = await RawClient.open(b.url('guest'));
    const stolen = await ask(guest, secret(1, 'sess.1'));
    expect((stolen.error as { code: string }).code).toBe('FORBIDDEN');
    await ask(guest, { ...secret(2, 'sess.2'), ack: 1 }); // a foreign ack: no effect

    const adminAgain = await RawClient.open(b.url('admin'));
    expect((await ask(adminAgain, secret(1, 'sess.1'))).output).toBe("the admin's secret #1");
    expect([...a.probe.runs, ...b.probe.runs]).toEqual([
      'admin.secret admin 1',
      'admin.secret guest 1',
      'admin.secret guest 1',
    ]);
  });

  it('refuses a shared store without a scope, at construction', async () => {
    const broker = new RedisBroker({ url: redis.url, prefix: `s${randomUUID().slice(0, 8)}` });
    brokers.push(broker);
    await expect(startTarget({ broker, idempotency: { store: broker.idempotency } })).rejects.toThrow(
      /idempotency\.store needs idempotency\.scope/,
    );
  });
});
