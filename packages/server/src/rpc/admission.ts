import type { IncomingMessage } from 'node:http';
import {
  type AuthEnvelope,
  CLOSE_CODES,
  isEnvelopeProblem,
  parseJson,
  type RequestId,
  RpcError,
  readClientEnvelope,
} from '@switchboard/contract';
import type { ServerWebSocket } from '../transport/index.js';
import { type SkewedNames, skewOf } from './contract-skew.js';
import type { ResolvedServerOptions } from './options.js';
import type { Router } from './router.js';

// A connection before it has a ctx. The application's `context` runs once the first
// message is in, with the credentials it carries (docs/protocol.md, Authentication):
//
//   open ─▶ first message ─┬─ auth ──▶ context({ request, auth: data })  ─┬─ ctx ─▶ admitted: `authenticated`, then
//                          │  (its `contract` compared: contract-skew.ts)  │         what waited, in order
//                          ├─ other ─▶ context({ request, auth: undefined }) ├─ RpcError ─▶ close 4401 / 4403 / 1013 / 1008
//                          │           (the message waits, handled first)   └─ anything else ─▶ onError, close 1011
//                          └─ an `auth` readClientEnvelope refuses ─▶ close 1008 `BAD_REQUEST: …`
//   no first message within authTimeoutMs ─▶ close 4408
//   messages sent while context runs wait, in order, within maxInFlightBytes (past it: close 1008)

/** A message that arrived before the connection had a ctx. */
export interface Waiting {
  data: Buffer;
  isBinary: boolean;
}

export interface Admitted {
  ctx: unknown;
  /** The id of the `auth` that carried the credentials: answered with `authenticated`. */
  authId: RequestId | undefined;
  waiting: Waiting[];
  /** Where the contract the client was built with differs from the server's (undefined: nowhere, or not told). */
  skew: SkewedNames | undefined;
}

/** RFC 6455 §7.4.1: 1008 Policy Violation; 1011 Internal Error. IANA registry: 1013 Try Again Later. */
const POLICY_VIOLATION = 1008;
const INTERNAL_ERROR = 1011;
const TRY_AGAIN_LATER = 1013;
/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_REASON_BYTES = 123;

/** `text` cut to what a Close frame's reason holds, at a character boundary. */
function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let cut = '';
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character);
    if (bytes + size > MAX_REASON_BYTES - 3) break; // room for '…'
    cut += character;
    bytes += size;
  }
  return `${cut}…`;
}

/**
 * The credentials of a first message that is an `auth` envelope (as readClientEnvelope
 * reads it), the error of one it refuses (a bad id, a `contract` past its limits), or
 * undefined for any other message.
 */
function readAuth(data: Buffer, isBinary: boolean): AuthEnvelope | RpcError | undefined {
  if (isBinary) return undefined;
  let parsed: unknown;
  try {
    parsed = parseJson(data.toString('utf8'));
  } catch {
    return undefined; // the connection's Peer answers it, after context
  }
  const envelope = readClientEnvelope(parsed);
  if (!isEnvelopeProblem(envelope)) return envelope.type === 'auth' ? envelope : undefined;
  // Refused as a whole: `context` must not run without the credentials the client meant to send.
  return (parsed as { type?: unknown } | null)?.type === 'auth' ? envelope.error : undefined;
}

/**
 * Waits for `socket`'s first message, runs `context` with its credentials, and calls
 * `admitted` with the ctx (synchronously with the rest of what it does, so no message
 * can come between). A refusal closes the socket with its typed code. `ended` is called
 * once, when the admission is over whichever way (admitted, refused, closed); nothing of
 * it stays on the socket after.
 */
export function admit(
  socket: ServerWebSocket,
  request: IncomingMessage,
  router: Router,
  options: ResolvedServerOptions,
  admitted: (admission: Admitted) => void,
  ended: () => void,
): void {
  const waiting: Waiting[] = [];
  let waitingBytes = 0;
  let started = false;
  const timer = setTimeout(() => {
    if (!started) socket.close(CLOSE_CODES.authTimeout, `no first message within ${options.authTimeoutMs} ms`);
  }, options.authTimeoutMs);
  const onClose = () => {
    clearTimeout(timer);
    socket.off('message', onMessage);
    ended();
  };
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (started) {
      waitingBytes += data.length;
      if (waitingBytes > options.maxInFlightBytes) {
        socket.off('message', onMessage);
        socket.close(POLICY_VIOLATION, `over ${options.maxInFlightBytes} bytes sent before the context was made`);
        return;
      }
      waiting.push({ data, isBinary });
      return;
    }
    started = true;
    clearTimeout(timer);
    const auth = readAuth(data, isBinary);
    if (auth instanceof RpcError) {
      socket.off('message', onMessage);
      refuse(socket, request, options, auth);
      return;
    }
    if (auth === undefined) {
      waitingBytes = data.length;
      waiting.push({ data, isBinary });
    }
    const skew = auth?.contract === undefined ? undefined : skewOf(router.contract, auth.contract);
    makeContext(router, request, auth?.data).then(
      (ctx) => {
        // Closing already (refused for its bytes, the server shutting down, the peer gone): no connection.
        if (socket.state !== 'open') return;
        socket.off('message', onMessage);
        socket.off('close', onClose);
        try {
          admitted({ ctx, authId: auth?.id, waiting, skew });
        } finally {
          ended();
        }
      },
      (error: unknown) => {
        if (socket.state !== 'open') return;
        socket.off('message', onMessage);
        refuse(socket, request, options, error);
      },
    );
  };
  socket.on('message', onMessage);
  socket.once('close', onClose);
}

/** The application's `context` for these credentials (undefined without one); a throw is a rejection. */
export function makeContext(router: Router, request: IncomingMessage, auth: unknown): Promise<unknown> {
  const context = router.context;
  if (context === undefined) return Promise.resolve(undefined);
  return Promise.resolve().then(() => context({ request, auth }));
}

/**
 * Closes a connection `context` refused, with a code that tells the client what to do:
 * 4401 / 4403 (new credentials first), 1013 for TOO_MANY_REQUESTS or UNAVAILABLE (retry
 * later), 1008 for another RpcError (do not retry); anything else is a server bug: 1011.
 */
function refuse(
  socket: ServerWebSocket,
  request: IncomingMessage,
  options: ResolvedServerOptions,
  error: unknown,
): void {
  if (!(error instanceof RpcError)) {
    report(options, error);
    socket.close(INTERNAL_ERROR, 'internal error');
    return;
  }
  try {
    options.onRefused({ error, remoteAddress: socket.remoteAddress, request });
  } catch (thrown) {
    report(options, thrown);
  }
  socket.close(refusalCode(error), refusalReason(error.code, error.message));
}

/** The reason of a refusal's Close frame: `CODE: message`, as the client reads it back (protocol.md, Close codes). */
export function refusalReason(code: string, message: string): string {
  return closeReason(`${code}: ${message}`);
}

/** The close code of a refusal by `context`. */
function refusalCode(error: RpcError): number {
  switch (error.code) {
    case 'UNAUTHORIZED':
      return CLOSE_CODES.unauthorized;
    case 'FORBIDDEN':
      return CLOSE_CODES.forbidden;
    case 'TOO_MANY_REQUESTS':
    case 'UNAVAILABLE':
      return TRY_AGAIN_LATER;
    default:
      return POLICY_VIOLATION;
  }
}

function report(options: ResolvedServerOptions, error: unknown): void {
  try {
    options.onError(error, {});
  } catch {
    // onError itself failed: nothing more to tell.
  }
}
