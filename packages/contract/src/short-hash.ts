// cyrb53 (two 32-bit multiply-xor lanes mixed at the end), written out in base 36: a short,
// stable, non-cryptographic hash in plain JavaScript, the same in every browser and Node
// (node:crypto is not there in a browser). It only has to tell a changed schema from the
// one before: whoever could forge a collision could as well send whatever hash they like.

/** A 53-bit hash of `text` in base 36: 1 to 11 characters of `[0-9a-z]`. */
export function shortHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}
