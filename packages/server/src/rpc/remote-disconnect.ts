import { randomUUID } from 'node:crypto';
import { CLOSE_CODES, decodeValue, encodeValue } from '@switchboard/contract';
import type { BroadcastListening, Broker } from '../broker/broker.js';

/** What this needs of a connection (a Peer is one). */
interface RemotePeer {
  readonly ctx: unknown;
  readonly socket: { readonly state: string; close(code: number, reason: string): void };
}

/** The connections one `find` picked on other processes: by process, indexes into what it listed for call `r`. */
export interface RemoteMatches {
  r: string;
  picked: Map<string, number[]>;
}

/** Listed ctx copies per broadcast: a process with many connections answers in several. */
const LIST_CHUNK_BYTES = 256 * 1024;

/**
 * `server.disconnect()` on the other server processes of a shared broker (Redis), in two
 * rounds of broadcasts. A filter is a function, and a function does not travel: so this
 * process asks every other one for a copy of its connections' ctx (superjson), runs the
 * filter here, and tells each process which of its connections to close. Costs one copy of
 * every connection's ctx per call; nothing is kept or sent between calls.
 *
 * Messages (`<to>\n<JSON>`: `to` the process meant, `*` for all, read before the JSON;
 * `r` names one call):
 * - `{ k: 'list', r, from, ms }`: every process keeps a snapshot of its open connections for
 *   `r` and answers `{ k: 'ctxs', r, to, from, g, gs, at, ctx: ['[json, meta?]' | null …], last }`
 *   (`g`, `gs`: its group of listeners and the group's size: a broker's count of
 *   receivers counts a group once, so the caller knows how many answers to wait for).
 * - `{ k: 'close', r, from, pick: { [process]: [index …] }, reason }` (the same `r`): each
 *   process closes
 *   the picked connections of its snapshot that are still open and answers
 *   `{ k: 'closed', r, to, from, n }`.
 */
export class RemoteDisconnect {
  readonly #node = randomUUID();
  readonly #broker: Broker;
  readonly #peers: () => Iterable<RemotePeer>;
  readonly #timeoutMs: number;
  readonly #onError: (error: unknown) => void;
  /** Snapshots this process listed for another one's call, until it says which to close. */
  readonly #snapshots = new Map<string, { peers: RemotePeer[]; timer: NodeJS.Timeout }>();
  /** This process's calls waiting for answers. */
  readonly #waiting = new Map<string, (message: Message) => void>();
  #listening: Promise<BroadcastListening | undefined> | undefined;

  constructor(broker: Broker, peers: () => Iterable<RemotePeer>, timeoutMs: number, onError: (error: unknown) => void) {
    this.#broker = broker;
    this.#peers = peers;
    this.#timeoutMs = timeoutMs;
    this.#onError = onError;
  }

