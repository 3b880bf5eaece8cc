import type { AnyContract } from '@switchboard/contract';
import { type UseChannel, useChannel } from './use-channel.js';
import { type UseStream, useStream } from './use-stream.js';

/**
 * The hooks typed for contract C, for an application that does not register its contract
 * (Register), or uses more than one: `export const { useChannel, useStream } = hooksFor<AppContract>();`
 */
export function hooksFor<C extends AnyContract>(): { useChannel: UseChannel<C>; useStream: UseStream<C> } {
  return { useChannel: useChannel as unknown as UseChannel<C>, useStream: useStream as unknown as UseStream<C> };
}
