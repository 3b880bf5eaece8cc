import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptKey, checkUpgradeRequest, isValidKey, refuseUpgrade } from '../../src/transport/handshake.js';
import { once, SAMPLE_KEY } from './helpers.js';

interface FakeRequest {
  method?: string;
  httpVersionMajor?: number;
  httpVersionMinor?: number;
  headers?: Record<string, string | string[] | undefined>;
}

/** An IncomingMessage-like object: only what checkUpgradeRequest reads. */
function request(overrides: FakeRequest = {}, drop: string[] = []): IncomingMessage {
  const headers: Record<string, string | string[] | undefined> = {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': SAMPLE_KEY,
    'sec-websocket-version': '13',
    ...overrides.headers,
  };
  for (const name of drop) delete headers[name];
  return {
    method: overrides.method ?? 'GET',
    httpVersionMajor: overrides.httpVersionMajor ?? 1,
    httpVersionMinor: overrides.httpVersionMinor ?? 1,
    headers,
    url: '/',
  } as unknown as IncomingMessage;
}

describe('isValidKey', () => {
  it('accepts the RFC 6455 sample key', () => {
    expect(isValidKey(SAMPLE_KEY)).toBe(true);
  });

  it('accepts the base64 of any 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(isValidKey(Buffer.from(bytes).toString('base64'))).toBe(true);
      }),
    );
  });

  it.each([
    ['15 bytes', Buffer.alloc(15, 1).toString('base64')],
    ['17 bytes', Buffer.alloc(17, 1).toString('base64')],
    ['no padding', SAMPLE_KEY.slice(0, 22)],
    ['one "=" only', `${SAMPLE_KEY.slice(0, 23)}A`],
    ['non-zero padding bits', 'dGhlIHNhbXBsZSBub25jZR=='],
    ['a character outside base64', 'dGhlIHNhbXBsZSBub25j*Q=='],
    ['URL-safe base64', '-_hlIHNhbXBsZSBub25jZQ=='],
    ['non-ASCII', 'dGhlIHNhbXBsZSBub25jZé=='],
    ['surrounding whitespace', ` ${SAMPLE_KEY}`],
    ['the empty string', ''],
  ])('refuses %s', (_name, key) => {
    expect(isValidKey(key)).toBe(false);
  });
});

