import { isUtf8 } from 'node:buffer';

/**
 * Validates UTF-8 that arrives in pieces (fragments, or TCP chunks of one frame) and
 * fails on the first piece that cannot start a valid sequence, as RFC 6455 §8.1 asks
 * ("fail fast"). The bulk of each piece goes through Node's SIMD `isUtf8`; only the
 * few bytes of a sequence split across pieces walk the byte-wise decoder below.
 */
export class Utf8Validator {
  // State of the WHATWG UTF-8 decoder for a sequence split across pieces.
  #needed = 0;
  #seen = 0;
  #lower = 0x80;
  #upper = 0xbf;

  /** Feeds the next piece; false as soon as the text so far cannot be valid UTF-8. */
  push(piece: Uint8Array): boolean {
    let start = 0;
    // Finish a sequence begun in an earlier piece.
    while (this.#needed !== 0 && start < piece.length) {
      if (!this.#step(piece[start] as number)) return false;
      start++;
    }
    if (start === piece.length) return true;

    // Split off an incomplete sequence at the end: at most its first three bytes.
    const end = piece.length;
    let boundary = end;
    for (let i = end - 1; i >= start && i >= end - 3; i--) {
      const byte = piece[i] as number;
      if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for its lead
      if (byte >= 0xc0 && sequenceLength(byte) > end - i) boundary = i;
      break;
    }
    if (boundary > start && !isUtf8(piece.subarray(start, boundary))) return false;
    for (let i = boundary; i < end; i++) {
      if (!this.#step(piece[i] as number)) return false;
    }
    return true;
  }

  /** True when the text ended on a character boundary; resets for the next message. */
  end(): boolean {
    const complete = this.#needed === 0;
    this.reset();
    return complete;
  }

  /** No sequence is under way: the text so far ends on a character boundary. */
  get idle(): boolean {
    return this.#needed === 0;
  }

  /** Forgets any partial character, for a new message. */
  reset(): void {
    this.#needed = 0;
    this.#seen = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }

  #step(byte: number): boolean {
    if (this.#needed === 0) {
      if (byte <= 0x7f) return true;
      if (byte >= 0xc2 && byte <= 0xdf) {
        this.#needed = 1;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) this.#lower = 0xa0; // overlong
        if (byte === 0xed) this.#upper = 0x9f; // UTF-16 surrogates
        this.#needed = 2;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) this.#lower = 0x90; // overlong
        if (byte === 0xf4) this.#upper = 0x8f; // above U+10FFFF
        this.#needed = 3;
      } else {
        return false;
      }
      return true;
    }
    if (byte < this.#lower || byte > this.#upper) return false;
    this.#lower = 0x80;
    this.#upper = 0xbf;
    if (++this.#seen === this.#needed) {
      this.#needed = 0;
      this.#seen = 0;
    }
    return true;
  }
}

function sequenceLength(lead: number): number {
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

/** Whole-buffer check for text that arrived in one piece. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}
