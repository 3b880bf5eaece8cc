import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  type ExtensionOffer,
  isToken,
  listHasToken,
  parseExtensionList,
  parseProtocolList,
  splitList,
} from '../../src/transport/header-lists.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const plain = (offers: ExtensionOffer[] | null) =>
  offers?.map((offer) => ({ name: offer.name, params: [...offer.params], duplicate: offer.hasDuplicateParam })) ?? null;

describe('isToken', () => {
  it('accepts every RFC 7230 tchar', () => {
    expect(isToken(TCHARS)).toBe(true);
    for (const c of TCHARS) expect(isToken(c)).toBe(true);
  });

  it.each([
    '',
    ' ',
    'a b',
    'a,b',
    'a;b',
    'a=b',
    '"a"',
    '(a)',
    'a/b',
    'a\tb',
    'é',
    'a\u0000',
    '[x]',
    '{x}',
    'a:b',
    '@',
    '?',
  ])('refuses %j', (value) => {
    expect(isToken(value)).toBe(false);
  });
});

describe('splitList', () => {
  it('splits on commas and trims spaces and tabs', () => {
    expect(splitList(' a ,\tb\t, c')).toEqual(['a', 'b', 'c']);
  });

  it('drops empty elements (RFC 7230 §7)', () => {
    expect(splitList(',, a ,, ,b,')).toEqual(['a', 'b']);
    expect(splitList('')).toEqual([]);
    expect(splitList(' , ,\t')).toEqual([]);
  });

  it('keeps inner whitespace of an element', () => {
    expect(splitList('a b, c')).toEqual(['a b', 'c']);
  });
});

describe('listHasToken', () => {
  it('finds a token case-insensitively among others', () => {
    expect(listHasToken('keep-alive, Upgrade', 'upgrade')).toBe(true);
    expect(listHasToken('WebSocket', 'websocket')).toBe(true);
  });

  it('does not match a token that only contains the one wanted', () => {
    expect(listHasToken('upgrades, keep-alive', 'upgrade')).toBe(false);
    expect(listHasToken('up grade', 'upgrade')).toBe(false);
  });

  it('is false for a missing header', () => {
    expect(listHasToken(undefined, 'upgrade')).toBe(false);
  });
});

describe('parseProtocolList', () => {
  it('returns the offered subprotocols in order', () => {
    expect(parseProtocolList('chat, superchat ,v2.json')).toEqual(['chat', 'superchat', 'v2.json']);
  });

  it('skips empty elements', () => {
    expect(parseProtocolList(', chat,,superchat,')).toEqual(['chat', 'superchat']);
  });

  it('refuses a repeated subprotocol', () => {
    expect(parseProtocolList('chat, superchat, chat')).toBeNull();
  });

  it.each(['chat superchat', 'a/b', '"chat"', 'chät', 'a;b'])('refuses the non-token element %j', (value) => {
    expect(parseProtocolList(value)).toBeNull();
  });

  it('treats __proto__ and constructor as ordinary names', () => {
    expect(parseProtocolList('__proto__, constructor, toString')).toEqual(['__proto__', 'constructor', 'toString']);
  });
});

