// The contract: a chat room per name; `chat.send` publishes from whichever node it reaches.
import { channel, defineContract, procedure } from '@switchboard/contract';
import { z } from 'zod';

export const contract = defineContract({
  procedures: {
    /** Publishes `text` to the room; answers with the name of the node that published it. */
    'chat.send': procedure({ input: z.object({ room: z.string(), text: z.string().min(1) }), output: z.string() }),
    /** The name of the node this connection landed on. */
    'node.name': procedure({ input: z.undefined(), output: z.string() }),
  },
  channels: {
    'chat.room': channel({
      params: z.object({ room: z.string() }),
      message: z.object({ text: z.string(), via: z.string() }),
    }),
  },
});

export type ChatContract = typeof contract;
