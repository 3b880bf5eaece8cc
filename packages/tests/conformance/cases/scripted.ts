// The common shape of an Autobahn case: open, send a scripted sequence, arm
// closeAfter/killAfter, and judge the observed events against the expectation.
import type { ConformanceCase } from '../case-types.js';
import { type Expectation, watch } from '../expectations.js';
import type { RawClient } from '../raw-client.js';

export interface ScriptedCase {
  id: string;
  title: string;
  rfc: string;
  expect: Expectation;
  /** Sends the case's frames; may wait between steps (then it arms its own timers). */
  send(c: RawClient): void | Promise<void>;
  /** Autobahn's closeAfter: start the closing handshake after this many ms. */
  closeAfterMs?: number;
  /** Autobahn's killAfter: drop TCP after this many ms. */
  killAfterMs?: number;
  timeoutMs?: number;
}

export function scripted(def: ScriptedCase): ConformanceCase {
  const c: ConformanceCase = {
    id: def.id,
    title: def.title,
    rfc: def.rfc,
    async run(ctx) {
      const client = await ctx.connect();
      const outcome = watch(client, def.expect);
      // Like Autobahn's onOpen: sending is fire-and-forget; the timers start right away.
      void Promise.resolve()
        .then(() => def.send(client))
        .catch(() => undefined);
      if (def.closeAfterMs !== undefined) client.closeAfter(def.closeAfterMs);
      if (def.killAfterMs !== undefined) client.killAfter(def.killAfterMs);
      return outcome;
    },
  };
  if (def.timeoutMs !== undefined) c.timeoutMs = def.timeoutMs;
  return c;
}
