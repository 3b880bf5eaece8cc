// The server: implements the contract and publishes every change.
import { createServer, defineRouter, RpcError } from '@switchboard/server';
import { contract } from './contract.js';

interface Todo {
  id: number;
  title: string;
  done: boolean;
  createdAt: Date;
}

export async function startTodoServer(port = 0) {
  const todos = new Map<number, Todo>();

  const router = defineRouter(contract, {
    context: ({ request }) => ({
      list: new URL(request.url ?? '/', 'http://localhost').searchParams.get('list') ?? 'main',
    }),
    procedures: {
      'todo.add': async ({ input, ctx }) => {
        const todo = { id: todos.size + 1, title: input.title, done: false, createdAt: new Date() };
        todos.set(todo.id, todo);
        await server.publish('todo.changes', { list: ctx.list }, todo);
        return todo;
      },
      'todo.toggle': async ({ input, ctx }) => {
        const todo = todos.get(input.id);
        if (todo === undefined) throw new RpcError('NOT_FOUND', `no todo ${input.id}`);
        todo.done = !todo.done;
        await server.publish('todo.changes', { list: ctx.list }, todo);
        return todo;
      },
      'todo.list': () => [...todos.values()],
    },
  });

  const server = createServer({ router });
  const address = await server.listen({ port, host: '127.0.0.1' });
  return { server, port: address.port };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { port } = await startTodoServer(Number(process.env.PORT ?? 8080));
  console.log(`todo server on ws://127.0.0.1:${port}`);
}
