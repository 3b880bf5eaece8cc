// UTF-8 sizes of JavaScript strings, counted without encoding them.

/**
 * True when `text` takes more than `limitBytes` bytes in UTF-8 (what it took on the wire).
 * A UTF-16 code unit is 1 to 3 UTF-8 bytes (a surrogate pair, 2 units, is 4): `length` alone
 * settles all but texts between limitBytes / 3 and limitBytes units, which are counted,
 * without allocating, stopping once past the limit.
 */
export function isLongerThan(text: string, limitBytes: number): boolean {
  if (text.length > limitBytes) return true;
  if (text.length * 3 <= limitBytes) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4;
        i++;
      } else {
        bytes += 3; // a lone surrogate goes out as U+FFFD
      }
    } else bytes += 3;
    if (bytes > limitBytes) return true;
  }
  return false;
}

/** The size of `text` in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD it goes out as). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
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
