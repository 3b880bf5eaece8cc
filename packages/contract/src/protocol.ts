import { MAX_NAME_LENGTH } from './contract.js';
import { type ErrorCode, RpcError, type WireError } from './errors.js';
import { type ContractFingerprint, fingerprintProblem } from './fingerprint.js';
import { isPosition } from './position.js';
import {
  type ChunkEnvelope,
  type CreditEnvelope,
  type EndEnvelope,
  readCreditEnvelope,
  readStreamEnvelope,
  type StreamEnvelope,
} from './stream-protocol.js';

/**
 * Switchboard wire protocol, version 1. Negotiated as the WebSocket subprotocol
 * `switchboard.v1`; every message is a JSON text frame holding one envelope keyed on
 * `type`. See docs/protocol.md.
 */
export const PROTOCOL = 'switchboard.v1';

/**
 * A client may send several envelopes in one message as a JSON array (a batch), handled as
 * if each had come alone, in order. Ours puts at most this many characters in a batch
 * (UTF-16 code units; a bigger envelope goes alone).
 */
export const MAX_BATCH_CHARS = 16_384;

/** The smallest `maxPayloadBytes` a server may set: a batch (≤ 3 UTF-8 bytes per character) always fits. */
export const MIN_MAX_PAYLOAD_BYTES = 64 * 1024;

/** Correlates a call or subscription with its replies; chosen by the client, unique per connection while active. */
export type RequestId = number | string;

// ── client → server ─────────────────────────────────────────────────────────

/** Runs procedure `name` with `input`; answered by one `result` or `error` with the same `id`. */
export interface CallEnvelope {
  /** The envelope kind. */
  type: 'call';
  /** Chosen by the client; the reply carries it. */
  id: RequestId;
  /** The procedure's name in the contract. */
  name: string;
  /** The procedure's input, as superjson's `json` part. */
  input?: unknown;
  /** superjson meta for `input`, when it holds more than plain JSON. */
  meta?: unknown;
  /** The caller gives up after this many ms; the handler's signal aborts then. */
  timeoutMs?: number;
  /**
   * Idempotency key: a call re-sent with the same key (after a reconnect) is not run
   * again; the server answers with the first run's outcome.
   */
  key?: string;
  /**
   * With keys of the form `<session>.<call id>`: the client has the outcome of every call
   * of this session up to this id, so the server may forget them.
   */
  ack?: number;
}

/** The client gives up on call `id`: the handler's signal aborts; no reply is sent. */
export interface CancelEnvelope {
  /** The envelope kind. */
  type: 'cancel';
  /** The call to cancel. */
  id: RequestId;
}

/** Joins channel `name`'s stream for `params`; answered by `subscribed` (then messages) or `error`. */
export interface SubscribeEnvelope {
  /** The envelope kind. */
  type: 'subscribe';
  /** Chosen by the client; names the subscription until `unsubscribe`. */
  id: RequestId;
  /** The channel's name in the contract. */
  name: string;
  /** The channel's params, as superjson's `json` part: they name the stream. */
  params?: unknown;
  /** superjson meta for `params`, when they hold more than plain JSON. */
  meta?: unknown;
  /** Resume: the position of the last message seen; the server sends what came after, if it still has it. */
  from?: string;
}

/** Ends subscription `id`; no reply is sent. */
export interface UnsubscribeEnvelope {
  /** The envelope kind. */
  type: 'unsubscribe';
  /** The subscription to end. */
  id: RequestId;
}

/** Application-level heartbeat from the client; answered by `pong`. */
export interface PingEnvelope {
  /** The envelope kind. */
  type: 'ping';
}

/**
 * Credentials for the application's `context`. As a connection's first message: `context`
 * runs with them before any other message is read, and a refusal closes the connection
 * (4401, 4403). Later, on a live connection: a refresh; `context` runs again and, if it
 * accepts, the connection's ctx is replaced, else the refresh gets an `error` and the
 * connection goes on as it was. `data` is plain JSON (no `meta`).
 */
export interface AuthEnvelope {
  /** The envelope kind. */
  type: 'auth';
  /** Chosen by the client; the `authenticated` or `error` reply carries it. */
  id: RequestId;
  /** The credentials, as any JSON value: `context` gets them as `auth`. */
  data?: unknown;
  /**
   * The fingerprint of the contract the client was built with (first message only; a
   * refresh's is ignored): names the server no longer serves as they were then answer
   * RELOAD_REQUIRED (docs/deploy-skew.md). Absent: no such check.
   */
  contract?: ContractFingerprint;
}

/** Every envelope a client may send. */
export type ClientEnvelope =
  | CallEnvelope
  | CancelEnvelope
  | SubscribeEnvelope
  | UnsubscribeEnvelope
  | PingEnvelope
  | AuthEnvelope
  | StreamEnvelope
  | CreditEnvelope;

