import { EventEmitter } from 'node:events';
import { withPosition } from '@switchboard/contract';
import type { Broker, BrokerGapListener, BrokerListener, HistoryResult } from '../../src/broker/broker.js';
import { type ChannelDelivery, type Delivered, type DeliveryPolicy, deliveredBytes } from '../../src/rpc/delivery.js';
import { Fanout, type Joined } from '../../src/rpc/fanout.js';
import { Outbox, type OutboxLimits } from '../../src/rpc/outbox.js';
import type { Peer } from '../../src/rpc/peer.js';
import { encodeFrame, OPCODES, type ServerWebSocket } from '../../src/transport/index.js';

// The fan-out with a broker and sockets the test drives, and trace strings of what a
// socket received: shared by the fanout.*.test.ts files.

export const TOPIC = 'feed:{}';
export const EPOCH = 'e';

/** A stream of `channel` whose messages and gaps trace as `<name>:…`. */
export function stream(name: string, channel = 'feed'): string {
  return `${channel}:{"s":${JSON.stringify(name)}}`;
}

/** Where a message goes and how long it is. */
interface MessageShape {
  topic?: string;
  /** Filler in `data.pad`. */
  pad?: string;
}

function payloadOf(n: number, symbol: string, { topic = TOPIC, pad = '' }: MessageShape): string {
  const colon = topic.indexOf(':');
  const data = pad === '' ? { n, symbol } : { n, symbol, pad };
  return `{"type":"message","channel":${JSON.stringify(topic.slice(0, colon))},"key":${JSON.stringify(topic.slice(colon + 1))},"data":${JSON.stringify(data)}}`;
}

/** The length of the frame that delivering message `n` sends (what it counts toward a budget). */
export function frameBytes(n: number, symbol = 's', shape: MessageShape = {}): number {
  return frameOf(n, symbol, shape).length;
}

/** What a message waiting in a lane counts toward its connection's budget (frame, envelope text, object). */
export function messageBytes(n: number, symbol = 's', shape: MessageShape = {}): number {
  return deliveredBytes({ frame: frameOf(n, symbol, shape), payload: payloadOf(n, symbol, shape) });
}

/** Message `n` as the fan-out hands it to a lane: its frame (with position `e:<n>`) and envelope text. */
export function deliveredMessage(n: number, symbol = 's', shape: MessageShape = {}): Delivered {
  return { frame: frameOf(n, symbol, shape), payload: payloadOf(n, symbol, shape) };
}

function frameOf(n: number, symbol: string, shape: MessageShape): Buffer {
  return encodeFrame(OPCODES.text, Buffer.from(withPosition(payloadOf(n, symbol, shape), `${EPOCH}:${n}`), 'utf8'));
}

interface Stream {
  offset: number;
  listener: BrokerListener | undefined;
  onGap: BrokerGapListener | undefined;
}

/** A broker the test drives: it numbers each topic's messages, delivers some and loses others. */
export class ScriptedBroker implements Broker {
  readonly #streams = new Map<string, Stream>();
  /** What position() answers with, once the test says so; at once when undefined. */
  positionGate: Promise<string> | undefined;

  #stream(topic: string): Stream {
    let found = this.#streams.get(topic);
    if (found === undefined) {
      found = { offset: 0, listener: undefined, onGap: undefined };
      this.#streams.set(topic, found);
    }
    return found;
  }

  async subscribe(topic: string, listener: BrokerListener, onGap?: BrokerGapListener): Promise<void> {
    const found = this.#stream(topic);
    found.listener = listener;
    found.onGap = onGap;
  }

  async unsubscribe(topic: string): Promise<void> {
    this.#stream(topic).listener = undefined;
  }

  async publish(): Promise<string> {
    throw new Error('the test delivers by hand');
  }

  async history(): Promise<HistoryResult> {
    return { messages: [], complete: false };
  }

  position(topic: string): string | Promise<string> {
    return this.positionGate ?? `${EPOCH}:${this.#stream(topic).offset}`;
  }

  async close(): Promise<void> {}

  /** Numbers the next message of `topic` and delivers it: `{ n, symbol, pad? }`, n being its offset. */
  deliver(symbol = 's', { topic = TOPIC, pad = '' }: MessageShape = {}): void {
    const found = this.#stream(topic);
    const n = ++found.offset;
    found.listener?.(payloadOf(n, symbol, { topic, pad }), `${EPOCH}:${n}`);
  }

  /** Numbers `count` messages of `topic` that never reach this process, and says so. */
  lose(count: number, topic = TOPIC): void {
    const found = this.#stream(topic);
    found.offset += count;
    found.onGap?.({ missing: count });
  }
}

