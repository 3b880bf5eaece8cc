import { parsePosition } from '@switchboard/contract';
import type { BrokerPayload } from '@switchboard/server';
import type { Redis } from 'ioredis';
import type { ResolvedRedisOptions } from './options.js';
import { payloadOf, payloadText } from './payload-text.js';
import { POSITION_LUA, PUBLISH_LUA, READ_LUA } from './scripts.js';
import type { Numbered, StreamRead } from './topic-stream.js';

// A topic's three scripts (scripts.ts) as typed calls on the command connection, and what
// their replies mean. Errors pass through: the broker says what failed.

interface Scripts {
  sbPublish(
    meta: string,
    stream: string,
    channel: string,
    epoch: string,
    payload: string,
    maxMessages: number,
    maxAgeMs: number,
    topicTtlMs: number,
    sharded: string,
  ): Promise<string>;
  sbPosition(meta: string, stream: string, epoch: string, topicTtlMs: number): Promise<string>;
  sbRead(
    meta: string,
    stream: string,
    epoch: string,
    after: number,
    maxMessages: number,
    maxAgeMs: number,
    follow: string,
  ): Promise<unknown[]>;
}

/** The keys and channel of a topic; the topic is the hash tag, so a cluster keeps them on one slot. */
export function topicKeys(prefix: string, topic: string): { meta: string; stream: string; channel: string } {
  const tag = `{${topic}}`;
  return { meta: `${prefix}:m:${tag}`, stream: `${prefix}:h:${tag}`, channel: `${prefix}:p:${tag}` };
}

/** `<epoch>:<offset> <payload>`, as the publish script sends it; undefined if malformed. */
export function parseMessage(text: string): Numbered | undefined {
  const space = text.indexOf(' ');
  if (space < 0) return undefined;
  const position = text.slice(0, space);
  const parsed = parsePosition(position);
  if (parsed === undefined) return undefined;
  return { epoch: parsed.epoch, offset: parsed.offset, position, payload: payloadOf(text.slice(space + 1)) };
}

function parseRead(reply: unknown[]): StreamRead {
  const epoch = typeof reply[0] === 'string' ? reply[0] : undefined;
  const newest = Number(reply[1] ?? 0);
  const read = reply[2];
  const messages: Numbered[] = [];
  if (typeof read === 'string') {
    for (let i = 3; i + 1 < reply.length; i += 2) {
      const offset = Number(reply[i]);
      messages.push({ epoch: read, offset, position: `${read}:${offset}`, payload: payloadOf(String(reply[i + 1])) });
    }
  }
  return { epoch, newest, messages };
}

/** Whether to use sharded Pub/Sub (SSUBSCRIBE/SPUBLISH): as configured, or where the server has it. */
export async function detectSharded(command: Redis, mode: ResolvedRedisOptions['pubsub']): Promise<boolean> {
  if (mode !== 'auto') return mode === 'sharded';
  const info = await command.call('COMMAND', 'INFO', 'SPUBLISH');
  return Array.isArray(info) && info[0] !== null && info[0] !== undefined;
}

export class TopicCommands {
  readonly #scripts: Scripts;
  readonly #options: ResolvedRedisOptions;

  constructor(command: Redis, options: ResolvedRedisOptions) {
    command.defineCommand('sbPublish', { numberOfKeys: 3, lua: PUBLISH_LUA });
    command.defineCommand('sbPosition', { numberOfKeys: 2, lua: POSITION_LUA });
    command.defineCommand('sbRead', { numberOfKeys: 2, lua: READ_LUA, readOnly: true });
    this.#scripts = command as unknown as Scripts;
    this.#options = options;
  }

  /** Numbers, logs and publishes `payload`; resolves to its position. `epoch`: the topic's if it has none yet. */
  publish(topic: string, payload: BrokerPayload, epoch: string, sharded: boolean): Promise<string> {
    const { meta, stream, channel } = topicKeys(this.#options.prefix, topic);
    const { maxMessages, maxAgeMs, topicTtlMs } = this.#options;
    return this.#scripts.sbPublish(
      meta,
      stream,
      channel,
      epoch,
      payloadText(payload),
      maxMessages,
      maxAgeMs,
      topicTtlMs,
      sharded ? '1' : '0',
    );
  }

  /** The topic's position now. `epoch`: the topic's if it has none yet. */
  position(topic: string, epoch: string): Promise<string> {
    const { meta, stream } = topicKeys(this.#options.prefix, topic);
    return this.#scripts.sbPosition(meta, stream, epoch, this.#options.topicTtlMs);
  }

  /**
   * What the topic's log holds after `after` in `epoch`; with `follow`, when `epoch` is no
   * longer the topic's, its current epoch from the start instead (see READ_LUA).
   */
  async read(topic: string, epoch: string, after: number, follow: boolean): Promise<StreamRead> {
    const { meta, stream } = topicKeys(this.#options.prefix, topic);
    const { maxMessages, maxAgeMs } = this.#options;
    return parseRead(await this.#scripts.sbRead(meta, stream, epoch, after, maxMessages, maxAgeMs, follow ? '1' : '0'));
  }
}
