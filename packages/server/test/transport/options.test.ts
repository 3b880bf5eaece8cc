import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveOptions, type WebSocketServerOptions } from '../../src/transport/options.js';

describe('DEFAULTS', () => {
  it('documents the limits and timeouts a server gets when given none', () => {
    expect(DEFAULTS).toMatchObject({
      maxPayloadBytes: 1024 * 1024,
      maxFragments: 1024,
      maxBufferedBytes: 4 * 1024 * 1024,
      handshakeTimeoutMs: 10_000,
      closeTimeoutMs: 10_000,
      pingIntervalMs: 30_000,
      pongTimeoutMs: 10_000,
    });
  });
});

describe('resolveOptions', () => {
  it('fills in every default and turns optional features off', () => {
    expect(resolveOptions({ noServer: true })).toEqual({
      maxPayloadBytes: DEFAULTS.maxPayloadBytes,
      maxFragments: DEFAULTS.maxFragments,
      maxBufferedBytes: DEFAULTS.maxBufferedBytes,
      handshakeTimeoutMs: DEFAULTS.handshakeTimeoutMs,
      closeTimeoutMs: DEFAULTS.closeTimeoutMs,
      pingIntervalMs: DEFAULTS.pingIntervalMs,
      pongTimeoutMs: DEFAULTS.pongTimeoutMs,
      path: undefined,
      origins: undefined,
      deflate: undefined,
      handleProtocols: undefined,
      verifyClient: undefined,
      clientTracking: true,
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(resolveOptions({ noServer: true }))).toBe(true);
  });

  it('keeps the given values', () => {
    const resolved = resolveOptions({
      noServer: true,
      maxPayload: 10,
      maxFragments: 2,
      maxBufferedBytes: 3,
      handshakeTimeoutMs: 4,
      closeTimeoutMs: 5,
      pingIntervalMs: 6,
      pongTimeoutMs: 7,
      path: '/ws',
      origins: ['https://a.example', 'https://b.example'],
      clientTracking: false,
    });
    expect(resolved).toMatchObject({
      maxPayloadBytes: 10,
      maxFragments: 2,
      maxBufferedBytes: 3,
      handshakeTimeoutMs: 4,
      closeTimeoutMs: 5,
      pingIntervalMs: 6,
      pongTimeoutMs: 7,
      path: '/ws',
      clientTracking: false,
    });
    expect([...(resolved.origins ?? [])]).toEqual(['https://a.example', 'https://b.example']);
  });

  it('turns the heartbeat off with pingIntervalMs 0', () => {
    expect(resolveOptions({ noServer: true, pingIntervalMs: 0 }).pingIntervalMs).toBe(0);
  });

  it.each<[string, WebSocketServerOptions]>([
    ['none of port, server and noServer', {}],
    ['noServer: false alone', { noServer: false }],
    ['both port and noServer', { port: 0, noServer: true }],
  ])('throws a TypeError for %s', (_name, input) => {
    expect(() => resolveOptions(input)).toThrow(TypeError);
  });

  it('throws a TypeError for a path that does not start with /', () => {
    expect(() => resolveOptions({ noServer: true, path: 'ws' })).toThrow(TypeError);
  });

  it.each([
    ['maxPayload', 0],
    ['maxPayload', -1],
    ['maxPayload', 1.5],
    ['maxPayload', Number.NaN],
    ['maxPayload', Number.POSITIVE_INFINITY],
    ['maxPayload', '1024'],
    ['maxFragments', 0],
    ['maxBufferedBytes', 0],
    ['handshakeTimeoutMs', 0],
    ['closeTimeoutMs', 0],
    ['pingIntervalMs', -1],
    ['pongTimeoutMs', 0],
  ])('throws a TypeError for %s = %j', (name, value) => {
    expect(() => resolveOptions({ noServer: true, [name]: value } as WebSocketServerOptions)).toThrow(TypeError);
  });
});

describe('resolveOptions: perMessageDeflate', () => {
  it('is off unless asked for', () => {
    expect(resolveOptions({ noServer: true }).deflate).toBeUndefined();
    expect(resolveOptions({ noServer: true, perMessageDeflate: false }).deflate).toBeUndefined();
  });

  it('uses the documented defaults for perMessageDeflate: true', () => {
    expect(resolveOptions({ noServer: true, perMessageDeflate: true }).deflate).toEqual({
      threshold: 1024,
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: undefined,
      concurrencyLimit: 10,
      level: 6,
      memLevel: 8,
    });
  });

  it('accepts a 9-bit server window and an 8-bit client window', () => {
    const deflate = resolveOptions({
      noServer: true,
      perMessageDeflate: { serverMaxWindowBits: 9, clientMaxWindowBits: 8 },
    }).deflate;
    expect(deflate).toMatchObject({ serverMaxWindowBits: 9, clientMaxWindowBits: 8 });
  });

  it.each([
    ['serverMaxWindowBits', 7],
    ['serverMaxWindowBits', 16],
    ['clientMaxWindowBits', 7],
    ['clientMaxWindowBits', 16],
    ['threshold', -1],
    ['concurrencyLimit', 0],
    ['level', 10],
    ['level', -1],
    ['memLevel', 0],
    ['memLevel', 10],
  ])('throws a TypeError for %s = %j', (name, value) => {
    expect(() => resolveOptions({ noServer: true, perMessageDeflate: { [name]: value } })).toThrow(TypeError);
  });
});
