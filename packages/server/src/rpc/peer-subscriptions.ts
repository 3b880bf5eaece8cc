import {
  type AnyContract,
  decodeValue,
  encodeValue,
  parseOrThrow,
  type RequestId,
  RpcError,
  type SchemaLike,
  type SubscribeEnvelope,
  toRpcError,
} from '@switchboard/contract';
import { runChain } from './middleware.js';
import type { Peer } from './peer.js';
import { checkProduced, isPromiseLike } from './peer-link.js';
import type { ChannelArgs } from './router.js';
import { SmallMap } from './small-map.js';
import { channelOf, paramsKey, paramsOfKey, topicOf } from './topic-key.js';

// One connection's subscriptions: each pending while its params are validated and its
// `authorize` runs (counted toward maxSubscriptions all along, unsubscribed or not), then
// joined on its broker topic through the server's fan-out, answered once.

interface ChannelHandlers {
  authorize?: (args: ChannelArgs<unknown, unknown>) => unknown;
  snapshot?: (args: ChannelArgs<unknown, unknown>) => unknown;
}

/** What a subscription's join needs once its params are valid. */
interface Join {
  id: RequestId;
  name: string;
  from: string | undefined;
  params: unknown;
  /** The stream key from the params. */
  key: string;
  channel: AnyContract['channels'][string];
  /** Still this pending subscription (not unsubscribed, the connection not closed). */
  current: () => boolean;
  /** Set once `subscribed` went out: then no error reply. */
  outcome: { joined: boolean };
  /** The connection's ctx `authorize` (or the middleware) last answered for. */
  askedWith: unknown;
}

/** A subscription whose params are still being validated and authorized. */
interface PendingJoin {
  /** Unsubscribed while pending: it still counts toward maxSubscriptions until its join ends. */
  abandoned: boolean;
}

/**
 * One connection's subscriptions: by id, its broker topic, or its join while pending. The
 * class is the map itself (a SmallMap: a connection's one subscription costs no Map, and
 * no object besides this one).
 */
export class PeerSubscriptions extends SmallMap<RequestId, string | PendingJoin> {
  /** The connection (its PeerLink side for sending, itself for the fan-out). */
  readonly #peer: Peer;
  /** Subscriptions unsubscribed while pending whose join has not ended yet. */
  #abandonedJoins = 0;

  constructor(peer: Peer) {
    super();
    this.#peer = peer;
  }

  get count(): number {
    return this.size;
  }

  /** The connection closed: every subscription ends. */
  close(): void {
    for (const id of this.keys()) this.unsubscribe(id);
  }

  #refuseSubscription({ id, name }: SubscribeEnvelope): RpcError | undefined {
    const { router, options } = this.#peer.host;
    if (this.get(id) !== undefined) return new RpcError('BAD_REQUEST', `subscription id ${id} is already in use`);
    if (this.#peer.host.draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    // A pending subscription unsubscribed still runs its authorize: it counts until it ends.
    if (this.size + this.#abandonedJoins >= options.maxSubscriptions) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxSubscriptions} subscriptions`);
    }
    // Before NOT_FOUND: a name the client's contract has and this server lost is RELOAD_REQUIRED.
    if (this.#peer.skew !== undefined) {
      const skewed = this.#peer.skew.refuseSubscribe(name);
      if (skewed !== undefined) return skewed;
    }
    if (!Object.hasOwn(router.contract.channels, name)) return new RpcError('NOT_FOUND', `no channel '${name}'`);
    return undefined;
  }

