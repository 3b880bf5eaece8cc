/** server.publish and createServer typing. Type-checked only (by `npm run typecheck`). */
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import { expectTypeOf } from 'vitest';
import { type AppContract, contract } from './fixture.js';

declare const server: SwitchboardServer<AppContract>;

const router = defineRouter(contract, {
  context: async () => ({ user: 'u1' }),
  procedures: {
    add: ({ input }) => input.a + input.b,
    'user.get': async () => ({ id: 'u1', name: 'Ada', createdAt: new Date(), tags: new Set<string>() }),
    'stats.byId': () => new Map<string, bigint>(),
    'time.parse': ({ input }) => input.at.toISOString(),
    page: () => [],
    ping: () => 'pong' as const,
    search: () => [],
  },
});
expectTypeOf(createServer({ router })).toEqualTypeOf<SwitchboardServer<AppContract, { user: string }>>();

// disconnect's filter gets the router's ctx type
const typed = createServer({ router });
expectTypeOf(typed.disconnect((ctx) => ctx.user === 'u1', 'revoked')).toEqualTypeOf<Promise<number>>();
// @ts-expect-error: the ctx has no id
typed.disconnect((ctx) => ctx.id === 'u1', 'revoked');

// hooks, handlers and authorize see the connection, typed with the ctx
createServer({
  router: defineRouter(contract, {
    context: ({ auth }) => ({ user: String(auth) }),
    procedures: {
      add: ({ input, connection }) => {
        expectTypeOf(connection.ctx).toEqualTypeOf<{ user: string }>();
        expectTypeOf(connection.id).toEqualTypeOf<string>();
        return input.a + input.b;
      },
      'user.get': async () => ({ id: 'u1', name: 'Ada', createdAt: new Date(), tags: new Set<string>() }),
      'stats.byId': () => new Map<string, bigint>(),
      'time.parse': ({ input }) => input.at.toISOString(),
      page: () => [],
      ping: () => 'pong' as const,
      search: () => [],
    },
    channels: { metrics: { authorize: ({ connection }) => connection.ctx.user !== '' } },
  }),
  onConnect: (connection) => expectTypeOf(connection.ctx).toEqualTypeOf<{ user: string }>(),
  onDisconnect: (connection, { code }) => {
    expectTypeOf(connection.remoteAddress).toEqualTypeOf<string | undefined>();
    expectTypeOf(code).toEqualTypeOf<number>();
  },
});

// publish takes the params' and the message's *input* types (both are validated and parsed before fan-out)
expectTypeOf(server.publish('metrics', { host: 'a' }, { at: new Date(), value: 1 })).toEqualTypeOf<Promise<void>>();
server.publish('chat.room', { id: '42' }, { text: 'hi', at: '2024-01-01T00:00:00Z' });

// @ts-expect-error: no such channel
server.publish('alerts', { host: 'a' }, { at: new Date(), value: 1 });
// @ts-expect-error: a procedure is not a channel
server.publish('add', { a: 1, b: 2 }, 3);
// @ts-expect-error: host is a string
server.publish('metrics', { host: 1 }, { at: new Date(), value: 1 });
// @ts-expect-error: excess param
server.publish('metrics', { host: 'a', port: 1 }, { at: new Date(), value: 1 });
// @ts-expect-error: value is a number
server.publish('metrics', { host: 'a' }, { at: new Date(), value: '1' });
// @ts-expect-error: at is a Date
server.publish('metrics', { host: 'a' }, { at: '2024-01-01', value: 1 });
// @ts-expect-error: chat.room messages are published in their input form: `at` is a string
server.publish('chat.room', { id: '42' }, { text: 'hi', at: new Date() });
// @ts-expect-error: the message is required
server.publish('metrics', { host: 'a' });
