// The chat client: prints an answer as its tokens arrive. A cut connection is resumed by
// the client on its own (no token lost or repeated); a server that died mid-answer ends the
// stream with STREAM_LOST, and the client asks for the rest of the answer from the token
// it got to — the same text, never a silent gap.
import { type Client, createClient, RpcError } from '@switchboard/client';
import WebSocket from 'ws';
import type { ChatContract } from './contract.js';

export function chatClient(url: string): Client<ChatContract> {
  return createClient<ChatContract>({
    url,
    WebSocket: WebSocket as never,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
  });
}

/** Asks `prompt` and writes the answer's tokens to `write`; resolves to the whole answer. */
export async function ask(
  client: Client<ChatContract>,
  prompt: string,
  write: (text: string) => void,
  note: (line: string) => void = () => {},
): Promise<string> {
  let text = '';
  let next = 0;
  for (;;) {
    try {
      const answer = client.stream('chat.answer', { prompt, from: next });
      for await (const { i, token } of answer) {
        if (i !== next) throw new Error(`token ${i} arrived, ${next} expected`);
        text += token;
        next++;
        write(token);
      }
      const { tokens } = await answer.result;
      note(`\n[${tokens} tokens]`);
      return text;
    } catch (error) {
      if (!(error instanceof RpcError && error.code === 'STREAM_LOST')) throw error;
      note(`\n[the server lost the answer after token ${next}: asking for the rest]\n`);
    }
  }
}
