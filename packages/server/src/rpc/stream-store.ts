/**
 * Where a streaming call's chunks are recorded before they are sent, so that a client whose
 * process died (or that reconnected to another one) is answered by another process from
 * what was recorded: the chunks it lacks, then the end — or STREAM_LOST when the run died
 * before its end. The handler never runs a second time. `redisBroker(…).idempotency.streams`
 * is one; the server uses it when its `idempotency.store` has one (docs/streams.md).
 */
export interface StreamStore {
  /** How long a run's claim holds unless a chunk or extend() renews it. */
  readonly leaseMs: number;
  /** Takes `key` for a run here, or tells what another run of it left. */
  begin(key: string, fingerprint: string): Promise<StreamClaim>;
  /** Records chunk `seq` (its envelope text after the id) of the run holding `token`, and renews its claim; false: the claim was lost. */
  append(key: string, token: string, seq: number, body: string): Promise<boolean>;
  /** Keeps the claim of a run that makes no chunk for a while; false: it was lost. */
  extend(key: string, token: string): Promise<boolean>;
  /** Records how the run ended: `end` or `error`, and the envelope text after the id. */
  finish(key: string, token: string, type: 'end' | 'error', body: string): Promise<void>;
  /** What was recorded after chunk `after`: at most `max` chunks of it (fewer: there are no more, for now). */
  read(key: string, after: number, max: number): Promise<StreamRecord | undefined>;
  /** The client has the whole stream: forget it. */
  release(key: string): Promise<void>;
}

/** What StreamStore.begin() found. */
export type StreamClaim =
  | {
      /** The key was free: the run is this process's. */
      state: 'claimed';
      /** Proves the claim to append(), extend() and finish(). */
      token: string;
    }
  | {
      /** Another run has (or had) the key: read() what it recorded. */
      state: 'taken';
      /** The call that run is for: another call under the same key is a CONFLICT. */
      fingerprint: string;
    };

/** A run as recorded: its chunks after the one asked for, how it ended, whether it still runs. */
export interface StreamRecord {
  /** The call it is for. */
  fingerprint: string;
  /** The chunks after the one asked for, oldest first: as many as are kept, up to the number asked for. */
  chunks: Array<{
    /** The chunk's place in the run. */
    seq: number;
    /** Its envelope's text after the id. */
    body: string;
  }>;
  /** The last chunk recorded (0: none). */
  last: number;
  /** How it ended, once it did. */
  final:
    | {
        /** The final envelope's type. */
        type: 'end' | 'error';
        /** Its text after the id. */
        body: string;
      }
    | undefined;
  /** Its claim is held (its process is alive, or died less than leaseMs ago). */
  running: boolean;
}

/**
 * An envelope's body as a store keeps it: its text, then (with byte values) a NUL and the
 * bytes in base64. JSON text never holds a raw NUL (JSON.stringify escapes it).
 */
export function recordedBody(body: string, parts: readonly Uint8Array[] | undefined): string {
  if (parts === undefined || parts.length === 0) return body;
  return `${body}\u0000${Buffer.concat(parts).toString('base64')}`;
}

/** What recordedBody() wrote: the text, and the byte values as one part (the reader slices them by `meta.b`). */
export function bodyOfRecord(recorded: string): { body: string; parts: Uint8Array[] | undefined } {
  const nul = recorded.indexOf('\u0000');
  if (nul < 0) return { body: recorded, parts: undefined };
  return { body: recorded.slice(0, nul), parts: [Buffer.from(recorded.slice(nul + 1), 'base64')] };
}

/** One run's side of a StreamStore: its claim kept alive while it makes no chunk. */
export class StreamRecorder {
  readonly #store: StreamStore;
  readonly #key: string;
  readonly #token: string;
  readonly #report: (error: unknown) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** False once the store failed or the claim was lost: the run goes on unrecorded. */
  #recording = true;

  constructor(store: StreamStore, key: string, token: string, report: (error: unknown) => void) {
    this.#store = store;
    this.#key = key;
    this.#token = token;
    this.#report = report;
    this.#timer = setInterval(
      () => {
        if (this.#recording) this.#store.extend(key, token).catch(() => {});
      },
      Math.max(1, Math.floor(store.leaseMs / 3)),
    );
    this.#timer.unref();
  }

  /** Records a chunk before it is sent; a failure leaves the run unrecorded from then on (reported once). */
  async append(seq: number, body: string, parts: readonly Uint8Array[] | undefined): Promise<void> {
    if (!this.#recording) return;
    try {
      const recorded = recordedBody(body, parts);
      if (!(await this.#store.append(this.#key, this.#token, seq, recorded))) this.#lost(new Error('lost its claim'));
    } catch (error) {
      this.#lost(error);
    }
  }

  async finish(type: 'end' | 'error', body: string, parts?: readonly Uint8Array[]): Promise<void> {
    this.stop();
    if (!this.#recording) return;
    try {
      await this.#store.finish(this.#key, this.#token, type, recordedBody(body, parts));
    } catch (error) {
      this.#lost(error);
    }
  }

  /** The run was released: no more renewals (the client has it all, or nobody will ask). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The client acknowledged the whole stream: the record goes. */
  release(): void {
    this.stop();
    this.#store.release(this.#key).catch(() => {});
  }

  #lost(error: unknown): void {
    this.#recording = false;
    this.#report(
      new Error(`stream ${this.#key} is no longer recorded: a resume on another process gets STREAM_LOST`, {
        cause: error,
      }),
    );
  }
}
