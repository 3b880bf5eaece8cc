// tRPC v11 over `ws` (applyWSSHandler), superjson transformer: one subscription per shape whose
// resolver returns the shared producer (an async generator), each chunk checked against the
// shape's zod schema in the producer (tRPC's `.output()` checks a query's value, not a
// subscription's yields). tRPC's ws adapter sends every yield at once: no backpressure, the
// generator runs as fast as it can and the socket buffers. tRPC's ws link carries JSON text only:
// a Uint8Array chunk (the binary shapes) goes through superjson as an array of numbers (about
// 3.6 bytes on the wire per byte) and comes back as a Uint8Array.

import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import superjson from 'superjson';
import { WebSocketServer } from 'ws';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { BytesChunk, KibChunk, produce, SHAPES, SmallChunk, StreamInput } from '../shapes.js';

const t = initTRPC.create({ transformer: superjson });
const checkSmall = (chunk: SmallChunk) => SmallChunk.parse(chunk);
const checkKib = (chunk: string) => KibChunk.parse(chunk);
const checkBytes = (chunk: Uint8Array) => BytesChunk.parse(chunk);
/** tRPC's subscriptions return nothing at the end: the producer's count is not sent. */
const chunksOf = <T>(producer: AsyncGenerator<T, unknown>) => producer as AsyncIterable<T, void>;
const appRouter = t.router({
  small: t.procedure
    .input(StreamInput)
    .subscription(({ input, signal }) => chunksOf(produce(SHAPES.small, input.count, signal, checkSmall))),
  kib: t.procedure
    .input(StreamInput)
    .subscription(({ input, signal }) => chunksOf(produce(SHAPES.kib, input.count, signal, checkKib))),
  bin16k: t.procedure
    .input(StreamInput)
    .subscription(({ input, signal }) => chunksOf(produce(SHAPES.bin16k, input.count, signal, checkBytes))),
  bin1m: t.procedure
    .input(StreamInput)
    .subscription(({ input, signal }) => chunksOf(produce(SHAPES.bin1m, input.count, signal, checkBytes))),
});
export type StreamAppRouter = typeof appRouter;

const wss = new WebSocketServer({ port: 0, host: HOST, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
wss.on('error', (err) => die('trpc server', err));
applyWSSHandler({ wss, router: appRouter });
wss.on('listening', () => serve((wss.address() as AddressInfo).port, () => wss.clients.size));