  /** Registers (or refuses) one subscribe envelope; its one reply goes out when it joins or fails. */
  subscribe(envelope: SubscribeEnvelope): void {
    const { id, name, from } = envelope;
    const refusal = this.#refuseSubscription(envelope);
    if (refusal !== undefined) {
      this.#peer.sendError(id, refusal);
      return;
    }
    const charge = this.#peer.hold();
    if (charge === undefined) {
      this.#peer.sendError(id, this.#peer.tooMuchInFlight());
      return;
    }
    const pending: PendingJoin = { abandoned: false };
    this.set(id, pending);
    let params: unknown;
    try {
      params = decodeValue(envelope.params, envelope.meta);
    } catch (error) {
      params = Promise.reject(error);
    }
    // Only the decoded params go on: the envelope (and its raw params) is not kept while authorize runs.
    this.#join(id, name, from, params, pending).finally(() => {
      this.#peer.unhold(charge);
      if (pending.abandoned) this.#abandonedJoins--;
    });
  }

  async #join(
    id: RequestId,
    name: string,
    from: string | undefined,
    decoded: unknown,
    pending: PendingJoin,
  ): Promise<void> {
    const { router } = this.#peer.host;
    const current = () => this.get(id) === pending;
    const outcome = { joined: false };
    try {
      const channel = router.contract.channels[name] as AnyContract['channels'][string];
      const params = await parseOrThrow(channel.params, await decoded, 'params').catch((error: unknown) => {
        // Refused by our params schema, and the client's differs: it needs a reload, not the issues.
        throw (error instanceof RpcError ? this.#peer.skew?.invalidParams(name) : undefined) ?? error;
      });
      // Before authorize: params too large for a stream key are refused without waiting.
      const key = paramsKey(params, this.#peer.host.options.maxStreamKeyChars);
      const base = this.#peer.ctx;
      const join: Join = { id, name, from, params, key, channel, current, outcome, askedWith: base };
      const { middleware } = router;
      if (middleware.length === 0) await this.#authorizeAndJoin(join, base, false);
      else {
        const args = { kind: 'subscribe' as const, name, input: params, connection: this.#peer.connection };
        await runChain(middleware, args, base, (ctx) => this.#authorizeAndJoin(join, ctx, true));
      }
      // A refresh while it joined did not see it (pending then): it is checked now.
      if (outcome.joined && this.#checked(name) && join.askedWith !== this.#peer.ctx) await this.#recheck(id);
    } catch (error) {
      if (current()) this.delete(id);
      const rpcError = toRpcError(error);
      if (rpcError !== error) this.#peer.report(error, { channel: name });
      // Answered already (`subscribed`), or no longer wanted: no second reply.
      if (this.#peer.socket.state === 'open' && !pending.abandoned && !outcome.joined) {
        this.#peer.sendError(id, rpcError);
      }
    }
  }

  /** Whether a refresh re-checks this channel's subscriptions: it authorizes, or middleware runs around it. */
  #checked(name: string): boolean {
    const { router } = this.#peer.host;
    return router.middleware.length > 0 || this.#handlers(name)?.authorize !== undefined;
  }

  #handlers(name: string): ChannelHandlers | undefined {
    return (this.#peer.host.router.channels as Record<string, ChannelHandlers | undefined>)[name];
  }

  /**
   * `authorize` with `ctx`, then the join and its replies. Without middleware, `ctx` is the
   * connection's, and it is asked again while a refresh changes it under it; through
   * middleware the ctx is the chain's, and a refresh meanwhile is checked after the join.
   */
  async #authorizeAndJoin(join: Join, ctx: unknown, throughMiddleware: boolean): Promise<void> {
    const { id, name, from, params, key, channel, current, outcome } = join;
    const implementation = this.#handlers(name);
    let args = { params, ctx, connection: this.#peer.connection };
    const authorize = implementation?.authorize;
    // Asked again while a refresh changed the ctx under it: the answer is the current ctx's.
    while (authorize !== undefined) {
      if ((await authorize(args)) !== true) throw new RpcError('FORBIDDEN', `not allowed to subscribe to '${name}'`);
      if (throughMiddleware || args.ctx === this.#peer.ctx) break;
      args = { ...args, ctx: this.#peer.ctx };
      join.askedWith = args.ctx;
    }
    if (!current()) return; // unsubscribed or disconnected meanwhile
    const takeSnapshot = implementation?.snapshot;
    const topic = topicOf(name, key);
    await this.#peer.host.subscribe({
      peer: this.#peer,
      id,
      topic,
      from,
      snapshot:
        takeSnapshot === undefined || channel.snapshot === undefined
          ? undefined
          : () => {
              const state = takeSnapshot(args);
              const schema = channel.snapshot as SchemaLike;
              return isPromiseLike(state)
                ? Promise.resolve(state).then((value) => checkProduced(schema, value, 'snapshot', name))
                : checkProduced(schema, state, 'snapshot', name);
            },
      // The replies go out in the same step as the join: no message can precede them.
      onJoin: ({ position, gap, snapshot }) => {
        if (!current()) return false;
        // Encoded first: a snapshot that cannot be sent fails the subscribe, which then
        // gets its one reply (the error), never `subscribed` and an error after it.
        const state = snapshot === undefined ? undefined : encodeValue(snapshot.value);
        this.set(id, topic);
        outcome.joined = true;
        // A snapshot heals a gap: `subscribed` says that one follows instead.
        this.#peer.send(
          state !== undefined
            ? { type: 'subscribed', id, key, position, snapshot: true }
            : gap
              ? { type: 'subscribed', id, key, position, gap }
              : { type: 'subscribed', id, key, position },
        );
        if (state !== undefined) {
          const { json, meta, parts } = state;
          this.#peer.send(
            meta === undefined
              ? { type: 'snapshot', id, data: json, position }
              : { type: 'snapshot', id, data: json, meta, position },
            parts,
          );
        }
        return true;
      },
    });
  }

  unsubscribe(id: RequestId): void {
    const subscription = this.get(id);
    if (subscription === undefined) return;
    this.delete(id);
    if (typeof subscription === 'string') this.#peer.host.unsubscribe(this.#peer, subscription);
    else {
      subscription.abandoned = true;
      this.#abandonedJoins++;
    }
  }

  /**
   * The connection's ctx changed (a refresh): each joined subscription's `authorize` runs
   * again with it, and one it refuses ends with FORBIDDEN (an `error` with its id); the
   * others go on untouched. Params come back from the stream key, through the schema.
   */
  async reauthorize(): Promise<void> {
    await Promise.all(this.keys().map((id) => this.#recheck(id)));
  }

  /**
   * Runs a joined subscription's `authorize` again with the current ctx (through the
   * middleware, if the router has some); refused (false, FORBIDDEN, UNAUTHORIZED, or a
   * bug), it ends with FORBIDDEN.
   */
  async #recheck(id: RequestId): Promise<void> {
    const topic = this.get(id);
    if (typeof topic !== 'string') return; // pending: its join asks with the current ctx
    const { router } = this.#peer.host;
    const name = channelOf(topic);
    if (!this.#checked(name)) return;
    const authorize = this.#handlers(name)?.authorize;
    let allowed = false;
    try {
      const channel = router.contract.channels[name] as AnyContract['channels'][string];
      const params = await parseOrThrow(channel.params, paramsOfKey(topic.slice(name.length + 1)), 'params');
      const { connection } = this.#peer;
      const ask = (ctx: unknown) => (authorize === undefined ? true : authorize({ params, ctx, connection }));
      const { middleware } = router;
      const answer =
        middleware.length === 0
          ? await ask(this.#peer.ctx)
          : await runChain(middleware, { kind: 'reauthorize', name, input: params, connection }, this.#peer.ctx, ask);
      allowed = answer === true;
    } catch (error) {
      // A refusal that is not about permission (TOO_MANY_REQUESTS, UNAVAILABLE) is no
      // verdict: the subscription goes on. A bug ends it (reported), as a refusal does.
      if (!(error instanceof RpcError)) this.#peer.report(error, { channel: name });
      else allowed = error.code !== 'FORBIDDEN' && error.code !== 'UNAUTHORIZED';
    }
    // Ended meanwhile (unsubscribed, or the connection closed): nothing to say.
    if (allowed || this.get(id) !== topic) return;
    this.unsubscribe(id);
    if (this.#peer.socket.state === 'open') {
      this.#peer.sendError(id, new RpcError('FORBIDDEN', `no longer allowed to subscribe to '${name}'`));
    }
  }
}
