// Deterministic stand-ins for Autobahn's category 12 test files (we ship no third-party
// data): JSON text, an 8-bit grayscale bitmap, German prose (sent as binary, like the
// Gutenberg file), HTML text, and a PDF-like mix of ASCII objects and incompressible
// streams. Each is ~256 KiB, so slices of up to 128 KiB vary along the corpus.

import { seededRandom } from '../../support/seeded-random.js';
import { KOSME } from './utf8-sequences.js';

export interface Corpus {
  name: string;
  description: string;
  /** Sent as binary messages (else text). Text corpora use only BMP characters. */
  binary: boolean;
  /** Binary corpora: bytes. Text corpora: the string (sliced by code point, like Autobahn). */
  bytes: Buffer;
  text: string;
}

const TARGET = 256 * 1024;

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

const WORDS_DE = [
  'Habe',
  'nun',
  'ach',
  'Philosophie',
  'Juristerei',
  'und',
  'Medizin',
  'leider',
  'auch',
  'Theologie',
  'durchaus',
  'studiert',
  'mit',
  'heißem',
  'Bemühn',
  'Da',
  'steh',
  'ich',
  'armer',
  'Tor',
  'bin',
  'so',
  'klug',
  'als',
  'wie',
  'zuvor',
  'Heiße',
  'Magister',
  'Doktor',
  'gar',
  'ziehe',
  'schon',
  'an',
  'die',
  'zehen',
  'Jahr',
  'Herauf',
  'herab',
  'quer',
  'krumm',
  'meine',
  'Schüler',
  'der',
  'Nase',
  'herum',
  'sehe',
  'dass',
  'wir',
  'nichts',
  'wissen',
  'können',
  'Das',
  'will',
  'mir',
  'schier',
  'Herz',
  'verbrennen',
  'Zwar',
  'Gelahrte',
  'Fürsten',
  'Geist',
  'Welt',
  'Blick',
  'Dämmerung',
  'Straße',
  'größer',
  'Öffnung',
  'Übermut',
];
const WORDS_EN = [
  'alpha',
  'bravo',
  'switchboard',
  'topic',
  'channel',
  'request',
  'response',
  'payload',
  'message',
  'server',
  'client',
  'über',
  'café',
  'naïve',
  '東京',
  '€uro',
];

function germanProse(rnd: () => number): string {
  let out = '';
  while (out.length < TARGET) {
    const n = 6 + Math.floor(rnd() * 12);
    const words = Array.from({ length: n }, () => pick(rnd, WORDS_DE));
    out += `${words.join(' ')}${pick(rnd, ['.', '!', '?', ',', ';'])}${rnd() < 0.2 ? '\r\n\r\n' : '\r\n'}`;
  }
  return out;
}

function json(rnd: () => number): string {
  const items: string[] = [];
  let len = 0;
  for (let id = 1; len < TARGET; id++) {
    const item = JSON.stringify({
      id,
      name: `${pick(rnd, WORDS_EN)} ${pick(rnd, WORDS_EN)}`,
      active: rnd() < 0.5,
      score: Math.round(rnd() * 1e6) / 1e3,
      tags: Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(rnd, WORDS_EN)),
      location: { lat: Math.round((rnd() * 180 - 90) * 1e5) / 1e5, lon: Math.round((rnd() * 360 - 180) * 1e5) / 1e5 },
      note: KOSME.toString('utf8'),
    });
    items.push(item);
    len += item.length + 2;
  }
  return `[\n${items.join(',\n')}\n]\n`;
}

function html(rnd: () => number): string {
  let out =
    '<!DOCTYPE html>\n<html lang="de">\n<head><meta charset="utf-8"><title>Switchboard</title></head>\n<body>\n';
  while (out.length < TARGET) {
    const cls = pick(rnd, ['row', 'cell', 'note', 'item active', 'item']);
    const words = Array.from({ length: 5 + Math.floor(rnd() * 15) }, () => pick(rnd, [...WORDS_DE, ...WORDS_EN])).join(
      ' ',
    );
    out += `  <div class="${cls}" data-id="${Math.floor(rnd() * 1e6)}">\n    <p>${words}</p>\n    <a href="/topic/${pick(rnd, WORDS_EN)}">${pick(rnd, WORDS_EN)}</a>\n  </div>\n`;
  }
  return `${out}</body>\n</html>\n`;
}

