// UTF-8 sizes of JavaScript strings, counted without encoding them.

/**
 * The size of `text` in UTF-8, counted until it passes `stopAfter` (a lone surrogate counts
 * as the 3 bytes of U+FFFD it goes out as). A UTF-16 code unit is 1 to 3 UTF-8 bytes; a
 * surrogate pair, 2 units, is 4.
 */
function countUtf8(text: string, stopAfter: number): number {
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= stopAfter; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * True when `text` takes more than `limitBytes` bytes in UTF-8 (what it took on the wire).
 * `length` alone settles all but texts between limitBytes / 3 and limitBytes units, which
 * are counted, without allocating, stopping once past the limit.
 */
export function isLongerThan(text: string, limitBytes: number): boolean {
  if (text.length > limitBytes) return true;
  if (text.length * 3 <= limitBytes) return false;
  return countUtf8(text, limitBytes) > limitBytes;
}

/** The size of `text` in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD it goes out as). */
export function utf8Length(text: string): number {
  return countUtf8(text, Number.POSITIVE_INFINITY);
}
