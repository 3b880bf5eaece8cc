// Echo server on Switchboard's own RFC 6455 transport (@switchboard/server/transport).
//
// By default this loads the *built* package (packages/server/dist, through the workspace
// symlink), which is what `npm run bench:echo` builds first. Set SWITCHBOARD_TRANSPORT=src to
// load the TypeScript sources instead (tsx maps the import through tsconfig "paths").
//
// The module is imported dynamically and typed structurally below, so this file (and the
// repo's typecheck) does not depend on the transport existing yet; if it is missing or its API
// differs, the process exits with a loud message and run.ts skips the contender.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConnectionCounter, die, HOST, MAX_PAYLOAD, serve } from './common.js';

/** The part of the transport API (mirrors ws) that the echo server uses. */
interface TransportSocket {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  send(data: Buffer, options: { binary: boolean }): unknown;
}

interface TransportServer {
  on(event: 'listening', listener: () => void): unknown;
  on(event: 'connection', listener: (socket: TransportSocket) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  address(): AddressInfo | string | null;
}

interface TransportModule {
  WebSocketServer: new (options: {
    port: number;
    host: string;
    maxPayload: number;
    perMessageDeflate: false;
  }) => TransportServer;
}

const SPECIFIER = '@switchboard/server/transport';

/** File URL of the built `./transport` export, or a specifier for the sources. */
function entry(): string {
  if (process.env.SWITCHBOARD_TRANSPORT === 'src') return SPECIFIER;
  const require = createRequire(import.meta.url);
  // SWITCHBOARD_CHECKOUT: the transport of another checkout (bench/echo/run.ts --before).
  const checkout = process.env.SWITCHBOARD_CHECKOUT;
  const pkgPath =
    checkout === undefined
      ? require.resolve('@switchboard/server/package.json')
      : resolve(checkout, 'packages/server/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports?: Record<string, { import?: { default?: string } }>;
  };
  const target = pkg.exports?.['./transport']?.import?.default;
  if (!target) throw new Error(`${pkgPath} has no exports["./transport"].import.default`);
  const file = resolve(dirname(pkgPath), target);
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: build it first (npm run build -w @switchboard/server)`);
  }
  return pathToFileURL(file).href;
}

let mod: TransportModule;
try {
  const specifier = entry();
  mod = (await import(specifier)) as TransportModule;
  if (typeof mod.WebSocketServer !== 'function') throw new Error(`${specifier} does not export WebSocketServer`);
} catch (err) {
  die('switchboard transport unavailable', err);
}

const counter = new ConnectionCounter();
const wss = new mod.WebSocketServer({ port: 0, host: HOST, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
wss.on('error', (err) => die('switchboard server', err));
wss.on('connection', (socket) => {
  counter.track(socket);
  socket.on('error', () => {});
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
wss.on('listening', () => serve((wss.address() as AddressInfo).port, () => counter.open));
