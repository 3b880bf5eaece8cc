// The server under conformance test: examples/echo, exactly as `npm run echo` starts it.
import { startEchoServer as startExample } from '../../../examples/echo/echo-server.js';

export interface EchoServer {
  port: number;
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const server = await startExample({ port: 0, host: '127.0.0.1' });
  return { port: server.port, close: server.close };
}
