/**
 * TanStack Query helpers for Switchboard calls: options objects for useQuery, useSuspenseQuery,
 * useMutation and the QueryClient, with the call's types and a key of its own. Import from
 * `@switchboard/react/query`; it needs `@tanstack/react-query` (version 5) installed.
 *
 * @module @switchboard/react/query
 */
import type { CallOptions, Client } from '@switchboard/client';
import type { AnyContract, InputOf, OutputOf, ProcedureName, RpcError } from '@switchboard/contract';
import type { DataTag, UseMutationOptions } from '@tanstack/react-query';
import type { RegisteredContract } from './register.js';

type C = RegisteredContract;

/** The query key of a call: `['switchboard', name, input]`. */
export type CallQueryKey<K extends string, Input> = readonly ['switchboard', K, Input];

/** The key under which callQueryOptions() caches procedure `name`'s output for `input`, for invalidation. */
export function callQueryKey<K extends ProcedureName<C>>(
  name: K,
  input: InputOf<C, K>,
): DataTag<CallQueryKey<K, InputOf<C, K>>, OutputOf<C, K>, RpcError> {
  return ['switchboard', name, input] as never;
}

/** Options for useQuery / useSuspenseQuery / queryClient.fetchQuery: procedure `name` called with `input`. */
export function callQueryOptions<K extends ProcedureName<C>>(
  client: Client<C>,
  name: K,
  input: InputOf<C, K>,
  options: Omit<CallOptions, 'signal'> = {},
): {
  queryKey: DataTag<CallQueryKey<K, InputOf<C, K>>, OutputOf<C, K>, RpcError>;
  queryFn: (context: { signal: AbortSignal }) => Promise<OutputOf<C, K>>;
} {
  return {
    queryKey: callQueryKey(name, input),
    // The query's signal cancels the call (the server's handler sees its signal abort).
    queryFn: ({ signal }) =>
      (client as unknown as Client<AnyContract>).call(name, input as never, { ...options, signal }) as Promise<
        OutputOf<C, K>
      >,
  };
}

/** Options for useMutation: procedure `name`, called with the mutation's variables. */
export function callMutationOptions<K extends ProcedureName<C>>(
  client: Client<C>,
  name: K,
  options: Omit<CallOptions, 'signal'> = {},
): UseMutationOptions<OutputOf<C, K>, RpcError, InputOf<C, K>> & { mutationKey: readonly ['switchboard', K] } {
  return {
    mutationKey: ['switchboard', name],
    mutationFn: (input) =>
      (client as unknown as Client<AnyContract>).call(name, input as never, options) as Promise<OutputOf<C, K>>,
  };
}