function bitmap(rnd: () => number): Buffer {
  // 512×512, 8 bits per pixel, 256-entry gray palette: like lena512.bmp (263,222 bytes).
  const w = 512;
  const h = 512;
  const headerSize = 14 + 40 + 1024;
  const buf = Buffer.alloc(headerSize + w * h);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(headerSize, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(8, 28);
  buf.writeUInt32LE(w * h, 34);
  buf.writeUInt32LE(256, 46);
  for (let i = 0; i < 256; i++) buf.writeUInt32LE((i << 16) | (i << 8) | i, 54 + i * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 128 + 60 * Math.sin(x / 37) * Math.cos(y / 23) + 40 * Math.sin((x + y) / 71) + (rnd() - 0.5) * 24;
      buf[headerSize + y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return buf;
}

function pdfLike(rnd: () => number): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let len = 0;
  for (let obj = 1; len < TARGET; obj++) {
    const streamLen = 512 + Math.floor(rnd() * 4096);
    const stream = Buffer.alloc(streamLen);
    for (let i = 0; i < streamLen; i++) stream[i] = Math.floor(rnd() * 256);
    const head = Buffer.from(
      `${obj} 0 obj\n<< /Length ${streamLen} /Filter /FlateDecode /Type /XObject /Subtype /Image >>\nstream\n`,
      'latin1',
    );
    const tail = Buffer.from(
      `\nendstream\nendobj\n${obj + 1000} 0 obj\n<< /Type /Page /Parent 3 0 R /Resources << /Font << /F1 ${obj} 0 R >> >> /MediaBox [0 0 612 792] >>\nendobj\n`,
      'latin1',
    );
    parts.push(head, stream, tail);
    len += head.length + streamLen + tail.length;
  }
  parts.push(Buffer.from('%%EOF\n', 'latin1'));
  return Buffer.concat(parts);
}

let cache: Corpus[] | undefined;

/** Autobahn's order: JSON, bitmap, Faust text, HTML, PDF (12.1 … 12.5). */
export function corpora(): Corpus[] {
  if (cache) return cache;
  const textCorpus = (name: string, description: string, s: string): Corpus => ({
    name,
    description,
    binary: false,
    text: s,
    bytes: Buffer.from(s, 'utf8'),
  });
  const binCorpus = (name: string, description: string, b: Buffer): Corpus => ({
    name,
    description,
    binary: true,
    text: '',
    bytes: b,
  });
  cache = [
    textCorpus('json', 'Large JSON data (utf8)', json(seededRandom(1))),
    binCorpus('bitmap', 'Bitmap 512x512, 8-bit gray (binary)', bitmap(seededRandom(2))),
    binCorpus('prose', 'Human readable German text (binary)', Buffer.from(germanProse(seededRandom(3)), 'utf8')),
    textCorpus('html', 'Large HTML file (utf8)', html(seededRandom(4))),
    binCorpus('pdf', 'PDF-like: ASCII objects and incompressible streams (binary)', pdfLike(seededRandom(5))),
  ];
  return cache;
}

/**
 * Autobahn's slicer: the next `len` units (code points for text, bytes for binary)
 * starting where the previous message ended, wrapping around the corpus.
 */
export function slicer(corpus: Corpus, len: number): () => Buffer {
  let ptr = 0;
  if (!corpus.binary) {
    const s = corpus.text;
    return () => {
      const to = (ptr + len) % s.length;
      const piece = to > ptr ? s.slice(ptr, to) : s.slice(ptr) + s.slice(0, to);
      ptr = to;
      return Buffer.from(piece, 'utf8');
    };
  }
  const b = corpus.bytes;
  return () => {
    const to = (ptr + len) % b.length;
    const piece = to > ptr ? b.subarray(ptr, to) : Buffer.concat([b.subarray(ptr), b.subarray(0, to)]);
    ptr = to;
    return piece;
  };
}
