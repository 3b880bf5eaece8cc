// `npm run example:cluster`: Redis, three Switchboard nodes on their own ports, and a tiny
// round-robin proxy in front. Two clients come in through the proxy and land on different
// nodes; what one publishes reaches the other. Then the first client's node is killed: it
// comes back through the proxy on another node and resumes where it was, nothing lost.
//
// REDIS_URL: use that Redis (else a throwaway redis-server is started, if installed).
// KEEP=1: keep the nodes and the proxy running afterwards for your own clients (Ctrl-C stops).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@switchboard/client';
import WebSocket from 'ws';
import { RedisServer } from '../../packages/tests/support/redis-server.js';
import type { ChatContract } from './contract.js';
import { startRoundRobinProxy } from './proxy.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface NodeProcess {
  name: string;
  port: number;
  child: ChildProcess;
}

/** Starts examples/cluster/node.ts in its own process and waits (bounded) for its port. */
function startNode(name: string, redisUrl: string, log: (line: string) => void): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster/node.ts'], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl, NODE_NAME: name, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${name} did not start within 20 s`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited (${code}) before listening`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('{"node"')) return log(line);
      clearTimeout(timer);
      resolve({ name, port: (JSON.parse(line) as { port: number }).port, child });
    });
  });
}

function stopNode(node: NodeProcess, signal: NodeJS.Signals): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => node.child.kill('SIGKILL'), 5_000);
    node.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    node.child.kill(signal);
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface DemoResult {
  sent: string[];
  received: string[];
  gaps: number;
  movedFrom: string;
  movedTo: string;
}

export async function runClusterDemo(
  log: (line: string) => void = console.log,
  options: { redisUrl?: string; keep?: boolean } = {},
): Promise<DemoResult> {
  const redis = options.redisUrl === undefined ? await RedisServer.start() : undefined;
  const redisUrl = options.redisUrl ?? (redis as RedisServer).url;
  const nodes: NodeProcess[] = [];
  const clients: Array<Client<ChatContract>> = [];
  let proxy: Awaited<ReturnType<typeof startRoundRobinProxy>> | undefined;
  try {
    nodes.push(...(await Promise.all(['a', 'b', 'c'].map((name) => startNode(name, redisUrl, log)))));
    proxy = await startRoundRobinProxy({
      port: Number(process.env.PORT ?? 0),
      targets: () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null).map((n) => n.port),
    });
    log(`redis ${redisUrl}; nodes ${nodes.map((n) => `${n.name} on :${n.port}`).join(', ')}; proxy on :${proxy.port}`);

    const url = `ws://127.0.0.1:${proxy.port}`;
    const connect = (user: string) => {
      const client = createClient<ChatContract>({
        url: `${url}/?user=${user}`,
        WebSocket: WebSocket as never,
        reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
      });
      clients.push(client);
      return client;
    };
    const alice = connect('alice');
    const aliceNode = await alice.call('node.name', undefined);
    const bob = connect('bob');
    const bobNode = await bob.call('node.name', undefined);
    log(`alice is on node ${aliceNode}, bob on node ${bobNode}`);

    const received: string[] = [];
    let gaps = 0;
    const lobby = alice.subscribe(
      'chat.room',
      { room: 'lobby' },
      {
        onMessage: (message, meta) => {
          received.push(message.text);
          log(`  alice got "${message.text}" (published on node ${message.via}, position ${meta.position})`);
        },
        onGap: () => {
          gaps++;
          log('  alice was told of a gap');
        },
      },
    );
    await lobby.ready;

    const sent: string[] = [];
    const send = async (text: string) => {
      sent.push(text);
      await bob.call('chat.send', { room: 'lobby', text });
    };
    for (const text of ['hello', 'from', 'bob']) await send(text);
    await until(() => received.length === 3, 'alice to get the first three');

    const dead = nodes.find((n) => n.name === aliceNode) as NodeProcess;
    log(`killing node ${dead.name} (SIGKILL) while bob keeps writing`);
    await stopNode(dead, 'SIGKILL');
    for (const text of ['are', 'you', 'there?']) await send(text);
    await until(() => received.length === sent.length, 'alice to catch up');
    const movedTo = await alice.call('node.name', undefined);
    log(
      `alice resumed on node ${movedTo}: ${received.length} of ${sent.length} messages, in order: ` +
        `${received.join(' ') === sent.join(' ') ? 'yes' : 'NO'}, gaps: ${gaps}`,
    );

    if (options.keep) {
      log(`running: connect to ${url}/?user=<name> (Ctrl-C stops)`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return { sent, received, gaps, movedFrom: aliceNode, movedTo };
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    await proxy?.close();
    await Promise.all(nodes.map((node) => stopNode(node, 'SIGTERM')));
    await redis?.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runClusterDemo(console.log, {
    ...(process.env.REDIS_URL === undefined ? {} : { redisUrl: process.env.REDIS_URL }),
    keep: process.env.KEEP === '1',
  });
}
