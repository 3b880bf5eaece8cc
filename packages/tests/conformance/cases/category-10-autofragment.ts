// Category 10 — Misc: auto-fragmentation. A 64 KiB text message sent as 51 frames of at
// most 1300 octets (1 text + 50 continuation) must come back as the same message.
import type { ConformanceCase } from '../case-types.js';
import { finishWith } from '../expectations.js';
import { expectEcho } from './echo-check.js';

const SIZE = 65536;
const FRAGMENT = 1300;

export const category10: ConformanceCase[] = [
  {
    id: '10.1.1',
    title: `Send text message with payload of length ${SIZE}, auto-fragmented into frames of ${FRAGMENT} octets`,
    // §5.4: "a receiver MUST be prepared to accept fragmented messages" whatever the fragment sizes;
    // the echo's framing is the server's choice (§5.4: intermediaries/endpoints may refragment).
    rfc: 'RFC 6455 §5.4, §5.6',
    async run(ctx) {
      const c = await ctx.connect();
      const data = Buffer.alloc(SIZE, 0x2a);
      const framesBefore = c.frames.length;
      const r = await expectEcho(
        c,
        () => c.sendMessage(data, { binary: false, fragmentSize: FRAGMENT }),
        { binary: false, data },
        10_000,
      );
      const echoFrames = c.frames.length - framesBefore;
      // Autobahn checks its own frame counts (what it sent); ours are fixed by construction:
      // floor(65536 / 1300) = 50 continuation frames + 1 text frame.
      return finishWith(
        c,
        r.ok ? 'OK' : 'FAILED',
        r.ok ? `Echo received (server used ${echoFrames} frame(s))` : r.problem,
      );
    },
  },
];
