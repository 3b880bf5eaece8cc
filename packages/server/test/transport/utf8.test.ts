import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidUtf8, Utf8Validator } from '../../src/transport/utf8.js';

const h = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const KOSME = 'cebae1bdb9cf83cebcceb5'; // κόσμε

// Autobahn TestSuite case 6.x style inputs (valid and invalid UTF-8).
const VALID: Array<[string, Buffer]> = [
  ['empty', h('')],
  ['6.2 κόσμε', h(KOSME)],
  ['6.5 Hello-µ@ßöäüàá-UTF-8!!', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!')],
  ['U+0000', h('00')],
  ['U+007F', h('7f')],
  ['U+0080 (first 2-byte)', h('c280')],
  ['U+07FF (last 2-byte)', h('dfbf')],
  ['U+0800 (first 3-byte)', h('e0a080')],
  ['U+D7FF (before the surrogates)', h('ed9fbf')],
  ['U+E000 (after the surrogates)', h('ee8080')],
  ['U+FFFD', h('efbfbd')],
  ['U+FFFE (a noncharacter, still valid)', h('efbfbe')],
  ['U+FFFF (last 3-byte)', h('efbfbf')],
  ['U+10000 (first 4-byte)', h('f0908080')],
  ['U+10FFFF (last code point)', h('f48fbfbf')],
  ['mixed scripts and emoji', Buffer.from('aé中😀ℤ𝄞z')],
];

const INVALID: Array<[string, Buffer]> = [
  ['6.3.1 κόσμε with a surrogate ED A0 80 inside', h(`${KOSME} eda080 656469746564`)],
  ['6.4.1 κόσμε then F4 90 80 80 (above U+10FFFF)', h(`${KOSME} f4908080 656469746564`)],
  ['6.4.2 κόσμε then F4 90 (fails on the second byte)', h(`${KOSME} f490`)],
  ['6.4.3 κόσμε then F4 then an invalid continuation', h(`${KOSME} f4 90 80 80 65`)],
  ['6.4.4 κόσμε then ED A0 80', h(`${KOSME} eda080`)],
  ['above U+10FFFF F4 90 80 80', h('f4908080')],
  ['above U+10FFFF F7 BF BF BF', h('f7bfbfbf')],
  ['5-byte sequence F8 88 80 80 80', h('f888808080')],
  ['6-byte sequence FC 84 80 80 80 80', h('fc8480808080')],
  ['lone continuation 80', h('80')],
  ['lone continuation BF', h('bf')],
  ['continuations 80 BF 80', h('80bf80')],
  ['lone start C0 then space', h('c020')],
  ['lone start E0 then space', h('e020')],
  ['lone start F0 then space', h('f020')],
  ['2-byte start then ASCII', h('c241')],
  ['3-byte sequence missing its last byte, then ASCII', h('e2 82 41')],
  ['truncated at the end: C2', h('41 c2')],
  ['truncated at the end: E0 A0', h('41 e0a0')],
  ['truncated at the end: F0 90 80', h('41 f09080')],
  ['truncated at the end: DF', h('df')],
  ['truncated at the end: EF BF', h('efbf')],
  ['truncated at the end: F4 8F BF', h('f48fbf')],
  ['impossible bytes FE', h('fe')],
  ['impossible bytes FF', h('ff')],
  ['impossible bytes FE FE FF FF', h('fefeffff')],
  ['overlong / C0 AF', h('c0af')],
  ['overlong / E0 80 AF', h('e080af')],
  ['overlong / F0 80 80 AF', h('f08080af')],
  ['overlong / F8 80 80 80 AF', h('f8808080af')],
  ['overlong maximum C1 BF', h('c1bf')],
  ['overlong maximum E0 9F BF', h('e09fbf')],
  ['overlong maximum F0 8F BF BF', h('f08fbfbf')],
  ['overlong NUL C0 80', h('c080')],
  ['overlong NUL E0 80 80', h('e08080')],
  ['overlong NUL F0 80 80 80', h('f0808080')],
  ['surrogate ED A0 80 (U+D800)', h('eda080')],
  ['surrogate ED AD BF (U+DB7F)', h('edadbf')],
  ['surrogate ED AE 80 (U+DB80)', h('edae80')],
  ['surrogate ED AF BF (U+DBFF)', h('edafbf')],
  ['surrogate ED B0 80 (U+DC00)', h('edb080')],
  ['surrogate ED BE 80 (U+DF80)', h('edbe80')],
  ['surrogate ED BF BF (U+DFFF)', h('edbfbf')],
  ['paired surrogates ED A0 80 ED B0 80', h('eda080edb080')],
  ['valid text then a lone F5', h('68656c6c6f f5')],
];

/** Can `prefix` still be completed to valid UTF-8? (At most 3 bytes finish a sequence.) */
function isViablePrefix(prefix: Uint8Array): boolean {
  if (isUtf8(prefix)) return true;
  const candidates = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf];
  const tries: number[][] = [[]];
  for (let depth = 0; depth < 3; depth++) {
    for (const base of tries.splice(0)) {
      for (const next of candidates) {
        const attempt = [...base, next];
        if (isUtf8(Buffer.concat([prefix, Uint8Array.from(attempt)]))) return true;
        tries.push(attempt);
      }
    }
  }
  return false;
}

