// Switchboard's contract for the stream benchmark: one streaming procedure per shape, its
// chunks checked against the shape's schema by the server (as any output), the count it made
// as the typed result.

import { defineContract, procedure, stream } from '@switchboard/contract';
import { KibChunk, SmallChunk, StreamInput, StreamResult } from './shapes.js';

export const contract = defineContract({
  procedures: {
    small: procedure({ input: StreamInput, output: stream(SmallChunk, { result: StreamResult }) }),
    kib: procedure({ input: StreamInput, output: stream(KibChunk, { result: StreamResult }) }),
  },
});
export type StreamBenchContract = typeof contract;
