// The chat server: `chat.answer` streams a (stand-in) model's answer token by token.
// Run alone (`tsx examples/chat/server.ts`) it listens on PORT (default 8090) and prints
// one JSON line when it does; `kill -9` it mid-answer and start it again to see the client
// carry on (README, "A chat that survives kill -9").
import { pathToFileURL } from 'node:url';
import { createServer, defineRouter, type SwitchboardServer } from '@switchboard/server';
import { type ChatContract, chatContract } from './contract.js';
import { answerTokens, pause } from './model.js';

export const chatRouter = (delayMs: number) =>
  defineRouter(chatContract, {
    procedures: {
      'chat.answer': async function* ({ input, signal }) {
        const tokens = answerTokens(input.prompt);
        for (let i = input.from; i < tokens.length; i++) {
          await pause(delayMs, signal);
          yield { i, token: tokens[i] as string };
        }
        return { tokens: tokens.length };
      },
    },
  });

/** Starts the chat server on `port` (0: any free one) of 127.0.0.1. */
export async function startChatServer(
  port = 0,
  delayMs = 30,
): Promise<{ server: SwitchboardServer<ChatContract>; port: number }> {
  const server = createServer({ router: chatRouter(delayMs) });
  const listening = await server.listen({ port, host: '127.0.0.1' });
  return { server, port: listening.port };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { port } = await startChatServer(Number(process.env.PORT ?? 8090), Number(process.env.TOKEN_MS ?? 30));
  process.stdout.write(`${JSON.stringify({ event: 'listening', port, pid: process.pid })}\n`);
}
