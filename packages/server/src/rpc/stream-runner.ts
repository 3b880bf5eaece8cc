import {
  type AnyStreamOutput,
  type CreditEnvelope,
  decodeValue,
  isStreamOutput,
  issuesData,
  type RequestId,
  RpcError,
  type StreamEnvelope,
  type Validated,
  validate,
} from '@switchboard/contract';
import { sendServerMessage } from './binary-buffer.js';
import { CallSignal, HandlerArgs } from './call-signal.js';
import { callHash } from './fingerprint.js';
import { runChain } from './middleware.js';
import type { PeerLink } from './peer-link.js';
import { RunningStream } from './running-stream.js';
import { scopeTag } from './shared-idempotency.js';
import { StreamRegistry } from './stream-registry.js';
import { StreamRelay } from './stream-relay.js';
import { type FollowedStream, StreamBudget, type StreamSink } from './stream-sink.js';
import { StreamRecorder, type StreamStore } from './stream-store.js';

// One connection's streams: each `stream` envelope either resumes a run this process has
// (found by its caller's scope and key, wherever it started) or starts one:
//
//   stream ─▶ refusals (id in use, draining, maxStreams, skew, unknown, not a stream)
//          ─▶ run of this key here? ─┬─ yes ─▶ same call? ─▶ attach from `after` (kept chunks, then live)
//                                    └─ no ─▶ after > 0: STREAM_LOST · else a new run: attached at once,
//                                             input schema ─▶ middleware ─▶ handler ─▶ its pump
//
// The runs outlive the connection: when it closes, each is detached and waits for a resume.

type Handler = (args: HandlerArgs) => unknown;

/** STREAM_LOST for a resume after chunk `after` of a run that is not (or no longer) anywhere. */
function lost(after: number): RpcError {
  return new RpcError('STREAM_LOST', 'this stream is no longer running', { reason: 'expired', after });
}

/** One connection's streaming calls. */
export class StreamRunner implements StreamSink {
  readonly budget: StreamBudget;
  readonly #link: PeerLink;
  readonly #scope: string | undefined;
  /** The runs this connection follows, by the id its client gave each. */
  readonly #runs = new Map<RequestId, FollowedStream>();
  /** Streams whose claim in the shared store is on its way: they count toward maxStreams. */
  #claiming = 0;
  /** The store shared with other processes, when there is one and the caller has a scope. */
  readonly #store: StreamStore | undefined;
  /** This connection's keys in that store: its scope's prefix. */
  readonly #sharedPrefix: string;

  constructor(link: PeerLink, scope: string | undefined) {
    this.#link = link;
    this.#scope = scope;
    this.budget = new StreamBudget(link.host.options.streamBufferBytes);
    const store = link.host.streamStore;
    this.#store = scope === undefined ? undefined : store;
    this.#sharedPrefix = scope === undefined || store === undefined ? '' : scopeTag(scope);
  }

  /** Runs followed (running, or finished with their end not yet acknowledged), and being claimed. */
  get count(): number {
    return this.#runs.size + this.#claiming;
  }