/** Index of the first byte after which the input cannot be valid, or -1. */
function firstBadByte(bytes: Uint8Array): number {
  for (let length = 1; length <= bytes.length; length++) {
    if (!isViablePrefix(bytes.subarray(0, length))) return length - 1;
  }
  return -1;
}

interface Verdict {
  /** Index of the piece `push` refused, or -1. */
  failedPiece: number;
  valid: boolean;
}

function validate(pieces: readonly Uint8Array[]): Verdict {
  const validator = new Utf8Validator();
  for (let i = 0; i < pieces.length; i++) {
    if (!validator.push(pieces[i] as Uint8Array)) return { failedPiece: i, valid: false };
  }
  return { failedPiece: -1, valid: validator.end() };
}

/** What a fail-fast validator must answer: refuse the piece holding the first impossible byte. */
function expected(bytes: Uint8Array, cuts: readonly number[]): Verdict {
  const bad = firstBadByte(bytes);
  if (bad === -1) return { failedPiece: -1, valid: isUtf8(bytes) };
  return { failedPiece: cuts.filter((cut) => cut <= bad).length, valid: false };
}

function cut(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(from, to));
    from = to;
  }
  return pieces;
}

/** Every way to cut `bytes` into 1, 2 and 3 pieces (empty pieces included). */
function everyCut(length: number): number[][] {
  const ways: number[][] = [[]];
  for (let a = 0; a <= length; a++) {
    ways.push([a]);
    for (let b = a; b <= length; b++) ways.push([a, b]);
  }
  return ways;
}

const roundTrips = (bytes: Buffer): boolean => Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);

describe('Utf8Validator', () => {
  it.each(VALID)('accepts %s in one piece and split anywhere into 2 and 3 pieces', (_name, bytes) => {
    expect(isUtf8(bytes)).toBe(true);
    expect(roundTrips(bytes)).toBe(true);
    expect(isValidUtf8(bytes)).toBe(true);
    for (const cuts of everyCut(bytes.length)) {
      expect(validate(cut(bytes, cuts)), `cut at ${cuts.join(',')}`).toEqual({ failedPiece: -1, valid: true });
    }
  });

  it.each(INVALID)(
    'refuses %s at the first piece that cannot be valid, for every 2- and 3-piece split',
    (_name, bytes) => {
      expect(isUtf8(bytes)).toBe(false);
      expect(roundTrips(bytes)).toBe(false);
      expect(isValidUtf8(bytes)).toBe(false);
      for (const cuts of everyCut(bytes.length)) {
        expect(validate(cut(bytes, cuts)), `cut at ${cuts.join(',')}`).toEqual(expected(bytes, cuts));
      }
    },
  );

  it('refuses F4 90 as soon as the 90 arrives, without waiting for the rest of the sequence', () => {
    const validator = new Utf8Validator();
    expect(validator.push(h(KOSME))).toBe(true);
    expect(validator.push(h('f4'))).toBe(true);
    expect(validator.push(h('90'))).toBe(false);
  });

  it('reports a text that ends inside a sequence on end(), and starts afresh afterwards', () => {
    const validator = new Utf8Validator();
    expect(validator.push(h('e282'))).toBe(true);
    expect(validator.end()).toBe(false);
    expect(validator.push(h('41'))).toBe(true);
    expect(validator.end()).toBe(true);
  });

  it('forgets a half sequence on reset()', () => {
    const validator = new Utf8Validator();
    validator.push(h('f09f'));
    validator.reset();
    expect(validator.push(Buffer.from('plain'))).toBe(true);
    expect(validator.end()).toBe(true);
  });

  // Byte arrays that are mostly UTF-8 with the occasional broken byte find more edge cases than noise.
  const utf8ish = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => Uint8Array.from(Buffer.from(s, 'utf8'))),
    fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.nat(40), fc.nat(255)).map(([s, at, byte]) => {
      const bytes = Uint8Array.from(Buffer.from(s, 'utf8'));
      if (bytes.length > 0) bytes[at % bytes.length] = byte;
      return bytes;
    }),
    fc
      .array(
        fc.constantFrom(0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5),
        { maxLength: 16 },
      )
      .map((a) => Uint8Array.from(a)),
  );

  it('agrees with node:buffer isUtf8 for any bytes split at any points', () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(40), { maxLength: 5 }), (bytes, rawCuts) => {
        const cuts = rawCuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
        expect(validate(cut(bytes, cuts)).valid).toBe(isUtf8(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('fails fast for any bytes split at any points', () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(40), { maxLength: 4 }), (bytes, rawCuts) => {
        const cuts = rawCuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
        expect(validate(cut(bytes, cuts))).toEqual(expected(bytes, cuts));
      }),
      { numRuns: 1000 },
    );
  });
});
