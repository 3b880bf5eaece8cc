import { defineContract, procedure, stream } from '@switchboard/contract';
import { z } from 'zod';

/** The chat's one procedure: an answer streamed token by token, from token `from` on. */
export const chatContract = defineContract({
  procedures: {
    'chat.answer': procedure({
      input: z.object({ prompt: z.string().min(1).max(2_000), from: z.number().int().min(0).default(0) }),
      output: stream(z.object({ i: z.number(), token: z.string() }), { result: z.object({ tokens: z.number() }) }),
    }),
  },
});

export type ChatContract = typeof chatContract;
