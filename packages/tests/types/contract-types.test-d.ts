/**
 * The named inferred types of @switchboard/contract: what callers send and receive (InputOf, OutputOf,
 * ParamsOf, MessageOf) and what the server sees (ParsedInputOf, HandlerOutputOf, ParsedParamsOf, PublishedMessageOf).
 * Checked by `npm run typecheck`; the assertions are no-ops at run time.
 */
import type {
  ChannelName,
  HandlerOutputOf,
  InputOf,
  MessageOf,
  OutputOf,
  ParamsOf,
  ParsedInputOf,
  ParsedParamsOf,
  ProcedureName,
  PublishedMessageOf,
} from '@switchboard/contract';
import { channel, defineContract, procedure } from '@switchboard/contract';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { AppContract, User } from './fixture.js';

describe('contract types by name', () => {
  it('names procedures and channels', () => {
    expectTypeOf<ProcedureName<AppContract>>().toEqualTypeOf<
      'add' | 'user.get' | 'stats.byId' | 'time.parse' | 'page' | 'ping' | 'search'
    >();
    expectTypeOf<ChannelName<AppContract>>().toEqualTypeOf<'metrics' | 'chat.room'>();
  });

  it('InputOf is the schema input type, OutputOf the schema output type', () => {
    expectTypeOf<InputOf<AppContract, 'add'>>().toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf<OutputOf<AppContract, 'add'>>().toEqualTypeOf<number>();
    expectTypeOf<OutputOf<AppContract, 'user.get'>>().toEqualTypeOf<User>();
    expectTypeOf<OutputOf<AppContract, 'user.get'>['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf<OutputOf<AppContract, 'user.get'>['tags']>().toEqualTypeOf<Set<string>>();
    expectTypeOf<OutputOf<AppContract, 'stats.byId'>>().toEqualTypeOf<Map<string, bigint>>();
    expectTypeOf<InputOf<AppContract, 'time.parse'>>().toEqualTypeOf<{ at: string }>();
    expectTypeOf<OutputOf<AppContract, 'time.parse'>>().toEqualTypeOf<number>();
    expectTypeOf<InputOf<AppContract, 'page'>>().toEqualTypeOf<{ limit?: number | undefined }>();
    expectTypeOf<InputOf<AppContract, 'ping'>>().toEqualTypeOf<undefined>();
    expectTypeOf<OutputOf<AppContract, 'ping'>>().toEqualTypeOf<'pong'>();
    expectTypeOf<InputOf<AppContract, 'search'>>().toEqualTypeOf<{ q: string } | undefined>();
  });

  it('ParsedInputOf / HandlerOutputOf are the server-side halves of the same schemas', () => {
    expectTypeOf<ParsedInputOf<AppContract, 'time.parse'>>().toEqualTypeOf<{ at: Date }>();
    expectTypeOf<HandlerOutputOf<AppContract, 'time.parse'>>().toEqualTypeOf<string>();
    expectTypeOf<ParsedInputOf<AppContract, 'page'>>().toEqualTypeOf<{ limit: number }>();
    expectTypeOf<HandlerOutputOf<AppContract, 'stats.byId'>>().toEqualTypeOf<Map<string, bigint>>();
  });

  it('ParamsOf / MessageOf and their server-side halves', () => {
    expectTypeOf<ParamsOf<AppContract, 'metrics'>>().toEqualTypeOf<{ host: string }>();
    expectTypeOf<MessageOf<AppContract, 'metrics'>>().toEqualTypeOf<{ at: Date; value: number }>();
    expectTypeOf<ParamsOf<AppContract, 'chat.room'>>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<ParsedParamsOf<AppContract, 'chat.room'>>().toEqualTypeOf<{ id: number }>();
    expectTypeOf<MessageOf<AppContract, 'chat.room'>>().toEqualTypeOf<{ text: string; at: Date }>();
    expectTypeOf<PublishedMessageOf<AppContract, 'chat.room'>>().toEqualTypeOf<{ text: string; at: string }>();
  });

  it('rejects names that are not in the contract', () => {
    // @ts-expect-error: not a procedure
    type _P = InputOf<AppContract, 'nope'>;
    // @ts-expect-error: a channel is not a procedure
    type _Q = OutputOf<AppContract, 'metrics'>;
    // @ts-expect-error: not a channel
    type _C = ParamsOf<AppContract, 'nope'>;
    // @ts-expect-error: a procedure is not a channel
    type _M = MessageOf<AppContract, 'add'>;
  });

  it('rejects what is not a schema where the contract needs one', () => {
    const notASchema = { parse: (value: unknown) => value };
    // The run-time halves (each throws a TypeError) are in run-time-checks.test.ts.
    const _define = () => {
      // @ts-expect-error: input is not a Standard Schema (no '~standard')
      procedure({ input: notASchema, output: z.number() });
      // @ts-expect-error: message is not a Standard Schema
      channel({ params: z.object({}), message: 42 });
      // @ts-expect-error: defineContract takes only procedure() / channel() results
      defineContract({ procedures: { add: { input: z.number(), output: z.number() } } });
    };
  });
});
