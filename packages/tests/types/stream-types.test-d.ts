/**
 * Streaming procedures in the types: the contract's stream(), client.stream()'s chunks and
 * result, the handler as an async generator. Type-checked only; nothing here runs.
 */

import { type Client, type ClientStream, createClient } from '@switchboard/client';
import { defineContract, procedure, type StreamName, stream } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
import { expectTypeOf } from 'vitest';
import { z } from 'zod';

const contract = defineContract({
  procedures: {
    'ai.answer': procedure({
      input: z.object({ prompt: z.string() }),
      output: stream(z.object({ token: z.string() })),
    }),
    'file.get': procedure({ input: z.object({ id: z.string() }), output: stream(z.instanceof(Uint8Array)) }),
    export: procedure({
      input: z.object({ table: z.string() }),
      output: stream(z.object({ row: z.number() }), { result: z.object({ rows: z.number(), at: z.date() }) }),
    }),
    add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
  },
});
type Contract = typeof contract;
declare const client: Client<Contract>;

// Only streaming procedures are stream() names.
expectTypeOf<StreamName<Contract>>().toEqualTypeOf<'ai.answer' | 'file.get' | 'export'>();
// @ts-expect-error a plain procedure is called, not streamed
client.stream('add', { a: 1, b: 2 });
// @ts-expect-error the input is checked
client.stream('ai.answer', { prompt: 1 });

// Chunks and the result are typed; no result declared: undefined.
expectTypeOf(client.stream('ai.answer', { prompt: 'hi' })).toEqualTypeOf<ClientStream<{ token: string }, undefined>>();
expectTypeOf(client.stream('export', { table: 't' }).result).toEqualTypeOf<Promise<{ rows: number; at: Date }>>();
expectTypeOf(client.stream('file.get', { id: 'f' })).toMatchTypeOf<AsyncIterable<Uint8Array>>();
client.stream(
  'ai.answer',
  { prompt: 'hi' },
  {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    credit: 16,
    onChunk: (chunk, meta) => {
      expectTypeOf(chunk).toEqualTypeOf<{ token: string }>();
      expectTypeOf(meta.seq).toEqualTypeOf<number>();
    },
  },
);

// Handlers are async generators: chunks and the result checked against the contract.
defineRouter(contract, {
  procedures: {
    'ai.answer': async function* ({ input, signal }) {
      expectTypeOf(input).toEqualTypeOf<{ prompt: string }>();
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      yield { token: 'a' };
    },
    'file.get': async function* () {
      yield new Uint8Array(4);
    },
    export: async function* () {
      yield { row: 1 };
      return { rows: 1, at: new Date() };
    },
    add: ({ input }) => input.a + input.b,
  },
});

defineRouter(contract, {
  procedures: {
    // @ts-expect-error a chunk of the wrong type
    'ai.answer': async function* () {
      yield { token: 1 };
    },
    'file.get': async function* () {
      yield new Uint8Array(4);
    },
    // @ts-expect-error the declared result is missing
    export: async function* () {
      yield { row: 1 };
    },
    add: ({ input }) => input.a + input.b,
  },
});

createClient<Contract>({ url: 'ws://x' });
