import type { Client } from '@switchboard/client';
import {
  type AnyContract,
  type ChannelName,
  decodeValue,
  encodeValue,
  isPosition,
  type ParamsOf,
  RpcError,
} from '@switchboard/contract';
import type { Seed } from './channel-entry.js';
import { channelKey } from './channel-key.js';

/**
 * A channel's snapshot and the position it was taken at, from preloadChannel(): plain JSON,
 * to be written into the page (serializePreloaded) and given to the browser's provider.
 */
export interface PreloadedChannel {
  /** The channel's stream: its name and params, as the provider keys them. */
  readonly key: string;
  /** The stream's position the snapshot was taken at: the browser continues after it. */
  readonly position: string;
  /** The snapshot as superjson's json part. */
  readonly data: unknown;
  /** superjson's meta for `data`, when it needs one. */
  readonly meta?: unknown;
  /** The snapshot's byte values, base64, in the order of meta.b. */
  readonly bytes?: readonly string[];
}

/** preloadChannel()'s options. */
export interface PreloadOptions {
  /** Gives up after this long with TIMEOUT (default 10,000 ms). */
  timeoutMs?: number;
  /** Gives up when aborted, with CANCELLED. @default none */
  signal?: AbortSignal;
}

/**
 * Takes channel `name`'s snapshot for `params` and its position, for a server-side render:
 * give the result to the provider's `preloaded` on both sides, and the browser's hooks start
 * from that state and continue after that position (no second snapshot, nothing missed or
 * repeated). The channel must have a snapshot. `client` is a client of the render server
 * (on Node 20, over `ws`).
 */
export function preloadChannel<C extends AnyContract, K extends ChannelName<C>>(
  client: Client<C>,
  name: K,
  params: ParamsOf<C, K>,
  { timeoutMs = 10_000, signal }: PreloadOptions = {},
): Promise<PreloadedChannel> {
  return new Promise<PreloadedChannel>((resolve, reject) => {
    const fail = (error: RpcError) => {
      finish();
      reject(error);
    };
    const onAbort = () => fail(new RpcError('CANCELLED', 'preloadChannel was aborted'));
    const timer = setTimeout(() => fail(new RpcError('TIMEOUT', `no snapshot within ${timeoutMs} ms`)), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      subscription.unsubscribe();
    };
    const subscription = (client as unknown as Client<AnyContract>).subscribe(name, params as never, {
      onSnapshot: (snapshot, meta) => {
        finish();
        try {
          resolve(preloaded(channelKey(name, params), snapshot, meta.position));
        } catch (error) {
          reject(error);
        }
      },
      onMessage() {},
      onError: fail,
    });
    subscription.ready.then(({ snapshot }) => {
      if (!snapshot) fail(new RpcError('BAD_REQUEST', `channel '${name}' has no snapshot to preload`));
    }, fail);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function preloaded(key: string, snapshot: unknown, position: string): PreloadedChannel {
  const { json, meta, parts } = encodeValue(snapshot);
  return {
    key,
    position,
    data: json,
    ...(meta === undefined ? {} : { meta }),
    ...(parts === undefined ? {} : { bytes: parts.map(toBase64) }),
  };
}

/**
 * Preloaded channels as a JavaScript expression safe inside an inline `<script>` (no `<`,
 * U+2028 or U+2029 left as they are): `<script>window.__SB__ = ${serializePreloaded(list)}</script>`.
 */
export function serializePreloaded(preloaded: readonly PreloadedChannel[]): string {
  return JSON.stringify(preloaded).replace(
    /[<\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The provider's seeds: each preloaded snapshot checked and decoded (bounded as any value
 * from the server). A malformed one is BAD_REQUEST, naming its index.
 */
export function seedsOf(preloaded: readonly PreloadedChannel[] | undefined): Map<string, Seed> {
  const seeds = new Map<string, Seed>();
  if (preloaded === undefined) return seeds;
  if (!Array.isArray(preloaded)) throw new RpcError('BAD_REQUEST', 'preloaded is not an array');
  preloaded.forEach((item: unknown, index) => {
    const problem = malformed(item);
    if (problem !== undefined) throw new RpcError('BAD_REQUEST', `preloaded[${index}]: ${problem}`);
    const { key, position, data, meta, bytes } = item as PreloadedChannel;
    const withBytes =
      bytes === undefined ? meta : { ...(meta as Record<string, unknown>), b: bytes.map((text) => fromBase64(text)) };
    seeds.set(key, { snapshot: decodeValue(data, withBytes), position });
  });
  return seeds;
}

/** What is wrong with a preloaded item, if anything. */
function malformed(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return 'not an object';
  const { key, position, bytes } = item as Record<string, unknown>;
  if (typeof key !== 'string') return 'key is not a string';
  if (!isPosition(position)) return 'position is not epoch:offset';
  if (bytes !== undefined && !(Array.isArray(bytes) && bytes.every((text) => typeof text === 'string'))) {
    return 'bytes is not a list of base64 texts';
  }
  return undefined;
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