// ── server → client ─────────────────────────────────────────────────────────

/** The outcome of call `id`. */
export interface ResultEnvelope {
  /** The envelope kind. */
  type: 'result';
  /** The call's id. */
  id: RequestId;
  /** The handler's output, as superjson's `json` part. */
  output?: unknown;
  /** superjson meta for `output`, when it holds more than plain JSON. */
  meta?: unknown;
}

/** The failure of request `id` (a call, subscribe or auth), or of a message whose id could not be read. */
export interface ErrorEnvelope {
  /** The envelope kind. */
  type: 'error';
  /** null when the request's id could not be read. */
  id: RequestId | null;
  /** What went wrong: a code of `ERROR_CODES`, a message and maybe data. */
  error: WireError;
}

/** Subscription `id` is registered: its messages follow. */
export interface SubscribedEnvelope {
  /** The envelope kind. */
  type: 'subscribed';
  /** The subscription's id. */
  id: RequestId;
  /** The stream this subscription receives: `message` envelopes carry the same channel and key. */
  key: string;
  /**
   * Without `from` (or with `gap`): where the stream starts for this subscription. After
   * `from`: where the replay that follows ends; resume from the last message received.
   */
  position: string;
  /** Messages after `from` were lost: the history no longer holds them, or its epoch changed. */
  gap?: true;
  /** A `snapshot` for this subscription follows (a snapshot channel, joined without a replay). */
  snapshot?: true;
}

/** One message of a stream this connection subscribes to. */
export interface MessageEnvelope {
  /** The envelope kind. */
  type: 'message';
  /** The channel's name in the contract. */
  channel: string;
  /** The stream's key: the `key` of the `subscribed` that joined it. */
  key: string;
  /** The message, as superjson's `json` part. */
  data?: unknown;
  /** superjson meta for `data`, when it holds more than plain JSON. */
  meta?: unknown;
  /** `epoch:offset`: offsets rise by one per message of the stream; a new epoch means history was lost. */
  position: string;
}

/** A snapshot channel's state, sent to one subscription right after `subscribed`. */
export interface SnapshotEnvelope {
  /** The envelope kind. */
  type: 'snapshot';
  /** The subscription's id. */
  id: RequestId;
  /** The state, as superjson's `json` part. */
  data?: unknown;
  /** superjson meta for `data`, when it holds more than plain JSON. */
  meta?: unknown;
  /** The stream's position the state was taken at: the messages that follow come after it. */
  position: string;
}

/**
 * Messages of a stream that this connection will not get: `dropped` because it was too
 * slow for a `drop-oldest` channel, or lost on the way (`history`: a shared broker was
 * unreachable and could not read them back). `dropped` counts them, when that can be told.
 */
export interface GapEnvelope {
  /** The envelope kind. */
  type: 'gap';
  /** The channel's name in the contract. */
  channel: string;
  /** The stream's key. */
  key: string;
  /** Why the messages are missing: `dropped` by a delivery policy, or lost on the way (`history`). */
  reason: 'dropped' | 'history';
  /** How many messages are missing, when that can be told. */
  dropped?: number;
  /** Present when the gap concerns only this subscription (lost while it was being registered). */
  id?: RequestId;
}

/** The server's answer to `ping`. */
export interface PongEnvelope {
  /** The envelope kind. */
  type: 'pong';
}

/**
 * How a name of the client's contract differs on the server: `removed` (the server has no
 * such procedure or channel), `changed` (its output, message or snapshot schema differs:
 * every use is RELOAD_REQUIRED), `input-changed` (only its input or params schema differs:
 * RELOAD_REQUIRED only for an input the server's schema refuses).
 */
export type SkewReason = 'removed' | 'changed' | 'input-changed';

/** The names of a client's contract fingerprint that the server does not serve as they were, by kind. */
export interface ContractSkew {
  /** Procedures by name. */
  procedures: Record<string, SkewReason>;
  /** Channels by name. */
  channels: Record<string, SkewReason>;
}

/** `context` accepted the credentials of `auth` `id`: the connection's ctx is made from them. */
export interface AuthenticatedEnvelope {
  /** The envelope kind. */
  type: 'authenticated';
  /** The id of the `auth` it answers. */
  id: RequestId;
  /**
   * The credentials expire this many ms from now: refresh before (another `auth`), or the
   * server closes the connection with 4401 then. Absent: they do not expire.
   */
  expiresInMs?: number;
  /** Answering a first `auth` that carried `contract`: where it differs from the server's. Absent: nowhere. */
  skew?: ContractSkew;
}

/**
 * Close codes of protocol v1, in the range RFC 6455 §7.4.2 leaves to applications. The
 * 44xx codes mirror the HTTP statuses a browser cannot read from a refused upgrade.
 */
