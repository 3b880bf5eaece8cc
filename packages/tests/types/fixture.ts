/** The contract the type tests program against: a bit of every schema shape that matters for inference. */
import { channel, defineContract, procedure } from '@switchboard/contract';
import { z } from 'zod';

export const User = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.date(),
  tags: z.set(z.string()),
});
export type User = z.infer<typeof User>;

export const contract = defineContract({
  procedures: {
    add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
    'user.get': procedure({ input: z.object({ id: z.string() }), output: User }),
    'stats.byId': procedure({ input: z.object({ ids: z.array(z.string()) }), output: z.map(z.string(), z.bigint()) }),
    /** Input transform: callers send a string, the handler gets a Date. Output transform: the handler returns a string, callers get its length. */
    'time.parse': procedure({
      input: z.object({ at: z.string().transform((s) => new Date(s)) }),
      output: z.string().transform((s) => s.length),
    }),
    /** A default: optional for the caller, always present for the handler. */
    page: procedure({ input: z.object({ limit: z.number().default(10) }), output: z.array(User) }),
    ping: procedure({ input: z.undefined(), output: z.literal('pong') }),
    search: procedure({ input: z.object({ q: z.string() }).optional(), output: z.array(z.string()) }),
  },
  channels: {
    metrics: channel({
      params: z.object({ host: z.string() }),
      message: z.object({ at: z.date(), value: z.number() }),
    }),
    /** Transforms on both sides: params `id` is a string on the wire and a number in `authorize`; `at` is published as a string and received as a Date. */
    'chat.room': channel({
      params: z.object({ id: z.string().transform(Number) }),
      message: z.object({ text: z.string(), at: z.string().transform((s) => new Date(s)) }),
    }),
  },
});
export type AppContract = typeof contract;
