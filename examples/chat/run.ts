// `npm run example:chat`: the chat server in a process of its own, a client asking it a
// question — and, halfway through the answer, `kill -9` of the server and a new one on the
// same port. The client prints the whole answer once, in order.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ask, chatClient } from './client.js';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

/** Starts the server on `port` (0: a free one); resolves once it listens. */
export async function startServerProcess(port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    for await (const line of lines) {
      const event = JSON.parse(line) as { event: string; port: number };
      if (event.event === 'listening') return { child, port: event.port };
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error('the chat server exited before listening');
}

/** The whole demo; `write` gets the answer's tokens, `note` what happens around them. */
export async function demo(write: (text: string) => void, note: (line: string) => void): Promise<string> {
  let server = await startServerProcess(0);
  const client = chatClient(`ws://127.0.0.1:${server.port}`);
  let tokens = 0;
  try {
    return await ask(
      client,
      'what is a stream?',
      (token) => {
        write(token);
        if (++tokens !== 20) return;
        note('\n[kill -9 of the server, and a new one on the same port]\n');
        const { port } = server;
        server.child.kill('SIGKILL');
        once(server.child, 'exit')
          .then(() => startServerProcess(port))
          .then((restarted) => {
            server = restarted;
          })
          .catch((error: unknown) => note(`\n[the server did not come back: ${String(error)}]\n`));
      },
      note,
    );
  } finally {
    await client.close();
    server.child.kill('SIGKILL');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const answer = await demo(
    (text) => process.stdout.write(text),
    (line) => process.stdout.write(line),
  );
  process.stdout.write(`\n\n${answer.length} characters, each once.\n`);
}
