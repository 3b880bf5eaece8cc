import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WEBSOCKET_GUID } from './constants.js';
import { type ExtensionOffer, listHasToken, parseExtensionList, parseProtocolList } from './header-lists.js';

//   client                                   server
//     │ GET /path HTTP/1.1                      │
//     │ Upgrade: websocket, Connection: Upgrade │
//     │ Sec-WebSocket-Key, -Version: 13  ──────▶│ checkUpgradeRequest()
//     │                                         │ origin, verifyClient, protocols, extensions
//     │◀────── 101 + Sec-WebSocket-Accept       │ or a complete 4xx/5xx and the socket destroyed
//     │ frames ◀──────────────────────────────▶ │

export type HandshakeCheck =
  | { ok: true; key: string; protocols: string[]; extensions: ExtensionOffer[] }
  | { ok: false; status: number; message: string; headers?: Record<string, string> };

const BASE64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64[c.charCodeAt(0)] = 1;

/** RFC 6455 §4.1: the key is the base64 of 16 bytes: 22 characters and `==`. */
export function isValidKey(key: string): boolean {
  if (key.length !== 24 || key[22] !== '=' || key[23] !== '=') return false;
  for (let i = 0; i < 22; i++) {
    const code = key.charCodeAt(i);
    if (code >= 128 || BASE64[code] !== 1) return false;
  }
  // The last character carries 2 data bits; the 4 padding bits must be zero.
  return 'AQgw'.includes(key[21] as string);
}

/** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * RFC 6455 §4.2.1: validates an opening handshake. Total: every header is optional
 * and any input yields a verdict, never an exception (CVE-2024-37890).
 */
export function checkUpgradeRequest(request: IncomingMessage): HandshakeCheck {
  const bad = (message: string): HandshakeCheck => ({ ok: false, status: 400, message });

  if (request.method !== 'GET') return bad('the opening handshake must be a GET request');
  if (request.httpVersionMajor !== 1 || request.httpVersionMinor < 1)
    return bad('the opening handshake needs HTTP/1.1');
  if (!header(request, 'host')) return bad('missing Host header');
  if (!listHasToken(header(request, 'upgrade'), 'websocket')) return bad('Upgrade header must name websocket');
  if (!listHasToken(header(request, 'connection'), 'upgrade')) return bad('Connection header must contain Upgrade');

  // RFC 6455 §4.4: answer an unknown version with the versions we speak.
  if (header(request, 'sec-websocket-version') !== '13') {
    return {
      ok: false,
      status: 426,
      message: 'unsupported Sec-WebSocket-Version',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }

  const key = header(request, 'sec-websocket-key');
  if (key === undefined || !isValidKey(key)) return bad('Sec-WebSocket-Key must be base64 of 16 bytes');

  let protocols: string[] = [];
  const protocolHeader = header(request, 'sec-websocket-protocol');
  if (protocolHeader !== undefined) {
    const parsed = parseProtocolList(protocolHeader);
    if (parsed === null) return bad('invalid Sec-WebSocket-Protocol header');
    protocols = parsed;
  }

  let extensions: ExtensionOffer[] = [];
  const extensionHeader = header(request, 'sec-websocket-extensions');
  if (extensionHeader !== undefined) {
    const parsed = parseExtensionList(extensionHeader);
    if (parsed === null) return bad('invalid Sec-WebSocket-Extensions header');
    extensions = parsed;
  }

  return { ok: true, key, protocols, extensions };
}

/** The 101 response, as one string ready for the socket. */
export function switchingProtocolsResponse(headers: string[]): string {
  return `HTTP/1.1 101 Switching Protocols\r\n${headers.join('\r\n')}\r\n\r\n`;
}

const REFUSAL_FLUSH_TIMEOUT_MS = 2_000;

/** No CR or LF: values from application callbacks cannot inject headers. */
function isSafeHeaderText(text: string): boolean {
  return !text.includes('\r') && !text.includes('\n');
}

/**
 * Refuses an upgrade with a complete HTTP response and `Connection: close`, then
 * destroys the socket, so no proxy can keep the connection as a tunnel.
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = isSafeHeaderText(message) && message !== '' ? message : (STATUS_CODES[status] ?? '');
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  for (const [name, value] of Object.entries(extraHeaders)) {
    if (isSafeHeaderText(name) && isSafeHeaderText(value)) lines.push(`${name}: ${value}`);
  }
  const destroy = () => socket.destroy();
  socket.once('finish', destroy);
  // A peer that never reads the response must not keep the socket.
  setTimeout(destroy, REFUSAL_FLUSH_TIMEOUT_MS).unref();
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
