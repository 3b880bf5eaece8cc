import { createClient } from '@switchboard/client';
import { defineContract, procedure, type RpcError } from '@switchboard/contract';
import { createServer, defineRouter } from '@switchboard/server';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';

const contract = defineContract({
  procedures: {
    broken: procedure({ input: z.undefined(), output: z.any() }),
    echo: procedure({ input: z.string(), output: z.string() }),
  },
});

describe('a handler whose output cannot be serialised', () => {
  it('answers INTERNAL, tells onError, and keeps the connection', async () => {
    const errors: unknown[] = [];
    const router = defineRouter(contract, {
      procedures: {
        // z.any() lets it through; reading it for the wire throws.
        broken: () => ({
          get field(): string {
            throw new Error('not readable');
          },
        }),
        echo: ({ input }) => input,
      },
    });
    const server = createServer({ router, onError: (error) => errors.push(error) });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = createClient<typeof contract>({ url: `ws://127.0.0.1:${port}`, WebSocket, timeoutMs: 3_000 });
    try {
      const failure = await client.call('broken').then(
        () => undefined,
        (error: RpcError) => error,
      );
      expect(failure?.code).toBe('INTERNAL');
      expect(errors).toHaveLength(1);
      expect(await client.call('echo', 'still here')).toBe('still here');
    } finally {
      await client.close();
      await server.close();
    }
  });
});
