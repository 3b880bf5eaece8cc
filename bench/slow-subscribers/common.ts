// Shared by the slow-subscriber benchmark's runner, server and load process: the contract, the
// scenarios, what the server reports, and the control requests. Scripts are named relative to
// bench/ (where bench/lib/proc.ts resolves them).

import http from 'node:http';
import { channel, defineContract } from '@switchboard/contract';
import { z } from 'zod';
import type { Contender } from '../echo/contenders.js';

/** seq: 1, 2, … per run; t: publish time (nowMs); pad: fills the message up to MESSAGE_BYTES of JSON. */
export const Tick = z.object({ seq: z.number(), t: z.number(), pad: z.string() });
export type Tick = z.infer<typeof Tick>;

export const contract = defineContract({
  procedures: {},
  channels: { ticks: channel({ params: z.object({}), message: Tick }) },
});

/** Size of a message's JSON (`data` in the envelope); the frame adds about 80 bytes of envelope. */
export const MESSAGE_BYTES = 200;
/** `{"seq":123456,"t":1763779000000.123,"pad":""}` is 45 bytes. */
export const PAD = 'x'.repeat(MESSAGE_BYTES - 45);

/** The subscribe request every peer sends (the channel's params are empty). */
export const SUBSCRIBE = '{"type":"subscribe","id":1,"name":"ticks","params":{}}';

export type Policy = 'queue' | 'drop-oldest' | 'latest';
export const POLICIES: readonly Policy[] = ['queue', 'drop-oldest', 'latest'];

export interface Scenario extends Contender {
  policy: Policy;
  /** false: the baseline, no stalled subscriber. */
  stalled: boolean;
}

/** In print order: the baseline first (its policy does not matter: nobody is slow), then each policy. */
export function scenarios(heartbeat: boolean): Scenario[] {
  const env = (policy: Policy) => ({ SLOW_POLICY: policy, SLOW_HEARTBEAT: heartbeat ? 'on' : 'off' });
  const scenario = (id: string, label: string, policy: Policy, stalled: boolean): Scenario => ({
    id,
    label,
    script: 'slow-subscribers/server.ts',
    env: env(policy),
    protocol: 'ws',
    policy,
    stalled,
  });
  return [scenario('baseline', 'no stalled (queue)', 'queue', false), ...POLICIES.map((p) => scenario(p, p, p, true))];
}

/** One reading inside the server process. */
export interface Sample {
  /** ms since publishing started (negative: before). */
  atMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Buffers (the frames waiting for slow sockets live here, not in the heap). */
  arrayBuffersBytes: number;
  /** Kernel memory of all TCP sockets of the machine (/proc/net/sockstat), NaN off Linux. */
  tcpKernelBytes: number;
  connections: number;
  dropped: number;
  coalesced: number;
  slowDisconnects: number;
  /** server.metrics() event-loop p99 over the last second. */
  loopP99Ms: number;
}

/** What the server reports once it has published for the run's duration. */
export interface PublishReport {
  published: number;
  /** nowMs() of the first and last publish. */
  t0: number;
  t1: number;
  /** Server CPU (user + system µs) while publishing. */
  cpuUs: number;
  /** Longest a tick of the publisher came late, ms (the event loop was busy). */
  maxTickLateMs: number;
  /** Publishes that the server rejected (should be 0). */
  errors: number;
  /** After a forced GC, just before the first publish. */
  start: Sample;
  /** Every sampleMs while publishing, the last one at the end. */
  samples: Sample[];
}

/** `GET /sample?gc=1`: a reading now, after a forced GC. */
export type SampleReply = Sample & { gcForced: boolean };

/** An HTTP request to the server's control endpoint; the body parsed as JSON. */
export function control(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data += chunk;
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : null });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
