import type { AnyContract } from '@switchboard/contract';

/**
 * Tells the hooks the application's contract, once, by declaration merging:
 *
 * ```ts
 * declare module '@switchboard/react' {
 *   interface Register { contract: AppContract }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the application's declaration merging
export interface Register {}

/** The registered contract; any contract until one is registered. */
export type RegisteredContract = Register extends {
  /** The application's contract type. */
  contract: infer C extends AnyContract;
}
  ? C
  : AnyContract;
