import { isPosition, RpcError, type ServerEnvelope } from '@switchboard/contract';

// The client's side of readClientEnvelope (packages/contract/src/protocol.ts): the server
// is a peer like any other, so nothing it sends is trusted. Pure, no I/O.
//
//   data ─▶ binary? ─▶ longer than maxMessageBytes? ─▶ parseJson ─▶ readServerEnvelope ─▶ envelope
//            1003          1009 PAYLOAD_TOO_LARGE       1002          1002 BAD_REQUEST
//
// Every field the client reads is checked in place and the parsed object is returned as is:
// `result` and `message` are the hot path, and allocate nothing here. Unknown fields stay
// (and are ignored), as docs/protocol.md's Versioning asks.

type OwnIds<E> = { [K in keyof E]: K extends 'id' ? Exclude<E[K], string> : E[K] };
type WithOwnIds<E> = E extends unknown ? OwnIds<E> : never;

/** A server envelope as readServerEnvelope lets it through: its ids are numbers, the only ids this client sends. */
export type CheckedServerEnvelope = WithOwnIds<ServerEnvelope>;

/**
 * Longest `channel` (or name in `skew`) accepted: a channel's name in the contract is at most this long
 * (MAX_NAME_LENGTH in packages/contract/src/contract.ts), and the server refuses a
 * longer one in `subscribe`.
 */
export const MAX_CHANNEL_LENGTH = 128;

/** What a server's id must be for this client: it only ever sends non-negative safe integers. */
function isOwnId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** superjson's `meta`, when present, is an object; what is inside it is decodeValue's to refuse. */
function isMeta(value: unknown): boolean {
  return value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

/**
 * `{ code, message, data? }` with a string code and message. An unknown code is still an
 * error (docs/protocol.md: clients treat it as INTERNAL, which RpcError.fromWire does).
 */
function isWireError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { code, message } = value as Record<string, unknown>;
  return typeof code === 'string' && typeof message === 'string';
}

function isChannel(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_CHANNEL_LENGTH;
}

const SKEW_REASONS: ReadonlySet<unknown> = new Set(['removed', 'changed', 'input-changed']);

/** `{ procedures, channels }`, each mapping names (as long as a contract's) to a reason. */
function isContractSkew(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { procedures, channels } = value as Record<string, unknown>;
  return [procedures, channels].every(
    (names) =>
      typeof names === 'object' &&
      names !== null &&
      !Array.isArray(names) &&
      Object.entries(names).every(([name, reason]) => isChannel(name) && SKEW_REASONS.has(reason)),
  );
}

function bad(problem: string): RpcError {
  return new RpcError('BAD_REQUEST', `bad server message: ${problem}`);
}

/**
 * Checks the shape of a parsed server message without trusting any of it. Returns the
 * envelope (the same object), `undefined` for an envelope of a type this version does not
 * know (a later v1 server's, to ignore), or the error to report when it is not an envelope.
 */
export function readServerEnvelope(value: unknown): CheckedServerEnvelope | RpcError | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad('not a JSON object');
  }
  const message = value as Record<string, unknown>;
  const type = message.type;
  if (typeof type !== 'string') return bad('no type');
  switch (type) {
    case 'result':
      if (!isOwnId(message.id)) return bad('result id is not one of ours');
      if (!isMeta(message.meta)) return bad('result meta is not an object');
      return message as unknown as CheckedServerEnvelope;
    case 'message':
      if (!isChannel(message.channel)) return bad('message channel is not a channel name');
      if (typeof message.key !== 'string') return bad('message key is not a string');
      if (!isPosition(message.position)) return bad('message position is not epoch:offset');
      if (!isMeta(message.meta)) return bad('message meta is not an object');
      return message as unknown as CheckedServerEnvelope;
    case 'error':
      if (message.id !== null && !isOwnId(message.id)) return bad('error id is not one of ours');
      if (!isWireError(message.error)) return bad('error is not { code, message }');
      return message as unknown as CheckedServerEnvelope;
    case 'subscribed':
      if (!isOwnId(message.id)) return bad('subscribed id is not one of ours');
      if (typeof message.key !== 'string') return bad('subscribed key is not a string');
      if (!isPosition(message.position)) return bad('subscribed position is not epoch:offset');
      if (message.gap !== undefined && typeof message.gap !== 'boolean') return bad('subscribed gap is not a boolean');
      if (message.snapshot !== undefined && typeof message.snapshot !== 'boolean') {
        return bad('subscribed snapshot is not a boolean');
      }
      return message as unknown as CheckedServerEnvelope;
    case 'snapshot':
      if (!isOwnId(message.id)) return bad('snapshot id is not one of ours');
      if (!isPosition(message.position)) return bad('snapshot position is not epoch:offset');
      if (!isMeta(message.meta)) return bad('snapshot meta is not an object');
      return message as unknown as CheckedServerEnvelope;
    case 'gap': {
      if (!isChannel(message.channel)) return bad('gap channel is not a channel name');
      if (typeof message.key !== 'string') return bad('gap key is not a string');
      if (message.reason !== 'dropped' && message.reason !== 'history') return bad('gap reason is unknown');
      const { dropped } = message;
      if (dropped !== undefined && !(Number.isSafeInteger(dropped) && (dropped as number) >= 0)) {
        return bad('gap dropped is not a non-negative integer');
      }
      if (message.id !== undefined && !isOwnId(message.id)) return bad('gap id is not one of ours');
      return message as unknown as CheckedServerEnvelope;
    }
    case 'pong':
      return message as unknown as CheckedServerEnvelope;
    case 'chunk':
    case 'end': {
      if (!isOwnId(message.id)) return bad(`${type} id is not one of ours`);
      const { seq } = message;
      if (!(Number.isSafeInteger(seq) && (seq as number) >= (type === 'chunk' ? 1 : 0))) {
        return bad(`${type} seq is not a chunk number`);
      }
      if (!isMeta(message.meta)) return bad(`${type} meta is not an object`);
      return message as unknown as CheckedServerEnvelope;
    }
    case 'authenticated': {
      if (!isOwnId(message.id)) return bad('authenticated id is not one of ours');
      const { expiresInMs } = message;
      if (
        expiresInMs !== undefined &&
        !(typeof expiresInMs === 'number' && expiresInMs >= 0 && expiresInMs < 2 ** 53)
      ) {
        return bad('authenticated expiresInMs is not a number of ms');
      }
      if (message.skew !== undefined && !isContractSkew(message.skew)) {
        return bad('authenticated skew is not { procedures, channels } of names and reasons');
      }
      return message as unknown as CheckedServerEnvelope;
    }
    default:
      // docs/protocol.md, Versioning: a peer ignores envelope types it does not know.
      return undefined;
  }
}
