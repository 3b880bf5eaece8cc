// `PORT=9001 npm run echo`: the echo server for conformance runs.
import { startEchoServer } from './echo-server.js';

const host = process.env.HOST ?? '127.0.0.1';
const server = await startEchoServer({ port: Number(process.env.PORT ?? 9001), host });
console.log(`echo server listening on ws://${host}:${server.port}`);

const shutdown = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