describe('parseExtensionList', () => {
  it('parses an offer without parameters', () => {
    expect(plain(parseExtensionList('permessage-deflate'))).toEqual([
      { name: 'permessage-deflate', params: [], duplicate: false },
    ]);
  });

  it('parses parameters with and without values, in order', () => {
    expect(plain(parseExtensionList('permessage-deflate; client_max_window_bits; server_max_window_bits=10'))).toEqual([
      {
        name: 'permessage-deflate',
        params: [
          ['client_max_window_bits', true],
          ['server_max_window_bits', '10'],
        ],
        duplicate: false,
      },
    ]);
  });

  it('parses several offers and skips empty list elements', () => {
    expect(plain(parseExtensionList(', a; x=1 ,, b ,'))).toEqual([
      { name: 'a', params: [['x', '1']], duplicate: false },
      { name: 'b', params: [], duplicate: false },
    ]);
  });

  it('allows whitespace around ";" and "="', () => {
    expect(plain(parseExtensionList('a \t; \tx \t= \t1 ; y'))).toEqual([
      {
        name: 'a',
        params: [
          ['x', '1'],
          ['y', true],
        ],
        duplicate: false,
      },
    ]);
  });

  it('unquotes a quoted-string value, including backslash escapes', () => {
    expect(plain(parseExtensionList('a; x="10"; y="1\\5"'))).toEqual([
      {
        name: 'a',
        params: [
          ['x', '10'],
          ['y', '15'],
        ],
        duplicate: false,
      },
    ]);
  });

  it('refuses a quoted value holding a comma, which is no token once unquoted', () => {
    expect(parseExtensionList('a; x="1,2", b')).toBeNull();
  });

  it.each([
    ['an empty header', ''],
    ['only commas', ' , ,'],
    ['a missing name', '; x=1'],
    ['a missing parameter name', 'a; =1'],
    ['a trailing semicolon', 'a;'],
    ['an empty value', 'a; x='],
    ['an empty quoted value', 'a; x=""'],
    ['a quoted value that is not a token', 'a; x="1 0"'],
    ['an unterminated quote', 'a; x="10'],
    ['a backslash at the very end', 'a; x="1\\'],
    ['two names without a separator', 'a b'],
    ['a non-token name', 'pérmessage'],
    ['junk after a value', 'a; x=1 2'],
    ['a slash in a value', 'a; x=1/2'],
  ])('refuses %s', (_name, value) => {
    expect(parseExtensionList(value)).toBeNull();
  });

  it('flags a repeated parameter and keeps its first value', () => {
    const [offer] =
      parseExtensionList('permessage-deflate; server_max_window_bits=10; server_max_window_bits=12') ?? [];
    expect(offer?.hasDuplicateParam).toBe(true);
    expect(offer?.params.get('server_max_window_bits')).toBe('10');
  });

  it('handles __proto__ and constructor names as plain data', () => {
    const offers = parseExtensionList('constructor; __proto__=1; constructor; toString="x", __proto__; hasOwnProperty');
    expect(plain(offers)).toEqual([
      {
        name: 'constructor',
        params: [
          ['__proto__', '1'],
          ['constructor', true],
          ['toString', 'x'],
        ],
        duplicate: false,
      },
      { name: '__proto__', params: [['hasOwnProperty', true]], duplicate: false },
    ]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('header scanners: linear time', () => {
  const within = (run: () => unknown): number => {
    run(); // warm up
    const start = performance.now();
    run();
    return performance.now() - start;
  };
  const spaces = `b${' '.repeat(16_000)}x`;
  const backslashes = `a; b="${'\\'.repeat(16_000)}`;

  it.each([
    ['parseExtensionList on "b" + 16000 spaces + "x"', () => parseExtensionList(spaces)],
    ['parseExtensionList on an unclosed quote of 16000 backslashes', () => parseExtensionList(backslashes)],
    ['parseExtensionList on 16000 spaces before "="', () => parseExtensionList(`a; b${' '.repeat(16_000)}=`)],
    ['parseExtensionList on 8000 ";" parameters', () => parseExtensionList(`a${'; b'.repeat(5_000)}`)],
    ['parseExtensionList on 8000 empty elements', () => parseExtensionList(', '.repeat(8_000))],
    ['splitList on "b" + 16000 spaces + "x"', () => splitList(spaces)],
    ['listHasToken on 16000 spaces', () => listHasToken(spaces, 'upgrade')],
    [
      'parseProtocolList on 16 KiB of short names',
      () => parseProtocolList(Array.from({ length: 3000 }, (_, i) => `p${i}`).join(', ')),
    ],
    ['parseProtocolList on "b" + 16000 spaces + "x"', () => parseProtocolList(spaces)],
  ])('finishes %s in under 50 ms', (_name, run) => {
    expect(within(run)).toBeLessThan(50);
  });

  it('still gives the right answers on the pathological inputs', () => {
    expect(parseExtensionList(spaces)).toBeNull();
    expect(parseExtensionList(backslashes)).toBeNull();
    expect(splitList(spaces)).toEqual([spaces]);
    expect(parseProtocolList(spaces)).toBeNull();
    expect(parseExtensionList(`a${'; b'.repeat(5_000)}`)?.[0]?.hasDuplicateParam).toBe(true);
  });
});
