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
/** The query key of a call: `['switchboard', name, input]`. */
export type CallQueryKey<K extends string, Input> = readonly ['switchboard', K, Input];

/**
 * Options for useQuery / useSuspenseQuery / queryClient.fetchQuery: procedure `name` called
 * with `input`, typed by `client`'s contract. Its `queryKey` (`['switchboard', name, input]`)
 * is typed too, for queryClient.getQueryData and invalidateQueries.
 */
export function callQueryOptions<C extends AnyContract, K extends ProcedureName<C>>(
  client: Client<C>,
  name: K,
  input: InputOf<C, K>,
  options: Omit<CallOptions, 'signal'> = {},
): {
  queryKey: DataTag<CallQueryKey<K, InputOf<C, K>>, OutputOf<C, K>, RpcError>;
  queryFn: (context: { signal: AbortSignal }) => Promise<OutputOf<C, K>>;
} {
  return {
    queryKey: ['switchboard', name, input] as never,
    // The query's signal cancels the call (the server's handler sees its signal abort).
    queryFn: ({ signal }) =>
      (client as unknown as Client<AnyContract>).call(name, input as never, { ...options, signal }) as Promise<
        OutputOf<C, K>
      >,
  };
}

/** Options for useMutation: procedure `name`, called with the mutation's variables. */
export function callMutationOptions<C extends AnyContract, K extends ProcedureName<C>>(
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
