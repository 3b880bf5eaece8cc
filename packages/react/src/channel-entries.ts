import type { Client } from '@switchboard/client';
import type { AnyContract } from '@switchboard/contract';
import { ChannelEntry, type EntryHost, type Fold, type RenderMessages, type Seed } from './channel-entry.js';
import { channelKey } from './channel-key.js';

/**
 * A provider's channel streams by key, and the preloaded snapshots not yet taken up. Each
 * provider has its own (a server renders each request with its own provider and seeds).
 */
export class ChannelEntries implements EntryHost {
  readonly client: Client<AnyContract>;
  /** Set by the provider on every render (its props, with their defaults). */
  keepAliveMs = 0;
  renderMessages: RenderMessages = 'each';
  readonly #entries = new Map<string, ChannelEntry>();
  readonly #seeds: Map<string, Seed>;

  /** `seeds` is the provider's: a seed used here is gone for any later ChannelEntries too. */
  constructor(client: Client<AnyContract>, seeds: Map<string, Seed>) {
    this.client = client;
    this.#seeds = seeds;
  }

  /** The entry of channel `name`'s stream for `params`, made (from its seed, if preloaded) on first use. */
  get(name: string, params: unknown, fold: Fold): ChannelEntry {
    const key = channelKey(name, params);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const seed = this.#seeds.get(key);
      this.#seeds.delete(key); // a seed starts one subscription; a later one takes a fresh snapshot
      entry = new ChannelEntry(this, key, name, params, fold, seed);
      this.#entries.set(key, entry);
    } else entry.fold = fold;
    return entry;
  }

  forget(entry: ChannelEntry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }
}