describe('acceptKey', () => {
  it('answers the RFC 6455 §1.3 example key with its documented accept value', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('checkUpgradeRequest', () => {
  it('accepts a well-formed upgrade and returns its key, protocols and extension offers', () => {
    const check = checkUpgradeRequest(
      request({
        headers: {
          'sec-websocket-protocol': 'chat, superchat',
          'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
        },
      }),
    );
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.key).toBe(SAMPLE_KEY);
    expect(check.protocols).toEqual(['chat', 'superchat']);
    expect(check.extensions.map((offer) => offer.name)).toEqual(['permessage-deflate']);
  });

  it('accepts mixed-case and listed Upgrade and Connection values', () => {
    expect(
      checkUpgradeRequest(request({ headers: { upgrade: 'WebSocket', connection: 'keep-alive, upgrade' } })).ok,
    ).toBe(true);
  });

  it('returns no protocols and no extensions when none were offered', () => {
    expect(checkUpgradeRequest(request())).toMatchObject({ ok: true, protocols: [], extensions: [] });
  });

  it.each<[string, FakeRequest, string[]]>([
    ['a POST request', { method: 'POST' }, []],
    ['HTTP/1.0', { httpVersionMinor: 0 }, []],
    ['HTTP/2.0', { httpVersionMajor: 2, httpVersionMinor: 0 }, []],
    ['a missing Host header', {}, ['host']],
    ['an empty Host header', { headers: { host: '' } }, []],
    ['a missing Upgrade header', {}, ['upgrade']],
    ['Upgrade: h2c', { headers: { upgrade: 'h2c' } }, []],
    ['a missing Connection header', {}, ['connection']],
    ['Connection: keep-alive', { headers: { connection: 'keep-alive' } }, []],
    ['a missing Sec-WebSocket-Key', {}, ['sec-websocket-key']],
    ['a key of 15 bytes', { headers: { 'sec-websocket-key': Buffer.alloc(15).toString('base64') } }, []],
    ['a key that is not base64', { headers: { 'sec-websocket-key': 'not a websocket key!!!==' } }, []],
    ['a repeated subprotocol', { headers: { 'sec-websocket-protocol': 'chat, chat' } }, []],
    ['a subprotocol that is not a token', { headers: { 'sec-websocket-protocol': 'chat room' } }, []],
    ['a malformed extension header', { headers: { 'sec-websocket-extensions': 'permessage-deflate; x="' } }, []],
    ['an empty extension header', { headers: { 'sec-websocket-extensions': '' } }, []],
  ])('refuses %s with 400', (_name, overrides, drop) => {
    const check = checkUpgradeRequest(request(overrides, drop));
    expect(check).toMatchObject({ ok: false, status: 400 });
  });

  it.each(['8', '12', '14', '13, 8', ''])(
    'refuses Sec-WebSocket-Version %j with 426 and the version it speaks',
    (version) => {
      const check = checkUpgradeRequest(request({ headers: { 'sec-websocket-version': version } }));
      expect(check).toMatchObject({ ok: false, status: 426, headers: { 'Sec-WebSocket-Version': '13' } });
    },
  );

  it('refuses a request without Sec-WebSocket-Version', () => {
    const check = checkUpgradeRequest(request({}, ['sec-websocket-version']));
    expect(check.ok).toBe(false);
  });

  it('treats an array-valued header as missing instead of throwing', () => {
    const check = checkUpgradeRequest(request({ headers: { 'sec-websocket-key': [SAMPLE_KEY, SAMPLE_KEY] } }));
    expect(check).toMatchObject({ ok: false, status: 400 });
  });

  it('never throws, whatever the headers', () => {
    const names = fc.constantFrom(
      'host',
      'upgrade',
      'connection',
      'sec-websocket-key',
      'sec-websocket-version',
      'sec-websocket-protocol',
      'sec-websocket-extensions',
      '__proto__',
      'constructor',
    );
    fc.assert(
      fc.property(
        fc.dictionary(names, fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 }))),
        fc.constantFrom('GET', 'POST', 'get', ''),
        (headers, method) => {
          const check = checkUpgradeRequest(request({ method, headers }));
          expect(typeof check.ok).toBe('boolean');
        },
      ),
    );
  });
});

/** A Duplex that records what is written to it. */
function recordingSocket(): Duplex & { written: () => string } {
  const chunks: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return Object.assign(socket, { written: () => Buffer.concat(chunks).toString('latin1') });
}

describe('refuseUpgrade', () => {
  it('writes a complete response with Connection: close, then destroys the socket', async () => {
    const socket = recordingSocket();
    refuseUpgrade(socket, 403, 'origin not allowed');
    await once(socket, 'close');
    expect(socket.written()).toBe(
      'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 18\r\n\r\norigin not allowed',
    );
    expect(socket.destroyed).toBe(true);
  });

  it('adds extra headers but drops any with CR or LF in them', async () => {
    const socket = recordingSocket();
    refuseUpgrade(socket, 503, 'busy', { 'Retry-After': '5', 'X-Evil': 'a\r\nSet-Cookie: x=1', 'X\nBad': 'v' });
    await once(socket, 'close');
    const text = socket.written();
    expect(text).toContain('\r\nRetry-After: 5\r\n');
    expect(text).not.toContain('Set-Cookie');
    expect(text).not.toContain('X-Evil');
    expect(text).not.toContain('Bad');
  });

  it('replaces a message containing CR or LF by the status text', async () => {
    const socket = recordingSocket();
    refuseUpgrade(socket, 401, 'no\r\nX-Injected: 1');
    await once(socket, 'close');
    expect(socket.written()).toMatch(/\r\n\r\nUnauthorized$/);
    expect(socket.written()).not.toContain('X-Injected');
  });

  it('does nothing to a socket that is already destroyed', () => {
    const socket = recordingSocket();
    socket.destroy();
    refuseUpgrade(socket, 400, 'bad');
    expect(socket.written()).toBe('');
  });
});
