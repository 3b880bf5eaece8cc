import type { AnyContract, RequestId, RpcError, SchemaLike, ServerEnvelope } from '@switchboard/contract';
import { validate } from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import type { Connection } from './connection.js';
import type { SkewedNames } from './contract-skew.js';
import type { JoinRequest } from './fanout.js';
import type { IdempotencyWindow } from './idempotency.js';
import type { Metrics } from './metrics.js';
import type { ResolvedServerOptions } from './options.js';
import type { Peer } from './peer.js';
import type { Router } from './router.js';
import type { SharedIdempotency } from './shared-idempotency.js';
import type { StreamRegistry } from './stream-registry.js';
import type { StreamStore } from './stream-store.js';

// What a connection's parts share: its server (PeerHost), and the connection itself as its
// calls and subscriptions see it (PeerLink).

/** What a connection needs from its server. */
export interface PeerHost {
  readonly router: Router<AnyContract, unknown>;
  readonly options: ResolvedServerOptions;
  readonly draining: boolean;
  subscribe(request: JoinRequest): Promise<void>;
  unsubscribe(peer: Peer, topic: string): void;
  /** A call finished (for graceful shutdown). */
  callSettled(): void;
  /** Counters behind server.metrics(). */
  readonly counters: Metrics;
  /** Recent idempotency keys of all connections (a re-sent call may arrive on another). */
  readonly idempotency: IdempotencyWindow;
  /** The window shared with other server processes, when there is one. */
  readonly sharedIdempotency: SharedIdempotency | undefined;
  /** The runs of streaming calls on this process, by caller and key (a resume may come on another connection). */
  readonly streams: StreamRegistry;
  /** Where streams are recorded for other processes (the idempotency store's `streams`), if anywhere. */
  readonly streamStore: StreamStore | undefined;
}

/** A connection, as its calls (call-runner.ts) and subscriptions (peer-subscriptions.ts) use it. */
export interface PeerLink {
  readonly socket: ServerWebSocket;
  readonly host: PeerHost;
  readonly ctx: unknown;
  readonly connection: Connection;
  /** Where the client's contract differs from the server's (contract-skew.ts); undefined: nowhere, or not told. */
  readonly skew: SkewedNames | undefined;
  send(envelope: ServerEnvelope, parts?: Uint8Array[]): void;
  sendError(id: RequestId | null, error: RpcError): void;
  /** Tells the application's onError; what it throws stays there. */
  report(error: unknown, where: { procedure?: string; channel?: string }): void;
  /** Holds the bytes of the message being handled while something from it runs; undefined when they do not fit. */
  hold(): MessageCharge | undefined;
  unhold(charge: MessageCharge): void;
  /** The error of a call or subscribe past maxInFlightBytes. */
  tooMuchInFlight(): RpcError;
}

/**
 * The bytes of one client message, held while a call or subscribe from it still runs:
 * what it left in memory (its input, decoded and validated) counts toward maxInFlightBytes.
 */
export class MessageCharge {
  readonly bytes: number;
  holds = 0;
  constructor(bytes: number) {
    this.bytes = bytes;
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

type Produced = 'result' | 'chunk' | 'snapshot';
const PRODUCER = { result: 'procedure', chunk: 'procedure', snapshot: 'channel' } as const;

/**
 * Validates what our own code produced (a handler's result, a channel's snapshot): a
 * mismatch breaks the contract, a server bug reported as INTERNAL.
 */
export function checkProduced(schema: SchemaLike, value: unknown, what: Produced, name: string): unknown {
  const fail = (issues: unknown) =>
    new Error(`the ${what} of ${PRODUCER[what]} '${name}' fails its schema`, { cause: issues });
  const checked = validate(schema, value);
  if (checked instanceof Promise) {
    return checked.then((result) => {
      if (!result.ok) throw fail(result.issues);
      return result.value;
    });
  }
  if (!checked.ok) throw fail(checked.issues);
  return checked.value;
}
