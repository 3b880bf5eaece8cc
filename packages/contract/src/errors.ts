/**
 * The closed set of error codes a caller can receive. Every failure that crosses the
 * wire is one of these; anything else a handler throws becomes INTERNAL.
 */
export const ERROR_CODES = {
  /** The input, params or envelope did not validate; `data.issues` says where. */
  BAD_REQUEST: { status: 400, message: 'bad request' },
  /** No or invalid credentials. */
  UNAUTHORIZED: { status: 401, message: 'unauthorized' },
  /** Credentials are fine, but not for this. */
  FORBIDDEN: { status: 403, message: 'forbidden' },
  /** No such procedure or channel, or a handler said so. */
  NOT_FOUND: { status: 404, message: 'not found' },
  /** The request conflicts with earlier state (e.g. a reused idempotency key). */
  CONFLICT: { status: 409, message: 'conflict' },
  /**
   * The client was built with another contract than the server's: the procedure or channel
   * is gone, or its schemas changed in a way this client cannot use. Reload the app.
   * `data` is ReloadRequiredData (docs/deploy-skew.md).
   */
  RELOAD_REQUIRED: { status: 409, message: 'reload required' },
  /** The call's deadline passed before a result. */
  TIMEOUT: { status: 408, message: 'timed out' },
  /** The caller cancelled. */
  CANCELLED: { status: 499, message: 'cancelled' },
  /**
   * A stream cannot go on from where the client is: the server no longer has its chunks
   * (nobody resumed it in time) or the process running it is gone. `data` is StreamLostData.
   */
  STREAM_LOST: { status: 410, message: 'stream lost' },
  /** A per-connection limit (calls in flight, subscriptions) was reached. */
  TOO_MANY_REQUESTS: { status: 429, message: 'too many requests' },
  /** The message is larger than the server accepts. */
  PAYLOAD_TOO_LARGE: { status: 413, message: 'payload too large' },
  /** A server bug; details stay in the server's log. */
  INTERNAL: { status: 500, message: 'internal error' },
  /** Not reachable now: disconnected, queue full or expired, server draining. */
  UNAVAILABLE: { status: 503, message: 'unavailable' },
} as const;

/** A code of the ERROR_CODES table. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** RELOAD_REQUIRED's `data`: the procedure or channel `name` of the call or subscribe, and why. */
export interface ReloadRequiredData {
  /** `removed`: the server has no such name; `changed`: its schemas differ from the client's. */
  reason: 'removed' | 'changed';
  /** The procedure or channel's name. */
  name: string;
}

/** The error shape on the wire. */
export interface WireError {
  /** A code of ERROR_CODES (an unknown one is read as INTERNAL). */
  code: ErrorCode;
  /** A message for people; the code is what programs test. */
  message: string;
  /** Details for the caller, as plain JSON: zod issues for BAD_REQUEST, say. */
  data?: unknown;
}

/** Whether a value is a code of ERROR_CODES. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * A typed failure, thrown by handlers and received by callers.
 * @example throw new RpcError('NOT_FOUND', 'no such user', { id })
 */
export class RpcError extends Error {
  /** Always `'RpcError'`. */
  override readonly name = 'RpcError';
  /** The error's code in ERROR_CODES. */
  readonly code: ErrorCode;
  /** Details sent to the caller, as plain JSON; undefined: none. */
  readonly data: unknown;

  /** `message` defaults to the code's message in ERROR_CODES; a code not in the table is a TypeError. */
  constructor(code: ErrorCode, message?: string, data?: unknown, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    if (!isErrorCode(code)) throw new TypeError(`unknown error code ${String(code)}`);
    this.code = code;
    this.data = data;
  }

  /** What crosses the wire: code, message and data; never the stack or cause. */
  toWire(): WireError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  /** Rebuilds an error from the wire; an unknown code becomes INTERNAL. */
  static fromWire(error: unknown): RpcError {
    if (typeof error !== 'object' || error === null) return new RpcError('INTERNAL', 'malformed error');
    const { code, message, data } = error as Partial<WireError>;
    if (!isErrorCode(code)) return new RpcError('INTERNAL', typeof message === 'string' ? message : undefined, data);
    return new RpcError(code, typeof message === 'string' ? message : undefined, data);
  }
}

/** An RpcError stays as it is; anything else becomes INTERNAL, its details kept as `cause` only. */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  return new RpcError('INTERNAL', undefined, undefined, { cause: error });
}
