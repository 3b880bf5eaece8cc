import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { within } from '../support/wait.js';
import type { ServerCommand, ServerEvent } from './fixtures/process-contract.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'packages/tests/resilience/fixtures/server-process.ts';
/** tsx compiles the server's sources on start: allow for a loaded machine. */
const START_TIMEOUT_MS = 15_000;

/** What every child server prints first. */
type Listening = { event: 'listening'; port: number; pid: number };

/**
 * A Switchboard server in a child process (fixtures/server-process.ts unless another
 * script is given, with its own event and command types), run with tsx:
 * what it prints is kept in `events`, commands go to its stdin, and `kill()` ends it
 * with SIGKILL — no close frames, no drain, its memory (broker, idempotency window) gone.
 */
export class ChildServer<Event extends { event: string } = ServerEvent, Command = ServerCommand> extends EventEmitter {
  readonly events: Event[] = [];
  readonly #child: ChildProcess;
  #stderr = '';
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port = 0;
  pid = 0;

  private constructor(script: string, args: string[]) {
    super();
    this.#child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const event = JSON.parse(buffered.slice(0, newline)) as Event;
        buffered = buffered.slice(newline + 1);
        this.events.push(event);
        this.emit('event', event);
        newline = buffered.indexOf('\n');
      }
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.#child.stdin?.on('error', () => {}); // a killed child's stdin: EPIPE is expected
    this.#exit = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Starts the child and resolves once it listens. */
  static async start<E extends { event: string } = ServerEvent, C = ServerCommand>(
    args: string[] = [],
    script = SCRIPT,
  ): Promise<ChildServer<E, C>> {
    const server = new ChildServer<E, C>(script, args);
    const listening = await within(
      Promise.race([
        server.next((event) => event.event === 'listening'),
        server.#exit.then(({ code, signal }) => {
          throw new Error(`the server process exited (${code ?? signal}) before listening:\n${server.#stderr}`);
        }),
      ]),
      START_TIMEOUT_MS,
      'the server process to listen',
    );
    if (listening.event !== 'listening') throw new Error('unreachable');
    server.port = (listening as unknown as Listening).port;
    server.pid = (listening as unknown as Listening).pid;
    return server;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The first event (already seen or still to come) that matches, unbounded: wrap it in `within`. */
  next(match: (event: Event) => boolean): Promise<Event> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const listener = (event: Event) => {
        if (!match(event)) return;
        this.off('event', listener);
        resolve(event);
      };
      this.on('event', listener);
    });
  }

  /** Resolves once `check` holds over the events seen so far, bounded by `timeoutMs`. */
  until(check: (events: readonly Event[]) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return within(
      this.next(() => check(this.events)).then(() => {}),
      timeoutMs,
      what,
    );
  }

  send(command: Command): void {
    this.#child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** SIGTERM, as a container's stop sends it: resolves with how the process exited (bounded). */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.#child.kill('SIGTERM');
    return within(this.#exit, 15_000, 'the server process to exit after SIGTERM');
  }

  /** SIGKILL: the process dies at once, mid-whatever. Resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.alive) this.#child.kill('SIGKILL');
    await within(this.#exit, 5_000, 'the killed server process to exit');
  }

  /**
   * Graceful: server.close(), then the process ends by itself (nothing left running). One
   * that does not is killed, and the test fails: no process outlives its test.
   */
  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.alive) return this.#exit;
    this.send({ cmd: 'exit' } as Command); // every child script takes 'exit'
    try {
      return await within(this.#exit, 10_000, 'the server process to close and exit by itself');
    } catch (error) {
      this.#child.kill('SIGKILL');
      throw error;
    }
  }
}