  /** Starts answering other processes (a broker without broadcasts: nothing to do). */
  start(): void {
    const listen = this.#broker.listenBroadcasts?.bind(this.#broker);
    if (listen === undefined || this.#broker.broadcast === undefined) return;
    const onError = this.#onError;
    this.#listening = listen((payload) => void this.#receive(payload).catch(onError)).catch((error: unknown) => {
      this.#onError(error);
      return undefined;
    });
  }

  async stop(): Promise<void> {
    (await this.#listening)?.stop();
    for (const { timer } of this.#snapshots.values()) clearTimeout(timer);
    this.#snapshots.clear();
  }

  /**
   * Runs `filter` over a copy of every other process's connections' ctx; what answered
   * within the timeout is searched. Throws what `filter` throws.
   */
  async find(filter: (ctx: unknown) => boolean): Promise<RemoteMatches> {
    const r = randomUUID();
    const matches = new Map<string, number[]>();
    const own = await this.#listening;
    if (own === undefined) return { r, picked: matches };
    /** Processes whose whole list arrived: their group, and its size. */
    const listed = new Map<string, { g: string; gs: number }>();
    let failure: { error: unknown } | undefined;
    const take = (message: Message) => {
      if (message.k !== 'ctxs') return;
      const picked = matches.get(message.from) ?? [];
      message.ctx.forEach((copy, i) => {
        if (failure !== undefined || copy === null) return;
        try {
          const [json, meta] = JSON.parse(copy) as [unknown, unknown];
          if (filter(decodeValue(json, meta))) picked.push(message.at + i);
        } catch (error) {
          failure = { error };
        }
      });
      if (picked.length > 0) matches.set(message.from, picked);
      if (message.last) listed.set(message.from, message);
    };
    await this.#exchange(r, { k: 'list', r, from: this.#node, ms: this.#timeoutMs }, take, (groups) =>
      allListed(listed, groups, own),
    );
    if (failure !== undefined) throw failure.error;
    return { r, picked: matches };
  }

  /** Closes what `find` picked; resolves to how many closed, as the processes that answered in time say. */
  async close({ r, picked: matches }: RemoteMatches, reason: string): Promise<number> {
    if (matches.size === 0) return 0;
    let closed = 0;
    const answered = new Set<string>();
    const pick = Object.fromEntries(matches);
    const take = (message: Message) => {
      if (message.k !== 'closed' || answered.has(message.from) || !matches.has(message.from)) return;
      answered.add(message.from);
      closed += message.n;
    };
    await this.#exchange(
      r,
      { k: 'close', r, from: this.#node, pick, reason },
      take,
      () => answered.size === matches.size,
    );
    return closed;
  }

  /**
   * Broadcasts `request` and hands its answers to `take` until `complete` (told how many
   * groups of listeners got the request) holds, or the timeout.
   */
  async #exchange(
    r: string,
    request: Message,
    take: (answer: Message) => void,
    complete: (groups: number) => boolean,
  ): Promise<void> {
    const broadcast = this.#broker.broadcast?.bind(this.#broker);
    if (broadcast === undefined) return;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    let groups: number | undefined;
    this.#waiting.set(r, (answer) => {
      take(answer);
      if (groups !== undefined && complete(groups)) done();
    });
    const timer = setTimeout(done, this.#timeoutMs);
    try {
      groups = await broadcast(`*\n${JSON.stringify(request)}`);
      if (complete(groups)) done();
      await finished;
    } catch (error) {
      // The broker is unreachable: this process's own connections are still closed.
      this.#onError(error);
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(r);
    }
  }

  async #receive(payload: string): Promise<void> {
    // An answer meant for another process is skipped before it is parsed.
    const newline = payload.indexOf('\n');
    const to = payload.slice(0, newline);
    if (newline === -1 || (to !== '*' && to !== this.#node)) return;
    let message: Message;
    try {
      message = JSON.parse(payload.slice(newline + 1)) as Message;
    } catch (error) {
      this.#onError(error);
      return;
    }
    if (message.from === this.#node) return;
    if (message.k === 'list') {
      const listening = await this.#listening;
      if (listening !== undefined) this.#list(message, listening);
    } else if (message.k === 'close') this.#closePicked(message);
    else if (message.to === this.#node) this.#waiting.get(message.r)?.(message);
  }

  /** Answers a `list`: copies of this process's open connections' ctx, in chunks. */
  #list({ r, from, ms }: ListMessage, { group: g, groupSize: gs }: BroadcastListening): void {
    const peers = [...this.#peers()].filter((peer) => peer.socket.state === 'open');
    // Kept until the caller says which to close, or twice the caller's timeout (at most 2 min).
    const keptMs = 2 * Math.min(Number.isFinite(ms) && ms > 0 ? ms : this.#timeoutMs, 60_000);
    const timer = setTimeout(() => this.#snapshots.delete(r), keptMs);
    timer.unref();
    this.#snapshots.set(r, { peers, timer });
    let at = 0;
    let chunk: CtxCopy[] = [];
    let bytes = 0;
    const send = (last: boolean) => {
      const answer: CtxsMessage = { k: 'ctxs', r, to: from, from: this.#node, g, gs, at, ctx: chunk, last };
      this.#send(answer);
      at += chunk.length;
      chunk = [];
      bytes = 0;
    };
    for (const peer of peers) {
      const copy = copyOf(peer.ctx, this.#onError);
      chunk.push(copy);
      bytes += copy === null ? 4 : copy.length + 4;
      if (bytes >= LIST_CHUNK_BYTES) send(false);
    }
    send(true);
  }

  #closePicked({ r, from, pick, reason }: CloseMessage): void {
    const indexes = Object.hasOwn(pick, this.#node) ? pick[this.#node] : undefined;
    if (indexes === undefined) return;
    const snapshot = this.#snapshots.get(r);
    this.#snapshots.delete(r);
    let n = 0;
    if (snapshot !== undefined) {
      clearTimeout(snapshot.timer);
      for (const index of indexes) {
        const peer = snapshot.peers[index];
        if (peer?.socket.state === 'open') {
          peer.socket.close(CLOSE_CODES.unauthorized, reason);
          n++;
        }
      }
    }
    this.#send({ k: 'closed', r, to: from, from: this.#node, n });
  }

  /** An answer: to the process that asked, named ahead of the JSON so that the others skip it unread. */
  #send(message: CtxsMessage | ClosedMessage): void {
    const text = `${message.to}\n${JSON.stringify(message)}`;
    this.#broker.broadcast?.(text).catch((error: unknown) => this.#onError(error));
  }
}

/**
 * Whether every process that got a `list` has answered in full: `groups` groups of
 * listeners got it (this process's own among them); each group's size is in its answers.
 */
function allListed(
  listed: ReadonlyMap<string, { g: string; gs: number }>,
  groups: number,
  own: BroadcastListening,
): boolean {
  const seen = new Map<string, { size: number; answered: number }>();
  for (const { g, gs } of listed.values()) {
    const group = seen.get(g) ?? { size: gs, answered: 0 };
    group.answered++;
    seen.set(g, group);
  }
  // This process's own group: the others in it answer too.
  if ((seen.get(own.group)?.answered ?? 0) < own.groupSize - 1) return false;
  let others = 0;
  for (const [g, { size, answered }] of seen) {
    if (g === own.group) continue;
    if (answered < size) return false;
    others++;
  }
  return others >= groups - 1;
}

/** A ctx as the JSON text of superjson's `[json, meta?]`, or null when it does not encode (then no filter picks it). */
type CtxCopy = string | null;

function copyOf(ctx: unknown, onError: (error: unknown) => void): CtxCopy {
  try {
    const { json, meta } = encodeValue(ctx);
    return JSON.stringify(meta === undefined ? [json] : [json, meta]);
  } catch (error) {
    onError(error);
    return null;
  }
}

interface ListMessage {
  k: 'list';
  r: string;
  from: string;
  /** The caller's timeout per round: the snapshot is kept for two. */
  ms: number;
}
interface CtxsMessage {
  k: 'ctxs';
  r: string;
  to: string;
  from: string;
  /** The answering process's group of listeners, and its size (see BroadcastListening). */
  g: string;
  gs: number;
  at: number;
  ctx: CtxCopy[];
  last: boolean;
}
interface CloseMessage {
  k: 'close';
  r: string;
  from: string;
  pick: Record<string, number[]>;
  reason: string;
}
interface ClosedMessage {
  k: 'closed';
  r: string;
  to: string;
  from: string;
  n: number;
}
type Message = ListMessage | CtxsMessage | CloseMessage | ClosedMessage;
