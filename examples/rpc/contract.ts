// The contract: shared by the server and every client, browser included.
import { channel, defineContract, procedure } from '@switchboard/contract';
import { z } from 'zod';

export const Todo = z.object({ id: z.number(), title: z.string(), done: z.boolean(), createdAt: z.date() });

export const contract = defineContract({
  procedures: {
    'todo.add': procedure({ input: z.object({ title: z.string().min(1) }), output: Todo }),
    'todo.toggle': procedure({ input: z.object({ id: z.number() }), output: Todo }),
    'todo.list': procedure({ input: z.undefined(), output: z.array(Todo) }),
  },
  channels: {
    'todo.changes': channel({ params: z.object({ list: z.string() }), message: Todo }),
  },
});

export type TodoContract = typeof contract;
