/**
 * Misspelled procedure and channel names: still compile errors, now with a message that names
 * the close match (the text itself is checked in name-errors.test.ts); correct names, generic
 * wrappers and non-literal names type as before. Type-checked only.
 */
import type { Client, Subscription } from '@switchboard/client';
import type { ChannelName, MessageOf, ParamsOf, ProcedureName } from '@switchboard/contract';
import type { SwitchboardServer } from '@switchboard/server';
import { expectTypeOf } from 'vitest';
import type { AppContract } from './fixture.js';

declare const client: Client<AppContract>;
declare const server: SwitchboardServer<AppContract>;

// ---- a misspelled name is an error at the name
// @ts-expect-error: 'ad' is not a procedure of the contract. Did you mean 'add'?
client.call('ad', { a: 1, b: 2 });
// @ts-expect-error: same letters, other case
client.call('USER.GET', { id: 'u1' });
// @ts-expect-error: the last dot-separated part is a procedure's
client.call('get', { id: 'u1' });
// @ts-expect-error: wrong name, no input: still the name's error, not an arity error
client.call('pnig');
// @ts-expect-error: 'metric' is not a channel of the contract. Did you mean 'metrics'?
client.subscribe('metric', { host: 'a' }, { onMessage: () => {} });
// @ts-expect-error: a procedure is not a channel
client.subscribe('add', { host: 'a' }, { onMessage: () => {} });
// @ts-expect-error: 'chat.rooms' is not a channel of the contract. Did you mean 'chat.room'?
server.publish('chat.rooms', { id: '1' }, { text: 'hi', at: '2024-01-01' });

// ---- correct names infer as before
expectTypeOf(client.call('add', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>();
expectTypeOf(client.call('ping')).toEqualTypeOf<Promise<'pong'>>();
expectTypeOf(client.subscribe('metrics', { host: 'a' }, { onMessage: () => {} })).toEqualTypeOf<Subscription>();
client.subscribe(
  'metrics',
  { host: 'a' },
  { onMessage: (message) => expectTypeOf(message.value).toEqualTypeOf<number>() },
);
expectTypeOf(server.publish('metrics', { host: 'a' }, { at: new Date(), value: 1 })).toEqualTypeOf<Promise<void>>();
// @ts-expect-error: a correct name with a wrong input is the input's error, as before
client.call('add', { a: 1, b: '2' });

// ---- generic wrappers over the names still compile
function follow<K extends ChannelName<AppContract>>(
  channel: K,
  params: ParamsOf<AppContract, K>,
  apply: (message: MessageOf<AppContract, K>) => void,
): Subscription {
  return client.subscribe(channel, params, { onMessage: (message) => apply(message) });
}
follow('metrics', { host: 'a' }, (message) => expectTypeOf(message.value).toEqualTypeOf<number>());
function callAny<K extends ProcedureName<AppContract>>(name: K) {
  return client.call(name, undefined as never);
}
callAny('ping');

// ---- a name typed `string` is refused, as before; a union of names is taken
declare const someString: string;
// @ts-expect-error: not known to be a procedure name
client.call(someString, { a: 1, b: 2 });
declare const someName: 'ping' | 'search';
client.call(someName);
