// Switchboard: one streaming procedure per shape, returning the shared producer (an async generator);
// the framework checks each chunk against the contract's schema and paces the generator by the
// client's credit. A Uint8Array chunk goes as one binary message (u32 JSON length | JSON | bytes). Loads packages/*/dist with TSX_TSCONFIG_PATH=bench/rpc/tsconfig.dist.json (the
// runner's default), the sources through tsconfig paths otherwise, another checkout's dist with
// --before's generated tsconfig.

import { createServer, defineRouter } from '@switchboard/server';
import { die, HOST, MAX_PAYLOAD, serve } from '../../echo/servers/common.js';
import { contract } from '../contract.js';
import { produce, SHAPES } from '../shapes.js';

const router = defineRouter(contract, {
  procedures: {
    small: ({ input, signal }) => produce(SHAPES.small, input.count, signal),
    kib: ({ input, signal }) => produce(SHAPES.kib, input.count, signal),
    bin16k: ({ input, signal }) => produce(SHAPES.bin16k, input.count, signal),
    bin1m: ({ input, signal }) => produce(SHAPES.bin1m, input.count, signal),
  },
  channels: {},
});

// maxPayloadBytes bounds each chunk's message too: room for a 1 MiB chunk and its envelope.
const server = createServer({ router, limits: { maxPayloadBytes: 2 * MAX_PAYLOAD } });
try {
  const { port } = await server.listen({ port: 0, host: HOST });
  // The file actually loaded: run.ts checks it against the checkout this contender stands for.
  const switchboard = import.meta.resolve('@switchboard/server');
  const from = switchboard.includes('/dist/') ? 'dist' : 'src';
  serve(port, () => server.connections, { from, switchboard });
} catch (err) {
  die('switchboard server', err);
}
