// UTF-8 decoder test vectors for cases 6.5.x – 6.23.x, after Markus Kuhn's
// UTF-8-test.txt as grouped by Autobahn. Validity follows RFC 3629 §3/§4: no overlong
// forms, no UTF-16 surrogates (U+D800–U+DFFF), nothing above U+10FFFF, no 5/6-byte forms.
import { isUtf8 } from 'node:buffer';

export interface Utf8Group {
  title: string;
  vectors: { valid: boolean; bytes: Buffer }[];
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const cat = (...parts: (Buffer | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const invalid = (...vs: Buffer[]) => vs.map((bytes) => ({ valid: false, bytes }));
const valid = (...vs: Buffer[]) => vs.map((bytes) => ({ valid: true, bytes }));
/** Python's range(lo, hi): `hi` excluded, as in Autobahn's generators. */
const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo }, (_, i) => lo + i);

/** κόσμε (Greek "cosmos"), the UTF-8 test file's first sample. */
export const KOSME = b(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5);

export function utf8Groups(): Utf8Group[] {
  const lastContinuationMissing = [
    b(0xc0),
    b(0xe0, 0x80),
    b(0xf0, 0x80, 0x80),
    b(0xf8, 0x80, 0x80, 0x80),
    b(0xfc, 0x80, 0x80, 0x80, 0x80),
    b(0xdf),
    b(0xef, 0xbf),
    b(0xf7, 0xbf, 0xbf),
    b(0xfb, 0xbf, 0xbf, 0xbf),
    b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf),
  ];
  const nonCharacters: Buffer[] = [b(0xef, 0xbf, 0xbe), b(0xef, 0xbf, 0xbf)];
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf4 && z2 !== 0x8f) continue; // would be above U+10FFFF
      for (const z3 of [0xbe, 0xbf]) {
        if (z1 === 0xf0 && z2 === 0x8f) continue; // overlong
        nonCharacters.push(b(z1, z2, 0xbf, z3));
      }
    }
  }
  const hello = (mid: Buffer): Buffer => cat('hello', mid, 'world');
  return [
    {
      title: 'Some valid UTF-8 sequences',
      vectors: valid(
        hello(b(0x24)),
        hello(b(0xc2, 0xa2)),
        hello(b(0xe2, 0x82, 0xac)),
        hello(b(0xf0, 0xa4, 0xad, 0xa2)),
        KOSME,
      ),
    },
    {
      title: 'All prefixes of a valid UTF-8 string that contains multi-byte code points',
      // A prefix is a complete, valid message only when it ends on a code point boundary.
      vectors: range(1, KOSME.length + 1).map((n) => ({
        valid: isUtf8(KOSME.subarray(0, n)),
        bytes: KOSME.subarray(0, n),
      })),
    },
    {
      title: 'First possible sequence of a certain length',
      vectors: valid(b(0x00), b(0xc2, 0x80), b(0xe0, 0xa0, 0x80), b(0xf0, 0x90, 0x80, 0x80)),
    },
    {
      title: 'First possible sequence length 5/6 (invalid codepoints)',
      vectors: invalid(b(0xf8, 0x88, 0x80, 0x80, 0x80), b(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80)),
    },
    {
      title: 'Last possible sequence of a certain length',
      vectors: valid(b(0x7f), b(0xdf, 0xbf), b(0xef, 0xbf, 0xbf), b(0xf4, 0x8f, 0xbf, 0xbf)),
    },
    {
      title: 'Last possible sequence length 4/5/6 (invalid codepoints)',
      vectors: invalid(
        b(0xf7, 0xbf, 0xbf, 0xbf),
        b(0xfb, 0xbf, 0xbf, 0xbf, 0xbf),
        b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf),
      ),
    },
    {
      title: 'Other boundary conditions',
      vectors: [
        ...valid(b(0xed, 0x9f, 0xbf), b(0xee, 0x80, 0x80), b(0xef, 0xbf, 0xbd), b(0xf4, 0x8f, 0xbf, 0xbf)),
        ...invalid(b(0xf4, 0x90, 0x80, 0x80)),
      ],
    },
    {
      title: 'Unexpected continuation bytes',
      vectors: invalid(
        b(0x80),
        b(0xbf),
        b(0x80, 0xbf),
        b(0x80, 0xbf, 0x80),
        b(0x80, 0xbf, 0x80, 0xbf),
        b(0x80, 0xbf, 0x80, 0xbf, 0x80),
        b(0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf),
        b(...range(0x80, 0xbf)),
      ),
    },
    {
      title: 'Lonely start characters',
      vectors: invalid(
        ...[
          [0xc0, 0xdf],
          [0xe0, 0xef],
          [0xf0, 0xf7],
          [0xf8, 0xfb],
          [0xfc, 0xfd],
        ].map(([lo = 0, hi = 0]) => b(...range(lo, hi).flatMap((x) => [x, 0x20]))),
      ),
    },
    { title: 'Sequences with last continuation byte missing', vectors: invalid(...lastContinuationMissing) },
    { title: 'Concatenation of incomplete sequences', vectors: invalid(Buffer.concat(lastContinuationMissing)) },
    { title: 'Impossible bytes', vectors: invalid(b(0xfe), b(0xff), b(0xfe, 0xfe, 0xff, 0xff)) },
    {
      title: 'Examples of an overlong ASCII character',
      vectors: invalid(
        b(0xc0, 0xaf),
        b(0xe0, 0x80, 0xaf),
        b(0xf0, 0x80, 0x80, 0xaf),
        b(0xf8, 0x80, 0x80, 0x80, 0xaf),
        b(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf),
      ),
    },
    {
      title: 'Maximum overlong sequences',
      vectors: invalid(
        b(0xc1, 0xbf),
        b(0xe0, 0x9f, 0xbf),
        b(0xf0, 0x8f, 0xbf, 0xbf),
        b(0xf8, 0x87, 0xbf, 0xbf, 0xbf),
        b(0xfc, 0x83, 0xbf, 0xbf, 0xbf, 0xbf),
      ),
    },
    {
      title: 'Overlong representation of the NUL character',
      vectors: invalid(
        b(0xc0, 0x80),
        b(0xe0, 0x80, 0x80),
        b(0xf0, 0x80, 0x80, 0x80),
        b(0xf8, 0x80, 0x80, 0x80, 0x80),
        b(0xfc, 0x80, 0x80, 0x80, 0x80, 0x80),
      ),
    },
    {
      title: 'Single UTF-16 surrogates',
      vectors: invalid(
        b(0xed, 0xa0, 0x80),
        b(0xed, 0xad, 0xbf),
        b(0xed, 0xae, 0x80),
        b(0xed, 0xaf, 0xbf),
        b(0xed, 0xb0, 0x80),
        b(0xed, 0xbe, 0x80),
        b(0xed, 0xbf, 0xbf),
      ),
    },
    {
      title: 'Paired UTF-16 surrogates',
      vectors: invalid(
        ...[
          [0xa0, 0x80, 0xb0, 0x80],
          [0xa0, 0x80, 0xbf, 0xbf],
          [0xad, 0xbf, 0xb0, 0x80],
          [0xad, 0xbf, 0xbf, 0xbf],
          [0xae, 0x80, 0xb0, 0x80],
          [0xae, 0x80, 0xbf, 0xbf],
          [0xaf, 0xbf, 0xb0, 0x80],
          [0xaf, 0xbf, 0xbf, 0xbf],
        ].map(([a = 0, c = 0, d = 0, e = 0]) => b(0xed, a, c, 0xed, d, e)),
      ),
    },
    { title: 'Non-character code points (valid UTF-8)', vectors: valid(...nonCharacters) },
    {
      title: 'Unicode specials (i.e. replacement char)',
      vectors: valid(...[0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf].map((x) => b(0xef, 0xbf, x))),
    },
  ];
}
