// The named export: under CommonJS (require of this ESM-only package) the default import is its namespace.
import { SuperJSON } from 'superjson';

// Byte values (Uint8Array, ArrayBuffer) in superjson: each becomes a custom annotation
// whose JSON is its index among the message's byte parts, which travel after the JSON
// part of a binary message (binary-message.ts) instead of inside it:
//
//   { name: 'a.png', file: Uint8Array(3) [1, 2, 3] }
//     json { "name": "a.png", "file": 0 }
//     meta { "values": { "file": ["custom", "bytes"] }, "v": 1, "b": [3] }
//     parts [ 01 02 03 ]
//
// A placeholder is an annotation, never a JSON shape a user's value could imitate: an
// object {"$b": 0} in a value stays that object. The parts are set around one synchronous
// serialize or deserialize call, so no other value can see them.

/** The custom annotation of a Uint8Array (or a Node Buffer, which arrives as a Uint8Array). */
export const BYTES_ANNOTATION = 'bytes';
/** The custom annotation of an ArrayBuffer. */
export const ARRAY_BUFFER_ANNOTATION = 'arraybuffer';

/** The byte values being written (serialize) or read (deserialize) now; empty between calls. */
let current: Uint8Array[] = [];
/** The one superjson instance of the wire: the default instance's registrations (a user's) never apply. */
export const wireSuperjson = new SuperJSON();

wireSuperjson.registerCustom<Uint8Array, number>(
  {
    isApplicable: (value): value is Uint8Array => value instanceof Uint8Array,
    serialize: (value) => current.push(value) - 1,
    deserialize: (index) => current[index] as Uint8Array,
  },
  BYTES_ANNOTATION,
);

wireSuperjson.registerCustom<ArrayBuffer, number>(
  {
    isApplicable: (value): value is ArrayBuffer => value instanceof ArrayBuffer,
    serialize: (value) => current.push(new Uint8Array(value)) - 1,
    // Its own memory: an ArrayBuffer cannot be a view of the received message.
    deserialize: (index) => (current[index] as Uint8Array).slice().buffer,
  },
  ARRAY_BUFFER_ANNOTATION,
);

/** Runs `serialize` (which calls superjson once) and returns what it made with the byte parts it met, in index order. */
export function collectingParts<T>(serialize: () => T): { result: T; parts: Uint8Array[] } {
  current = [];
  try {
    return { result: serialize(), parts: current };
  } finally {
    current = [];
  }
}

/** Runs `deserialize` (which calls superjson once) with `parts` as the byte values its placeholders name. */
export function withParts<T>(parts: Uint8Array[], deserialize: () => T): T {
  current = parts;
  try {
    return deserialize();
  } finally {
    current = [];
  }
}

/** Whether `value` travels as bytes. */
export function isByteValue(value: object): boolean {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

/** Throws for a Blob: its bytes can be read only asynchronously, so the caller reads it first. */
export function refuseBlob(value: object): void {
  if (typeof Blob !== 'undefined' && value instanceof Blob) {
    throw new TypeError('a Blob cannot be sent as it is: send new Uint8Array(await blob.arrayBuffer()) instead');
  }
}