export const CLOSE_CODES = {
  /** The client heard nothing from the server within its heartbeat's timeout. */
  heartbeatTimeout: 4000,
  /** A subscriber of a `queue` channel fell too far behind. */
  slowConsumer: 4001,
  /** `context` refused the credentials (UNAUTHORIZED): do not retry with the same ones. */
  unauthorized: 4401,
  /** `context` refused the connection (FORBIDDEN): do not retry with the same credentials. */
  forbidden: 4403,
  /** No first message within the server's `authTimeoutMs`. */
  authTimeout: 4408,
} as const;

/** Every envelope a server may send. */
export type ServerEnvelope =
  | ResultEnvelope
  | ErrorEnvelope
  | SubscribedEnvelope
  | MessageEnvelope
  | SnapshotEnvelope
  | GapEnvelope
  | PongEnvelope
  | AuthenticatedEnvelope
  | ChunkEnvelope
  | EndEnvelope;

// ── validation of what a peer sent ──────────────────────────────────────────

/** Longest string id accepted. */
export const MAX_ID_LENGTH = 128;
/** Longest idempotency key accepted. */
export const MAX_KEY_LENGTH = 128;

/** Whether a value is a valid request id: a safe non-negative integer, or a string of 1 to MAX_ID_LENGTH characters. */
export function isRequestId(value: unknown): value is RequestId {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** A message that is not a valid envelope: the error to send back and the id, if one was readable. */
export interface EnvelopeProblem {
  /** The id to answer with; null when it could not be read. */
  id: RequestId | null;
  /** What to answer: a BAD_REQUEST saying what is wrong. */
  error: RpcError;
}

function problem(id: RequestId | null, code: ErrorCode, message: string): EnvelopeProblem {
  return { id, error: new RpcError(code, message) };
}

/**
 * Checks the shape of a parsed client message without trusting any of it. Returns the
 * envelope, or what to answer (with the id when it could be read).
 */
export function readClientEnvelope(value: unknown): ClientEnvelope | EnvelopeProblem {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return problem(null, 'BAD_REQUEST', 'a message must be a JSON object');
  }
  const message = value as Record<string, unknown>;
  const type = message.type;
  if (type === 'ping') return { type: 'ping' };
  const id = isRequestId(message.id) ? message.id : null;
  if (id === null) return problem(null, 'BAD_REQUEST', 'missing or invalid id');
  switch (type) {
    case 'call': {
      if (typeof message.name !== 'string' || message.name.length > MAX_NAME_LENGTH) {
        return problem(id, 'BAD_REQUEST', 'missing or invalid procedure name');
      }
      const timeoutMs = message.timeoutMs;
      if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0))) {
        return problem(id, 'BAD_REQUEST', 'timeoutMs must be a positive number');
      }
      const key = message.key;
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
        return problem(id, 'BAD_REQUEST', `key must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
      }
      const ack = message.ack;
      if (ack !== undefined && !(Number.isSafeInteger(ack) && (ack as number) >= 0)) {
        return problem(id, 'BAD_REQUEST', 'ack must be a non-negative integer');
      }
      // Every field the server reads is checked: the parsed object serves as is (no copy).
      return message as unknown as CallEnvelope;
    }
    case 'subscribe': {
      if (typeof message.name !== 'string' || message.name.length > MAX_NAME_LENGTH) {
        return problem(id, 'BAD_REQUEST', 'missing or invalid channel name');
      }
      const from = message.from;
      if (from !== undefined && !isPosition(from)) {
        return problem(id, 'BAD_REQUEST', 'from must be a position (epoch:offset) the server sent');
      }
      const subscribe: SubscribeEnvelope = { type, id, name: message.name, params: message.params };
      if (message.meta !== undefined) subscribe.meta = message.meta;
      if (from !== undefined) subscribe.from = from;
      return subscribe;
    }
    case 'cancel':
    case 'unsubscribe':
      return { type, id };
    case 'stream':
    case 'credit': {
      const read = type === 'stream' ? readStreamEnvelope(message, id) : readCreditEnvelope(message, id);
      return read instanceof RpcError ? { id, error: read } : read;
    }
    case 'auth': {
      const auth: AuthEnvelope = message.data === undefined ? { type, id } : { type, id, data: message.data };
      if (message.contract === undefined) return auth;
      const wrong = fingerprintProblem(message.contract);
      if (wrong !== undefined) return problem(id, 'BAD_REQUEST', `contract ${wrong}`);
      auth.contract = message.contract as ContractFingerprint;
      return auth;
    }
    default:
      return problem(id, 'BAD_REQUEST', 'unknown message type');
  }
}

/** Whether readClientEnvelope() returned a problem rather than an envelope. */
export function isEnvelopeProblem(value: ClientEnvelope | EnvelopeProblem): value is EnvelopeProblem {
  return 'error' in value && value.error instanceof RpcError;
}