/** The part of a server socket the Outbox uses; stalled until release(). */
export class FakeSocket extends EventEmitter {
  readonly received: string[] = [];
  bufferedAmount = 0;
  closeCode: number | undefined;
  #stalled: boolean;

  constructor(stalled: boolean) {
    super();
    this.#stalled = stalled;
  }

  sendFrame(frame: Buffer): boolean {
    this.received.push(summary(textOf(frame)));
    if (this.#stalled) this.bufferedAmount += frame.length;
    return !this.#stalled;
  }

  close(code: number): void {
    this.closeCode = code;
  }

  /** The peer reads everything: the socket drains. */
  release(): void {
    this.#stalled = false;
    this.bufferedAmount = 0;
    this.emit('drain');
  }
}

/** The text of an unmasked server frame. */
function textOf(frame: Buffer): string {
  const length = (frame[1] as number) & 0x7f;
  const start = length === 126 ? 4 : length === 127 ? 10 : 2;
  return frame.subarray(start).toString('utf8');
}

/**
 * `m<n>` for a message, `gap:<reason>:<count>` for a gap (`?` when it has no count),
 * `…@<id>` for a gap addressed to one subscription; prefixed by `<name>:` on a `stream(name)`.
 */
function summary(text: string): string {
  const envelope = JSON.parse(text) as {
    type: string;
    key?: string;
    data?: { n: number };
    reason?: string;
    dropped?: number;
    id?: number;
  };
  if (envelope.type === 'subscribed') return `sub@${envelope.id}`;
  const name = envelope.key === undefined ? undefined : (JSON.parse(envelope.key) as { s?: string }).s;
  const prefix = name === undefined ? '' : `${name}:`;
  if (envelope.type === 'message') return `${prefix}m${envelope.data?.n}`;
  const to = envelope.id === undefined ? '' : `@${envelope.id}`;
  return `${prefix}${envelope.type}:${envelope.reason}:${envelope.dropped ?? '?'}${to}`;
}

/** A channel's delivery with fresh counters; `latest` keys by the message's `symbol`. */
export function delivery(policy: DeliveryPolicy = 'queue', maxQueued = 100): ChannelDelivery {
  return {
    policy,
    maxQueued,
    keyOf:
      policy === 'latest'
        ? (payload) => (JSON.parse(payload as string) as { data: { symbol: string } }).data.symbol
        : undefined,
    counters: { messages: 0, dropped: 0, coalesced: 0, slowDisconnects: 0 },
  };
}

/** A fan-out over a scripted broker; channel `feed` (and any other not in `others`) has `policy`. */
export function setup(policy: DeliveryPolicy = 'queue', maxQueued = 100, others: Record<string, ChannelDelivery> = {}) {
  const broker = new ScriptedBroker();
  const feed = delivery(policy, maxQueued);
  const fanout = new Fanout(broker, (channel) => others[channel] ?? feed);
  return { broker, fanout, delivery: feed };
}

/**
 * A connection whose socket is stalled (or not) from the start; by default slow from the
 * first byte, with a budget that tests of other things never reach.
 */
export function connection(stalled: boolean, limits: OutboxLimits = { highWaterBytes: 0, maxBufferedBytes: 1 << 20 }) {
  const socket = new FakeSocket(stalled);
  const outbox = new Outbox(socket as unknown as ServerWebSocket, limits);
  // The fan-out needs only the connection's outbox.
  const peer = { outbox } as unknown as Peer;
  return { socket, peer, outbox };
}

/**
 * Joins `peer` to `topic` as subscription `id`, without `from`; resolves to what the join
 * told it. With `socket`, the join's reply goes to it, as the connection sends it.
 */
export async function join(fanout: Fanout, peer: Peer, id = 1, socket?: FakeSocket, topic = TOPIC): Promise<Joined> {
  let joined: Joined | undefined;
  await fanout.add({
    peer,
    id,
    topic,
    from: undefined,
    snapshot: undefined,
    onJoin: (value) => {
      joined = value;
      socket?.sendFrame(encodeFrame(OPCODES.text, Buffer.from(JSON.stringify({ type: 'subscribed', id }))));
      return true;
    },
  });
  if (joined === undefined) throw new Error('not joined');
  return joined;
}
