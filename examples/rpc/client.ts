// A client: typed calls and a subscription. In a browser, leave out `WebSocket`.
import { createClient } from '@switchboard/client';
import WebSocket from 'ws';
import type { TodoContract } from './contract.js';

export async function runTodoClient(url: string, log: (line: string) => void = console.log) {
  const client = createClient<TodoContract>({ url, WebSocket });

  const changes = client.subscribe(
    'todo.changes',
    { list: 'main' },
    {
      onMessage: (todo) => log(`change: #${todo.id} ${todo.title} ${todo.done ? '✓' : '·'}`),
      onError: (error) => log(`subscription ended: ${error.code}`),
    },
  );
  await changes.ready;

  const milk = await client.call('todo.add', { title: 'buy milk' });
  log(`added #${milk.id} at ${milk.createdAt.toISOString()}`); // createdAt is a Date again
  await client.call('todo.toggle', { id: milk.id });

  try {
    await client.call('todo.toggle', { id: 999 });
  } catch (error) {
    log(`expected failure: ${(error as Error & { code: string }).code}`);
  }

  const all = await client.call('todo.list');
  log(`${all.length} todo(s)`);

  changes.unsubscribe();
  await client.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runTodoClient(process.env.URL ?? 'ws://127.0.0.1:8080');
}
