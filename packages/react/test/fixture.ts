import { type Client, createClient } from '@switchboard/client';
import { channel, defineContract, procedure, RpcError, stream } from '@switchboard/contract';
import { hooksFor } from '@switchboard/react';
import {
  type BrokerGapListener,
  type BrokerListener,
  createServer,
  defineRouter,
  MemoryBroker,
} from '@switchboard/server';
import WebSocket from 'ws';
import { z } from 'zod';

export { until } from '../../tests/support/wait.js';

// A plant's sensors: a snapshot channel (the state is the latest value per sensor), a channel
// without a snapshot, a procedure and a streaming procedure; the server counts what it was asked.

const Reading = z.object({ id: z.string(), value: z.number() });
export const contract = defineContract({
  procedures: {
    double: procedure({ input: z.number(), output: z.number() }),
    count: procedure({
      input: z.object({ to: z.number(), delayMs: z.number() }),
      output: stream(z.number(), { result: z.string() }),
    }),
  },
  channels: {
    sensors: channel({ params: z.object({ site: z.string() }), message: Reading, snapshot: z.array(Reading) }),
    ticks: channel({ params: z.object({ room: z.string() }), message: z.number() }),
    notes: channel({
      params: z.object({}),
      message: z.string(),
      snapshot: z.object({ at: z.date(), tags: z.set(z.string()), bytes: z.instanceof(Uint8Array) }),
    }),
  },
});
export type AppContract = typeof contract;
export type Reading = z.infer<typeof Reading>;
export const { useChannel, useStream } = hooksFor<AppContract>();

/** A started server and what it counts. */
/** The in-memory broker, with a gap the test can cause (as a shared broker that lost messages would). */
export class GappyBroker extends MemoryBroker {
  readonly #onGaps = new Map<string, BrokerGapListener>();

  override subscribe(topic: string, listener: BrokerListener, onGap?: BrokerGapListener): Promise<void> {
    if (onGap !== undefined) this.#onGaps.set(topic, onGap);
    return super.subscribe(topic, listener);
  }

  /** Tells every stream of the broker that `missing` messages were lost. */
  gap(missing: number): void {
    for (const onGap of this.#onGaps.values()) onGap({ missing });
  }
}

export async function startServer(broker?: MemoryBroker) {
  const sites = new Map<string, Map<string, number>>();
  const counts = { subscribes: 0, snapshots: 0, streamsStarted: 0, streamsStopped: 0, chunks: 0 };
  const router = defineRouter(contract, {
    procedures: {
      double: ({ input }) => input * 2,
      count: async function* ({ input, signal }) {
        counts.streamsStarted++;
        try {
          for (let i = 1; i <= input.to; i++) {
            if (input.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, input.delayMs));
            if (signal.aborted) return 'aborted';
            counts.chunks++;
            yield i;
          }
          return `counted to ${input.to}`;
        } finally {
          counts.streamsStopped++;
        }
      },
    },
    channels: {
      sensors: {
        authorize: ({ params }) => {
          counts.subscribes++;
          if (params.site === 'secret') throw new RpcError('FORBIDDEN', 'not yours');
          return true;
        },
        snapshot: ({ params }) => {
          counts.snapshots++;
          return [...(sites.get(params.site) ?? new Map()).entries()].map(([id, value]) => ({ id, value }));
        },
      },
      notes: {
        snapshot: () => ({
          at: new Date(1_700_000_000_000),
          tags: new Set(['a', '<b>']),
          bytes: new Uint8Array([0, 1, 254, 255]),
        }),
      },
      ticks: {
        authorize: () => {
          counts.subscribes++;
          return true;
        },
      },
    },
  });
  const server = createServer({ router, heartbeat: false, ...(broker === undefined ? {} : { broker }) });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  /** Changes a sensor and publishes the change in the same step (exact snapshots). */
  const record = (site: string, id: string, value: number) => {
    let sensors = sites.get(site);
    if (sensors === undefined) {
      sensors = new Map();
      sites.set(site, sensors);
    }
    sensors.set(id, value);
    void server.publish('sensors', { site }, { id, value });
  };
  return { server, port, counts, record };
}

export function connect(port: number): Client<AppContract> {
  return createClient<AppContract>({
    url: `ws://127.0.0.1:${port}`,
    WebSocket: WebSocket as never,
    heartbeat: false,
    reconnect: { initialDelayMs: 10, maxDelayMs: 20, factor: 2 },
  });
}
