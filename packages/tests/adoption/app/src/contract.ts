// The contract of the fresh app the pack-and-install check builds: as a user would write it.
import { channel, defineContract, procedure } from '@switchboard/contract';
import { z } from 'zod';

export const contract = defineContract({
  procedures: {
    add: procedure({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
  },
  channels: {
    ticks: channel({ params: z.object({ room: z.string() }), message: z.object({ n: z.number() }) }),
    board: channel({
      params: z.object({ room: z.string() }),
      message: z.object({ id: z.string(), value: z.number() }),
      snapshot: z.record(z.string(), z.number()),
    }),
  },
});

export type AppContract = typeof contract;
