/**
 * A contract written with valibot instead of zod: any Standard Schema validator works in
 * zod's place, at run time (validation, BAD_REQUEST issues, publish checks, client-side
 * validation) and in the types (inferred inputs, outputs, params and messages).
 */
import { createClient } from '@switchboard/client';
import {
  type ChannelName,
  channel,
  defineContract,
  type HandlerOutputOf,
  type InputOf,
  type MessageOf,
  type OutputOf,
  type ParamsOf,
  type ParsedInputOf,
  procedure,
  RpcError,
} from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import * as v from 'valibot';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import { within } from '../support/wait.js';

const contract = defineContract({
  procedures: {
    'order.place': procedure({
      input: v.object({ sku: v.pipe(v.string(), v.minLength(3)), quantity: v.pipe(v.number(), v.integer()) }),
      output: v.object({ id: v.string(), total: v.number() }),
    }),
    'time.parse': procedure({
      input: v.object({
        at: v.pipe(
          v.string(),
          v.isoTimestamp(),
          v.transform((text) => new Date(text)),
        ),
      }),
      output: v.date(),
    }),
  },
  channels: {
    'stock.level': channel({
      params: v.object({ sku: v.string() }),
      message: v.object({ level: v.pipe(v.number(), v.minValue(0)) }),
    }),
  },
});
type ValibotContract = typeof contract;

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await Promise.allSettled(
    stops
      .splice(0)
      .reverse()
      .map((stop) => stop()),
  );
});

async function start() {
  const placed: Array<InputOf<ValibotContract, 'order.place'>> = [];
  const router = defineRouter(contract, {
    context: () => ({}),
    procedures: {
      'order.place': ({ input }) => {
        placed.push(input);
        return { id: `order-${placed.length}`, total: input.quantity * 2.5 };
      },
      'time.parse': ({ input }) => input.at,
    },
  });
  const server = createServer({ router, heartbeat: false });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  stops.push(() => server.close());
  const connect = (validate: boolean) => {
    const client = createClient<ValibotContract>({
      url: `ws://127.0.0.1:${port}`,
      WebSocket: WebSocket as never,
      reconnect: false,
      ...(validate ? { contract } : {}),
    });
    stops.push(() => client.close());
    return client;
  };
  return { server, placed, connect };
}

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  const error = await within(
    promise.then(
      () => undefined,
      (reason: unknown) => reason,
    ),
    3_000,
    'the call to fail',
  );
  expect(error).toBeInstanceOf(RpcError);
  return error as RpcError;
}

describe('a valibot contract', () => {
  it('infers the same named types as a zod contract', () => {
    expectTypeOf<InputOf<ValibotContract, 'order.place'>>().toEqualTypeOf<{ sku: string; quantity: number }>();
    expectTypeOf<OutputOf<ValibotContract, 'order.place'>>().toEqualTypeOf<{ id: string; total: number }>();
    expectTypeOf<InputOf<ValibotContract, 'time.parse'>>().toEqualTypeOf<{ at: string }>();
    expectTypeOf<ParsedInputOf<ValibotContract, 'time.parse'>>().toEqualTypeOf<{ at: Date }>();
    expectTypeOf<HandlerOutputOf<ValibotContract, 'time.parse'>>().toEqualTypeOf<Date>();
    expectTypeOf<ChannelName<ValibotContract>>().toEqualTypeOf<'stock.level'>();
    expectTypeOf<ParamsOf<ValibotContract, 'stock.level'>>().toEqualTypeOf<{ sku: string }>();
    expectTypeOf<MessageOf<ValibotContract, 'stock.level'>>().toEqualTypeOf<{ level: number }>();

    // Handlers and calls are checked against those types.
    defineRouter(contract, {
      context: () => ({}),
      procedures: {
        // @ts-expect-error: the output needs `total`
        'order.place': () => ({ id: 'x' }),
        'time.parse': ({ input }) => input.at,
      },
    });
    const typed = (client: ReturnType<typeof createClient<ValibotContract>>) => {
      // @ts-expect-error: quantity is a number
      void client.call('order.place', { sku: 'abc', quantity: '2' });
      // @ts-expect-error: no such procedure
      void client.call('order.cancel', {});
    };
    expect(typed).toBeTypeOf('function');
  });

  it('validates calls on the server and answers bad input with BAD_REQUEST and its issues', async () => {
    const { connect, placed } = await start();
    const client = connect(false);
    await expect(client.call('order.place', { sku: 'abc', quantity: 4 })).resolves.toEqual({
      id: 'order-1',
      total: 10,
    });
    const when = await client.call('time.parse', { at: '2024-02-29T12:00:00.000Z' });
    expect(when).toBeInstanceOf(Date);
    expect(when.toISOString()).toBe('2024-02-29T12:00:00.000Z');

    const error = await failure(client.call('order.place', { sku: 'ab', quantity: 1.5 }));
    expect(error.code).toBe('BAD_REQUEST');
    const issues = (error.data as { issues: Array<{ path: unknown[] }> }).issues;
    expect(issues.map((issue) => issue.path)).toEqual([['sku'], ['quantity']]);
    expect(placed).toEqual([{ sku: 'abc', quantity: 4 }]);
  });

  it('validates on the client when given the contract, before anything is sent', async () => {
    const { connect, placed } = await start();
    const client = connect(true);
    const error = await failure(client.call('order.place', { sku: 'x', quantity: 1 }));
    expect(error.code).toBe('BAD_REQUEST');
    await expect(client.call('order.place', { sku: 'xyz', quantity: 1 })).resolves.toMatchObject({ id: 'order-1' });
    expect(placed).toEqual([{ sku: 'xyz', quantity: 1 }]);
  });

  it('validates subscriptions and published messages against the valibot schemas', async () => {
    const { server, connect } = await start();
    const client = connect(false);
    const levels: number[] = [];
    let resolveTwo = () => {};
    const two = new Promise<void>((resolve) => {
      resolveTwo = resolve;
    });
    const subscription = client.subscribe(
      'stock.level',
      { sku: 'abc' },
      {
        onMessage: (message) => {
          levels.push(message.level);
          if (levels.length === 2) resolveTwo();
        },
      },
    );
    await within(subscription.ready, 3_000, 'the subscription');

    await expect(server.publish('stock.level', { sku: 'abc' }, { level: -1 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await server.publish('stock.level', { sku: 'abc' }, { level: 7 });
    await server.publish('stock.level', { sku: 'other' }, { level: 99 });
    await server.publish('stock.level', { sku: 'abc' }, { level: 3 });
    await within(two, 3_000, 'two stock levels');
    expect(levels).toEqual([7, 3]);

    const bad = client.subscribe('stock.level', { sku: 42 } as never, { onMessage: () => {} });
    const refused = await failure(bad.ready);
    expect(refused.code).toBe('BAD_REQUEST');
  });
});
