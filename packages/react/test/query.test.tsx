import type { Client } from '@switchboard/client';
import { callMutationOptions, callQueryOptions } from '@switchboard/react/query';
import { QueryClient, QueryClientProvider, useMutation, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { act, render, screen } from '@testing-library/react';
import { Suspense } from 'react';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type AppContract, until } from './fixture.js';
import { setup } from './harness.js';

function Doubled({ client, n }: { client: Client<AppContract>; n: number }) {
  const { data, error } = useQuery(callQueryOptions(client, 'double', n));
  expectTypeOf(data).toEqualTypeOf<number | undefined>();
  expect(error).toBeNull();
  return <p data-testid={`double-${n}`}>{data ?? '-'}</p>;
}

function SuspendedDoubled({ client }: { client: Client<AppContract> }) {
  const { data } = useSuspenseQuery(callQueryOptions(client, 'double', 21));
  return <p data-testid="suspended">{data}</p>;
}

function Doubler({ client }: { client: Client<AppContract> }) {
  const mutation = useMutation(callMutationOptions(client, 'double'));
  return (
    <button type="button" data-testid="doubler" onClick={() => mutation.mutate(50)}>
      {mutation.data ?? 'idle'}
    </button>
  );
}

describe('@switchboard/react/query', () => {
  it('queryOptions, suspense queries and mutations call the procedure, typed, under a key of their own', async () => {
    const { client } = await setup();
    const queryClient = new QueryClient();
    render(
      <QueryClientProvider client={queryClient}>
        <Doubled client={client} n={4} />
        <Suspense fallback={<p data-testid="suspended">…</p>}>
          <SuspendedDoubled client={client} />
        </Suspense>
        <Doubler client={client} />
      </QueryClientProvider>,
    );
    await until(() => screen.getByTestId('double-4').textContent === '8', 'the query');
    await until(() => screen.getByTestId('suspended').textContent === '42', 'the suspense query');
    act(() => screen.getByTestId('doubler').click());
    await until(() => screen.getByTestId('doubler').textContent === '100', 'the mutation');
    const key = callQueryOptions(client, 'double', 4).queryKey;
    expect(key).toEqual(['switchboard', 'double', 4]);
    const cached = queryClient.getQueryData(key);
    expectTypeOf(cached).toEqualTypeOf<number | undefined>();
    expect(cached).toBe(8);
  });
});
