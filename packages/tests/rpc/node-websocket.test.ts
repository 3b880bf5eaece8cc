import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { within } from '../support/wait.js';
import { closeAll, startServer } from './harness.js';

// The client over Node's own (experimental, in Node 20) global WebSocket, in a child
// process: no `WebSocket` option is passed. tsx resolves `@switchboard/*` through the
// tsconfig `paths` to the TypeScript sources, so no vitest alias is needed there.

vi.setConfig({ testTimeout: 20_000 });

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'packages/tests/rpc/fixtures/node-global-client.ts';
const CHILD_TIMEOUT_MS = 12_000;

let child: ChildProcess | undefined;

afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  await closeAll();
});

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Line = Record<string, unknown> & { step: string };

/** Runs the child, calling `onLine` for each JSON line; resolves with all lines once it exits 0. */
function runChild(args: string[], onLine: (line: Line) => void): Promise<Line[]> {
  const lines: Line[] = [];
  let stderr = '';
  const spawned = spawn(process.execPath, ['--experimental-websocket', '--import', 'tsx', SCRIPT, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = spawned;
  let buffered = '';
  spawned.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = JSON.parse(buffered.slice(0, newline)) as Line;
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      onLine(line);
      newline = buffered.indexOf('\n');
    }
  });
  spawned.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Line[]>((resolve, reject) => {
    spawned.once('error', reject);
    spawned.once('exit', (code, signal) => {
      if (code === 0) resolve(lines);
      else reject(new Error(`child exited ${code ?? signal}: ${JSON.stringify(lines)}\n${stderr}`));
    });
  });
  return within(exited, CHILD_TIMEOUT_MS, `the child client (lines so far: ${JSON.stringify(lines)})`);
}

describe("the client over Node's global WebSocket", () => {
  it('finds tsx where the child looks for it', () => {
    expect(existsSync(`${ROOT}node_modules/tsx/package.json`)).toBe(true);
    expect(existsSync(`${ROOT}${SCRIPT}`)).toBe(true);
  });

  it('calls, subscribes, receives a publish, gets a typed error, and survives a refused connection', async () => {
    const { port, server } = await startServer();
    const refusedPort = await freePort();
    const at = new Date('2024-07-08T09:10:11.012Z');
    const published: Promise<void>[] = [];
    const lines = await runChild([String(port), String(refusedPort)], (line) => {
      if (line.step === 'ready') published.push(server.publish('metrics.host', { host: 'child' }, { seq: 7, at }));
    });
    await Promise.all(published);
    const byStep = new Map(lines.map((line) => [line.step, line]));

    expect(lines.map((line) => line.step)).toEqual([
      'start',
      'call',
      'ready',
      'message',
      'error',
      'closed',
      'refused',
      'done',
    ]);
    expect(byStep.get('start')).toEqual({ step: 'start', hasGlobalWebSocket: true });
    expect(byStep.get('call')).toEqual({
      step: 'call',
      sum: 42,
      when: '2024-01-02T00:00:00.000Z',
      counts: [['K', '10']],
      tags: ['t', 'seen'],
      big: '2',
    });
    expect(byStep.get('message')).toEqual({ step: 'message', seq: 7, at: at.toISOString() });
    expect(byStep.get('error')).toEqual({
      step: 'error',
      code: 'NOT_FOUND',
      message: 'no such user',
      data: { id: 'nobody' },
    });
    expect(byStep.get('closed')).toEqual({ step: 'closed', states: ['connecting', 'open', 'closed'] });
    expect(byStep.get('refused')).toMatchObject({
      step: 'refused',
      code: 'UNAVAILABLE',
      states: ['connecting', 'closed'],
    });
  });
});
