/**
 * client.call / client.subscribe against the fixture contract. Type-checked only (by `npm run typecheck`);
 * nothing here runs, so no socket is opened.
 */

import {
  type Client,
  type ContractFingerprint,
  type ContractSkew,
  createClient,
  type Joined,
  type MessageMeta,
  type ReloadRequiredData,
  type SkewReason,
  type Subscription,
} from '@switchboard/client';
import { contractFingerprint, type RpcError } from '@switchboard/contract';
import { expectTypeOf } from 'vitest';
import { type AppContract, contract, type User } from './fixture.js';

declare const client: Client<AppContract>;
declare const signal: AbortSignal;

// createClient needs only the contract's type; passing the contract value infers the same client.
expectTypeOf(createClient<AppContract>).returns.toEqualTypeOf<Client<AppContract>>();
expectTypeOf(createClient({ url: 'ws://x', contract })).toEqualTypeOf<Client<AppContract>>();
expectTypeOf(createClient<AppContract>({ url: () => Promise.resolve('ws://x') })).toEqualTypeOf<Client<AppContract>>();

// ---- outputs: the output schema's output type, Date/Map/Set/bigint and transforms included
expectTypeOf(client.call('add', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>();
expectTypeOf(client.call('add', { a: 1, b: 2 }, { timeoutMs: 2000, signal })).toEqualTypeOf<Promise<number>>();
expectTypeOf(client.call('user.get', { id: 'u1' })).toEqualTypeOf<Promise<User>>();
expectTypeOf(client.call('user.get', { id: 'u1' }))
  .resolves.toHaveProperty('createdAt')
  .toEqualTypeOf<Date>();
expectTypeOf(client.call('user.get', { id: 'u1' }))
  .resolves.toHaveProperty('tags')
  .toEqualTypeOf<Set<string>>();
expectTypeOf(client.call('stats.byId', { ids: ['a'] })).toEqualTypeOf<Promise<Map<string, bigint>>>();
expectTypeOf(client.call('time.parse', { at: '2024-01-01' })).toEqualTypeOf<Promise<number>>(); // output transform
expectTypeOf(client.call('page', {})).toEqualTypeOf<Promise<User[]>>(); // `limit` has a default
expectTypeOf(client.call('ping')).toEqualTypeOf<Promise<'pong'>>();

// ---- input may be omitted when the input schema accepts undefined
client.call('ping');
client.call('ping', undefined);
client.call('ping', undefined, { timeoutMs: 10 });
client.call('search');
client.call('search', { q: 'x' });
client.call('search', undefined, { signal });

// ---- wrong procedure names
// @ts-expect-error: no such procedure
client.call('subtract', { a: 1, b: 2 });
// @ts-expect-error: a channel is not a procedure
client.call('metrics', { host: 'a' });
// @ts-expect-error: names are exact (case)
client.call('Add', { a: 1, b: 2 });

// ---- wrong input shapes
// @ts-expect-error: b is a number
client.call('add', { a: 1, b: '2' });
// @ts-expect-error: b is missing
client.call('add', { a: 1 });
// @ts-expect-error: excess property
client.call('add', { a: 1, b: 2, c: 3 });
// @ts-expect-error: the caller sends the schema's *input*: a string, not the Date the handler gets
client.call('time.parse', { at: new Date() });
// @ts-expect-error: q is a string
client.call('search', { q: 1 });
// @ts-expect-error: ping takes no input
client.call('ping', { x: 1 });
// @ts-expect-error: options are not an input
client.call('ping', { timeoutMs: 1 });
// @ts-expect-error: unknown option
client.call('add', { a: 1, b: 2 }, { timeout: 1 });

// ---- missing input where it is required
// @ts-expect-error: add needs { a, b }
client.call('add');
// @ts-expect-error: undefined is not { a, b }
client.call('add', undefined);
// @ts-expect-error: user.get needs { id }
client.call('user.get');

// ---- subscribe: typed params and messages
const sub = client.subscribe(
  'metrics',
  { host: 'a' },
  {
    onMessage: (message, meta) => {
      expectTypeOf(message).toEqualTypeOf<{ at: Date; value: number }>();
      expectTypeOf(meta).toEqualTypeOf<MessageMeta>();
    },
    onError: (error) => expectTypeOf(error).toEqualTypeOf<RpcError>(),
  },
);
expectTypeOf(sub).toEqualTypeOf<Subscription>();
expectTypeOf(sub.ready).toEqualTypeOf<Promise<Joined>>();
client.subscribe(
  'chat.room',
  { id: '42' }, // params' input type: the string the transform turns into a number on the server
  { onMessage: (message) => expectTypeOf(message).toEqualTypeOf<{ text: string; at: Date }>() },
);

// @ts-expect-error: no such channel
client.subscribe('alerts', { host: 'a' }, { onMessage: () => {} });
// @ts-expect-error: a procedure is not a channel
client.subscribe('add', { a: 1, b: 2 }, { onMessage: () => {} });
// @ts-expect-error: host is a string
client.subscribe('metrics', { host: 1 }, { onMessage: () => {} });
// @ts-expect-error: params are required
client.subscribe('metrics', undefined, { onMessage: () => {} });
// @ts-expect-error: excess param
client.subscribe('metrics', { host: 'a', port: 1 }, { onMessage: () => {} });
// @ts-expect-error: chat.room params take the wire type (string), not the parsed number
client.subscribe('chat.room', { id: 42 }, { onMessage: () => {} });
// @ts-expect-error: onMessage is required
client.subscribe('metrics', { host: 'a' }, {});
client.subscribe(
  'metrics',
  { host: 'a' },
  {
    // @ts-expect-error: the message is { at, value }, not a string
    onMessage: (message: string) => message,
  },
);

// ---- deploy skew: a fingerprint generated at build time, and what the server says differs
// What `import fingerprint from './fingerprint.json'` gives (resolveJsonModule).
declare const fingerprintJson: {
  procedures: { add: { input: string; output: string } };
  channels: Record<string, never>;
};
createClient<AppContract>({ url: 'ws://x', fingerprint: fingerprintJson });
createClient<AppContract>({ url: 'ws://x', contract, fingerprint: false });
const schemasInstead = { procedures: { add: contract.procedures.add }, channels: {} };
// @ts-expect-error: a fingerprint's procedures carry hashes, not schemas
createClient<AppContract>({ url: 'ws://x', fingerprint: schemasInstead });
expectTypeOf(contractFingerprint(contract)).toEqualTypeOf<ContractFingerprint>();
client.on('reloadRequired', (skew) => {
  expectTypeOf(skew).toEqualTypeOf<ContractSkew>();
  expectTypeOf(skew.procedures).toEqualTypeOf<Record<string, SkewReason>>();
  expectTypeOf<SkewReason>().toEqualTypeOf<'removed' | 'changed' | 'input-changed'>();
});
declare const reload: RpcError;
if (reload.code === 'RELOAD_REQUIRED') {
  expectTypeOf(reload.data as ReloadRequiredData).toEqualTypeOf<{ reason: 'removed' | 'changed'; name: string }>();
}