  send(text: string, parts?: readonly Uint8Array[]): void {
    if (this.#link.socket.state !== 'open') return;
    sendServerMessage(this.#link.socket, text, parts);
  }

  congested(): boolean {
    return this.#link.socket.bufferedAmount > this.#link.host.options.highWaterBytes;
  }

  whenDrained(wake: () => void): void {
    this.#link.socket.once('drain', wake);
  }

  forget(id: RequestId, run: FollowedStream): void {
    if (this.#runs.get(id) === run) this.#runs.delete(id);
  }

  /** Starts or resumes one streaming call. */
  stream(envelope: StreamEnvelope): void {
    const { id, name, key, after = 0, credit } = envelope;
    const registryKey = StreamRegistry.keyOf(this.#scope, key);
    const refusal = this.#refuse(envelope, registryKey);
    if (refusal !== undefined) {
      this.#link.sendError(id, refusal);
      return;
    }
    const hash = callHash(name, envelope.input, envelope.meta);
    // A re-send on this connection replaces what followed that id (a relay stops reading).
    const followed = this.#runs.get(id);
    if (followed instanceof StreamRelay) {
      this.#runs.delete(id);
      followed.detach(this);
    }
    const run = this.#link.host.streams.get(registryKey);
    if (run !== undefined) {
      if (run.hash !== hash) {
        this.#link.sendError(id, new RpcError('CONFLICT', 'this idempotency key was used with another call'));
        return;
      }
      const failed = run.attach(this, id, after, credit);
      if (failed === undefined) {
        this.#runs.set(id, run);
        this.#link.host.streams.resumed(run);
      } else {
        this.#link.sendError(id, failed);
        if (failed.code === 'STREAM_LOST') run.stop(failed);
      }
      return;
    }
    // Ran here and abandoned, or resumed from chunks this process never had: never run again.
    const abandoned = this.#link.host.streams.abandoned(registryKey);
    if (abandoned !== undefined && abandoned !== hash) {
      this.#link.sendError(id, new RpcError('CONFLICT', 'this idempotency key was used with another call'));
      return;
    }
    if (abandoned !== undefined || (after > 0 && this.#store === undefined)) {
      this.#link.sendError(id, lost(after));
      return;
    }
    if (this.#store === undefined) this.#start(envelope, registryKey, hash);
    else this.#beginShared(this.#store, envelope, registryKey, hash);
  }

  /**
   * With a shared store: the run is claimed there first. Claimed, it runs here and records
   * what it makes; taken, another process has (or had) it, and it is relayed from the record.
   */
  #beginShared(store: StreamStore, envelope: StreamEnvelope, registryKey: string, hash: number): void {
    const { id, after = 0 } = envelope;
    const key = this.#sharedPrefix + envelope.key;
    const fingerprint = String(hash);
    this.#claiming++;
    store.begin(key, fingerprint).then(
      (claim) => {
        this.#claiming--;
        // A re-send that crossed the first: the run started here meanwhile.
        const local = this.#link.host.streams.get(registryKey);
        if (local !== undefined) {
          if (this.#link.socket.state === 'open') this.stream(envelope);
          return;
        }
        if (claim.state === 'claimed') {
          if (after > 0 || this.#link.host.draining) {
            // A record that expired: nothing to resume from. The claim goes again.
            store.release(key).catch(() => {});
            const closing = new RpcError('UNAVAILABLE', 'the server is shutting down');
            this.#link.sendError(id, after > 0 ? lost(after) : closing);
            return;
          }
          // Claimed, it runs here, even when its connection closed meanwhile (then detached,
          // waiting for the resume that the client's re-send elsewhere will relay from the record).
          const run = this.#start(envelope, registryKey, hash);
          run.record(new StreamRecorder(store, key, claim.token, this.#reporter(envelope.name)));
          if (this.#link.socket.state !== 'open') {
            this.#runs.delete(id);
            run.detach(this);
            this.#link.host.streams.waiting(run);
          }
          return;
        }
        if (this.#link.socket.state !== 'open') return;
        if (claim.fingerprint !== fingerprint) {
          this.#link.sendError(id, new RpcError('CONFLICT', 'this idempotency key was used with another call'));
          return;
        }
        const relay = new StreamRelay(store, key, registryKey, this, id, after, envelope.credit);
        this.#runs.get(id)?.detach(this); // a re-send whose claim came back first
        this.#runs.set(id, relay);
        relay.start();
      },
      (error: unknown) => {
        this.#claiming--;
        this.#reporter(envelope.name)(error);
        this.#link.sendError(id, new RpcError('UNAVAILABLE', 'the stream store is unreachable'));
      },
    );
  }

  #reporter(name: string): (error: unknown) => void {
    return (error) => this.#link.report(error, { procedure: name });
  }

  /** The client read chunks of stream `id`. */
  credit({ id, n, read }: CreditEnvelope): void {
    this.#runs.get(id)?.credit(n, read);
  }

  /** The client cancels stream `id` (or acknowledges its end): the run stops and is released. Whether it was a stream. */
  cancel(id: RequestId): boolean {
    const run = this.#runs.get(id);
    if (run === undefined) return false;
    run.stop(new RpcError('CANCELLED', 'cancelled by the caller'));
    return true;
  }

  /** The connection closed: its runs wait for a resume (streamIdleMs), within the process's streamDetachedBytes. */
  close(): void {
    const { streams } = this.#link.host;
    for (const run of this.#runs.values()) {
      run.detach(this);
      if (run instanceof RunningStream && !run.released) streams.waiting(run);
    }
    this.#runs.clear();
    this.budget.orphan(streams.detachedBytes);
  }

  #start(envelope: StreamEnvelope, registryKey: string, hash: number): RunningStream {
    const { id, name, credit } = envelope;
    const { host } = this.#link;
    const output = host.router.contract.procedures[name]?.output as AnyStreamOutput;
    const call = new CallSignal();
    const report = this.#reporter(name);
    const run = new RunningStream(
      registryKey,
      hash,
      name,
      output,
      call,
      this.budget,
      host.options,
      report,
      (done, abandoned) => host.streams.delete(done, abandoned),
    );
    // Registered before its input is even checked: a re-send meanwhile finds this run.
    host.streams.add(run);
    this.#runs.set(id, run);
    run.attach(this, id, 0, credit);
    let parsed: Validated<unknown> | Promise<Validated<unknown>>;
    try {
      const procedure = host.router.contract.procedures[name];
      parsed = validate(procedure?.input as AnyStreamOutput['chunk'], decodeValue(envelope.input, envelope.meta));
    } catch (error) {
      run.fail(error);
      return run;
    }
    Promise.resolve(parsed)
      .then((input) => {
        if (run.released) return undefined;
        if (!input.ok) {
          throw (
            this.#link.skew?.invalidInput(name) ??
            new RpcError('BAD_REQUEST', 'invalid input', issuesData(input.issues))
          );
        }
        const { middleware } = host.router;
        const begin = (ctx: unknown) => this.#invoke(run, name, input.value, ctx, call);
        if (middleware.length === 0) return begin(this.#link.ctx);
        const args = { kind: 'stream' as const, name, input: input.value, connection: this.#link.connection };
        return runChain(middleware, args, this.#link.ctx, begin);
      })
      .catch((error: unknown) => run.fail(error));
    return run;
  }

  #invoke(run: RunningStream, name: string, input: unknown, ctx: unknown, call: CallSignal): void {
    if (run.released) return;
    const handler = (this.#link.host.router.procedures as unknown as Record<string, Handler>)[name] as Handler;
    run.start(handler(new HandlerArgs(input, ctx, this.#link.connection, call)));
  }

  #refuse({ id, name }: StreamEnvelope, registryKey: string): RpcError | undefined {
    const { router, options, draining } = this.#link.host;
    const followed = this.#runs.get(id);
    // The same stream again on this connection (a re-send that crossed its first reply) resumes it.
    if (followed !== undefined && followed.registryKey !== registryKey) {
      return new RpcError('BAD_REQUEST', `id ${id} is already in flight`);
    }
    if (draining) return new RpcError('UNAVAILABLE', 'the server is shutting down');
    // Resumes count too: a connection follows at most maxStreams runs, wherever they started.
    if (followed === undefined && this.count >= options.maxStreams) {
      return new RpcError('TOO_MANY_REQUESTS', `at most ${options.maxStreams} streams per connection`);
    }
    const skewed = this.#link.skew?.refuseCall(name);
    if (skewed !== undefined) return skewed;
    if (!Object.hasOwn(router.contract.procedures, name)) return new RpcError('NOT_FOUND', `no procedure '${name}'`);
    if (!isStreamOutput(router.contract.procedures[name]?.output)) {
      return new RpcError('BAD_REQUEST', `'${name}' is not a streaming procedure: use client.call()`);
    }
    return undefined;
  }
}
