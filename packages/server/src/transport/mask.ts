// RFC 6455 §5.3: octet i of the payload is XORed with octet (i mod 4) of the masking key.
// Payloads are unmasked a 32-bit word at a time; only the unaligned ends go byte by byte.

const WORD_THRESHOLD_BYTES = 32;
const maskBytes = new Uint8Array(4);
const maskWord = new Uint32Array(maskBytes.buffer);

/**
 * XORs `data` in place with the 4-byte `mask`, starting at key octet `maskOffset`
 * (so a payload can be unmasked piece by piece as it arrives).
 */
export function applyMask(data: Uint8Array, mask: Uint8Array, maskOffset: number): void {
  const length = data.length;
  let i = 0;
  if (length >= WORD_THRESHOLD_BYTES) {
    const misaligned = data.byteOffset & 3;
    const head = misaligned === 0 ? 0 : 4 - misaligned;
    for (; i < head; i++) data[i] = (data[i] as number) ^ (mask[(maskOffset + i) & 3] as number);
    for (let k = 0; k < 4; k++) maskBytes[k] = mask[(maskOffset + i + k) & 3] as number;
    const word = maskWord[0] as number;
    const words = (length - i) >>> 2;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = (view[w] as number) ^ word;
    i += words << 2;
  }
  for (; i < length; i++) data[i] = (data[i] as number) ^ (mask[(maskOffset + i) & 3] as number);
}
