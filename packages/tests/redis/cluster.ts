import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@switchboard/client';
import WebSocket from 'ws';
import { within } from '../support/wait.js';
import type { ClusterContract } from './fixtures/contract.js';

// Several Switchboard server processes on one Redis (fixtures/node.ts, run with tsx), and
// typed clients to them. Every wait is bounded; every process is ended by its own pid.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'packages/tests/redis/fixtures/node.ts';
/** tsx compiles the sources on start, three processes at once on a small machine. */
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

interface NodeEvent {
  event: string;
  port?: number;
  pid?: number;
  message?: string;
}

/** One server process. */
export class ClusterNode {
  readonly name: string;
  readonly events: NodeEvent[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';
  port = 0;
  pid = 0;

  private constructor(name: string, redisUrl: string, prefix: string, script: string) {
    this.name = name;
    this.#child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redisUrl, SB_PREFIX: prefix, NODE_NAME: name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.#child.stdout) {
      createInterface({ input: this.#child.stdout }).on('line', (line) => {
        try {
          this.events.push(JSON.parse(line) as NodeEvent);
        } catch {
          this.events.push({ event: 'output', message: line });
        }
      });
    }
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4_000);
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  /** Starts a node: `script` (from the repository's root) is the server it runs. */
  static async start(name: string, redisUrl: string, prefix: string, script = SCRIPT): Promise<ClusterNode> {
    const node = new ClusterNode(name, redisUrl, prefix, script);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (node.port === 0) {
      const listening = node.events.find((e) => e.event === 'listening');
      if (listening?.port !== undefined) {
        node.port = listening.port;
        node.pid = listening.pid ?? 0;
      } else if (!node.alive) throw new Error(`node ${name} exited before listening:\n${node.#stderr}`);
      else if (Date.now() > deadline) {
        node.kill();
        throw new Error(`node ${name} did not listen within ${START_TIMEOUT_MS} ms:\n${node.#stderr}`);
      } else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return node;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** What escaped the node's handlers (should be nothing). */
  get unhandled(): NodeEvent[] {
    return this.events.filter((e) => e.event === 'unhandled');
  }

  /** SIGKILL: no close frames, no drain, gone at once. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.#child.kill('SIGKILL');
    await within(this.#exited, STOP_TIMEOUT_MS, `node ${this.name} to die`);
  }

  /** SIGTERM (graceful close), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.#child.kill('SIGTERM');
    try {
      await within(this.#exited, STOP_TIMEOUT_MS, `node ${this.name} to stop`);
    } catch {
      await this.kill();
    }
  }
}

/** Starts `count` nodes at once. */
export async function startCluster(count: number, redisUrl: string, prefix: string): Promise<ClusterNode[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => ClusterNode.start(String.fromCharCode(65 + i), redisUrl, prefix)),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = started.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(nodes.map((node) => node.kill()));
    throw (failure as PromiseRejectedResult).reason;
  }
  return nodes;
}

/** A typed client over `ws`, as `user` if given; reconnecting (quickly) only when asked. */
export function clusterClient(
  url: string | (() => string),
  options: { reconnect?: boolean; user?: string } = {},
): Client<ClusterContract> {
  const { user } = options;
  return createClient<ClusterContract>({
    url,
    WebSocket: WebSocket as never,
    ...(user === undefined ? {} : { auth: () => ({ user }) }),
    reconnect: options.reconnect === true ? { initialDelayMs: 50, maxDelayMs: 200 } : false,
    heartbeat: false,
    timeoutMs: 30_000,
  });
}

/** Resolves once the client is open. */
export function whenOpen(client: Client<ClusterContract>, timeoutMs = 5_000): Promise<void> {
  if (client.state === 'open') return Promise.resolve();
  let listener = (_state: string) => {};
  return within(
    new Promise<void>((resolve, reject) => {
      listener = (state) => {
        if (state === 'open') resolve();
        else if (state === 'closed') reject(new Error('the client closed before opening'));
      };
      client.on('state', listener);
    }),
    timeoutMs,
    'the client to open',
  ).finally(() => client.off('state', listener));
}
