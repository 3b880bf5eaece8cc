import { defineContract, procedure, stream } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
import { z } from 'zod';

/** Streaming procedures the stream tests share, with what their handlers did. */
export const streamContract = defineContract({
  procedures: {
    count: procedure({
      input: z.object({ to: z.number().int().min(0), tag: z.string().default('') }),
      output: stream(z.object({ n: z.number() }), { result: z.object({ total: z.number() }) }),
    }),
    tokens: procedure({ input: z.object({ text: z.string() }), output: stream(z.string()) }),
    kib: procedure({ input: z.object({ tag: z.string() }), output: stream(z.string()) }),
    mebibytes: procedure({ input: z.object({ tag: z.string() }), output: stream(z.instanceof(Uint8Array)) }),
    big: procedure({ input: z.object({ count: z.number(), kib: z.number() }), output: stream(z.string()) }),
    slow: procedure({ input: z.object({ tag: z.string() }), output: stream(z.number()) }),
    bad: procedure({ input: z.object({ at: z.number() }), output: stream(z.number()) }),
    plain: procedure({ input: z.object({}), output: z.string() }),
    bytes: procedure({
      input: z.object({ sizes: z.array(z.number().int().min(0)), salt: z.instanceof(Uint8Array) }),
      output: stream(z.instanceof(Uint8Array), {
        result: z.object({ salt: z.instanceof(Uint8Array), total: z.number() }),
      }),
    }),
  },
});

/** What the handlers did, for a test to assert on. */
export class StreamProbe {
  /** Runs started, by tag. */
  readonly runs = new Map<string, number>();
  /** The highest chunk each run has made (about to be yielded). */
  readonly produced = new Map<string, number>();
  /** Runs whose handler finished (its finally ran), with the time. */
  readonly finished = new Map<string, number>();
  /** Why a run's signal aborted, by tag. */
  readonly aborted = new Map<string, unknown>();
  readonly #waiters = new Set<() => void>();

  changed(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves when `test` holds, re-checked on each change; bounded in real time. */
  until(test: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }
}

/** `size` bytes of a pattern that differs per `seed`: what the `bytes` procedure yields. */
export function patterned(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** A connection's ctx in the stream router: a user's with `users`. */
export type StreamCtx = { user: string } | undefined;

/** The stream router; with `users`, connections are a user's (auth `{ user }`), the idempotency scope. */
export function streamRouter(probe: StreamProbe, users = false) {
  return defineRouter(streamContract, {
    context: ({ auth }): StreamCtx =>
      users ? { user: String((auth as { user?: unknown } | undefined)?.user) } : undefined,
    procedures: {
      count: async function* ({ input, signal }) {
        probe.runs.set(input.tag, (probe.runs.get(input.tag) ?? 0) + 1);
        signal.addEventListener('abort', () => {
          probe.aborted.set(input.tag, signal.reason);
          probe.changed();
        });
        try {
          for (let n = 1; n <= input.to; n++) {
            probe.produced.set(input.tag, n);
            probe.changed();
            yield { n };
          }
          return { total: input.to };
        } finally {
          probe.finished.set(input.tag, performance.now());
          probe.changed();
        }
      },
      kib: async function* ({ input, signal }) {
        signal.addEventListener('abort', () => {
          probe.aborted.set(input.tag, signal.reason);
          probe.changed();
        });
        for (let n = 1; ; n++) {
          probe.produced.set(input.tag, n);
          probe.changed();
          yield 'x'.repeat(1024);
        }
      },
      mebibytes: async function* ({ input }) {
        for (let n = 1; ; n++) {
          probe.produced.set(input.tag, n);
          probe.changed();
          yield new Uint8Array(1000 * 1024); // under maxPayloadBytes (1 MiB) with its envelope
        }
      },
      big: async function* ({ input }) {
        const chunk = 'x'.repeat(input.kib * 1024);
        for (let n = 0; n < input.count; n++) yield chunk;
      },
      tokens: async function* ({ input }) {
        for (const token of input.text.split(' ')) yield token;
      },
      slow: async function* ({ input, signal }) {
        probe.runs.set(input.tag, 1);
        probe.changed();
        try {
          for (let n = 1; ; n++) {
            // A handler that waits on something that honours its signal (an LLM's fetch, say).
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(resolve, 1_000);
              signal.addEventListener('abort', () => {
                clearTimeout(timer);
                reject(signal.reason);
              });
            });
            yield n;
          }
        } finally {
          probe.finished.set(input.tag, performance.now());
          probe.aborted.set(input.tag, signal.reason);
          probe.changed();
        }
      },
      bad: async function* ({ input, signal }) {
        try {
          for (let n = 1; n < input.at; n++) yield n;
          yield 'not a number' as unknown as number;
          yield input.at + 1; // never asked for: the run ended at the bad chunk
        } finally {
          probe.finished.set('bad', performance.now());
          probe.aborted.set('bad', signal.reason);
          probe.changed();
        }
      },
      plain: () => 'plain',
      bytes: async function* ({ input }) {
        let total = 0;
        for (const [i, size] of input.sizes.entries()) {
          yield patterned(size, i + (input.salt[0] ?? 0));
          total += size;
        }
        return { salt: input.salt, total };
      },
    },
  });
}
