// Switchboard's contract for the stream benchmark: one streaming procedure per shape, its
// chunks checked against the shape's schema by the server (as any output), the count it made
// as the typed result. The binary shapes' chunks are `z.instanceof(Uint8Array)`: they travel as
// binary messages (docs/protocol.md, "Bytes").

import { defineContract, procedure, stream } from '@switchboard/contract';
import { BytesChunk, KibChunk, SmallChunk, StreamInput, StreamResult } from './shapes.js';

export const contract = defineContract({
  procedures: {
    small: procedure({ input: StreamInput, output: stream(SmallChunk, { result: StreamResult }) }),
    kib: procedure({ input: StreamInput, output: stream(KibChunk, { result: StreamResult }) }),
    bin16k: procedure({ input: StreamInput, output: stream(BytesChunk, { result: StreamResult }) }),
    bin1m: procedure({ input: StreamInput, output: stream(BytesChunk, { result: StreamResult }) }),
  },
});
export type StreamBenchContract = typeof contract;
