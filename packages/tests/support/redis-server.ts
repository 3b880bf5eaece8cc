import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A real `redis-server` for tests and benchmarks: a free loopback port, no persistence
 * (`--save '' --appendonly no`), stopped by its own pid. Every wait is bounded.
 *
 *   const redis = await RedisServer.start();   // redis.url = redis://127.0.0.1:<port>
 *   await redis.kill();                        // SIGKILL: gone with everything it held
 *   await redis.restart();                     // same port, empty
 *   await redis.stop();
 */

/** The binary: `REDIS_SERVER` if set, else Debian's. */
export const REDIS_SERVER_PATH = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const PORT_ATTEMPTS = 5;

let warned = false;

/**
 * Whether Redis-backed tests can run here. A missing binary fails under CI=true (no suite
 * may skip there) and is a loud warning locally, where the tests are then skipped.
 */
export function redisServerAvailable(): boolean {
  if (existsSync(REDIS_SERVER_PATH)) return true;
  const message =
    `${REDIS_SERVER_PATH} is missing: the Redis tests cannot run ` +
    `(apt-get install -y redis-server, or set REDIS_SERVER to the binary)`;
  if (process.env.CI === 'true') throw new Error(message);
  if (!warned) {
    warned = true;
    console.warn(`\n${'!'.repeat(100)}\n!! SKIPPING: ${message}\n${'!'.repeat(100)}\n`);
  }
  return false;
}

/** A port that was free a moment ago (the server retries with another if it is taken meanwhile). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #dir: string;
  port: number;

  private constructor(port: number) {
    this.port = port;
    this.#dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  }

  /** Starts a server on a free loopback port; resolves once it accepts connections. */
  static async start(): Promise<RedisServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const server = new RedisServer(await freePort());
      try {
        await server.#launch();
        return server;
      } catch (error) {
        lastError = error;
        rmSync(server.#dir, { recursive: true, force: true });
      }
    }
    throw lastError;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  #launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.#dir,
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--loglevel',
      'notice',
    ];
    const child = spawn(REDIS_SERVER_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        process.off('exit', killOnExit);
        resolve();
      });
      child.once('error', () => resolve());
    });
    let output = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`redis-server did not start within ${READY_TIMEOUT_MS} ms:\n${output}`));
      }, READY_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stdout?.resume(); // keep draining, or a full pipe would stall the server
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.#exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (timedOut) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }

  /** Ends the server at once (SIGKILL): like a crash, with no persistence everything is lost. */
  kill(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  /** Starts it again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The redis-server of a test file, once started. */
export interface RedisServerHandle {
  readonly url: string;
  readonly port: number;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * Starts one redis-server for the calling test file (beforeAll) and stops it after
 * (afterAll). `available` is false where the binary is missing (and then CI fails).
 */
export function useRedisServer(): { available: boolean; redis: RedisServerHandle } {
  const available = redisServerAvailable();
  let server: RedisServer | undefined;
  const started = (): RedisServer => {
    if (server === undefined) throw new Error('the redis-server is not started (use it inside a test)');
    return server;
  };
  if (available) {
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterAll(async () => {
      await server?.stop();
    });
  }
  const redis: RedisServerHandle = {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    kill: () => started().kill(),
    restart: () => started().restart(),
  };
  return { available, redis };
}
