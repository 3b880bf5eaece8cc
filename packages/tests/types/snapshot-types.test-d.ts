/**
 * Channel snapshots and delivery options in the types: the snapshot schema types the
 * server's `snapshot` handler and the client's `onSnapshot`; `delivery.key` receives the
 * channel's message. The router definitions also run, so their run-time checks are exercised.
 */
import type { Client } from '@switchboard/client';
import { channel, defineContract, type SnapshotOf, type SnapshotStateOf } from '@switchboard/contract';
import { defineRouter } from '@switchboard/server';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

const Sample = z.object({ host: z.string(), cpu: z.number(), at: z.date() });
const contract = defineContract({
  channels: {
    cpu: channel({
      params: z.object({ region: z.string() }),
      message: Sample,
      snapshot: z.array(Sample),
    }),
    plain: channel({ params: z.object({}), message: z.number() }),
    // A snapshot schema that may be left out, decided when the contract is built.
    maybe: channel({
      params: z.object({}),
      message: z.number(),
      snapshot: Math.random() > 2 ? undefined : z.object({ total: z.number() }),
    }),
  },
});
type Sample = z.infer<typeof Sample>;

describe('snapshot types', () => {
  it('SnapshotOf is the snapshot schema output; never for a channel without one', () => {
    expectTypeOf<SnapshotOf<typeof contract, 'cpu'>>().toEqualTypeOf<Sample[]>();
    expectTypeOf<SnapshotOf<typeof contract, 'plain'>>().toBeNever();
    expectTypeOf<SnapshotOf<typeof contract, 'maybe'>>().toEqualTypeOf<{ total: number }>();
    expectTypeOf<SnapshotStateOf<typeof contract, 'maybe'>>().toEqualTypeOf<{ total: number }>();
  });

  it('types the snapshot handler and the coalescing key from the contract', () => {
    const router = defineRouter(contract, {
      procedures: {},
      channels: {
        cpu: {
          snapshot: ({ params }) => {
            expectTypeOf(params).toEqualTypeOf<{ region: string }>();
            return [{ host: 'a', cpu: 0.5, at: new Date(0) }];
          },
          delivery: {
            policy: 'latest',
            key: (sample) => {
              expectTypeOf(sample).toEqualTypeOf<Sample>();
              return sample.host;
            },
          },
        },
      },
    });
    expectTypeOf(router.channels.cpu?.delivery?.policy).toEqualTypeOf<'queue' | 'drop-oldest' | 'latest' | undefined>();
  });

  it('rejects a snapshot of the wrong type and an unknown policy', () => {
    defineRouter(contract, {
      procedures: {},
      channels: {
        // @ts-expect-error: the snapshot must be Sample[]
        cpu: { snapshot: () => 'not samples' },
      },
    });
    defineRouter(contract, {
      procedures: {},
      // @ts-expect-error: 'newest' is not a delivery policy
      channels: { plain: { delivery: { policy: 'newest' } } },
    });
  });

  it("types the client's onSnapshot by the channel", () => {
    const subscribe = (client: Client<typeof contract>) =>
      client.subscribe(
        'cpu',
        { region: 'eu' },
        {
          onSnapshot: (state) => expectTypeOf(state).toEqualTypeOf<Sample[]>(),
          onMessage: (sample) => expectTypeOf(sample).toEqualTypeOf<Sample>(),
        },
      );
    expectTypeOf(subscribe).toBeFunction();
  });
});
