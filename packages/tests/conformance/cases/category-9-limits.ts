// Category 9 — Limits / performance: big messages, many fragments, tiny TCP writes and
// round-trip loops. Nothing here is a protocol corner; the RFC requirement is simply that
// any legal framing of any legal size is reassembled and echoed intact (RFC 6455 §5.2,
// §5.4, §5.6). The server under test must accept 16 MiB messages (9.1.6 / 9.2.6).
import type { ConformanceCase, Profile } from '../case-types.js';
import { finishWith } from '../expectations.js';
import { Opcode, repeatTo } from '../frame-codec.js';
import { expectEcho } from './echo-check.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const RFC = 'RFC 6455 §5.2, §5.4, §5.6 (any legal framing/size reassembled and echoed intact)';

/**
 * Autobahn's sizes in `full`. `quick` keeps every case id but scales the heavy ones down
 * (message sizes ÷16, round-trip counts ÷10) so the suite fits a unit-test run.
 */
function sizes(profile: Profile) {
  const quick = profile === 'quick';
  const s = (n: number): number => (quick ? Math.max(1, Math.floor(n / 16)) : n);
  return {
    // 9.1 / 9.2: one message, increasing size; Autobahn's waits (s).
    single: [
      [s(64 * KiB), 10],
      [s(256 * KiB), 10],
      [s(1 * MiB), 20],
      [s(4 * MiB), 40],
      [s(8 * MiB), 80],
      [s(16 * MiB), 100],
    ] as const,
    // 9.3 / 9.4: one 4 MiB message, increasing fragment size.
    fragmentedTotal: s(4 * MiB),
    fragmentSizes: [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB],
    // 9.5 / 9.6: one 1 MiB frame written in increasing TCP chop sizes.
    choppedTotal: s(1 * MiB),
    chopSizes: [64, 128, 256, 512, 1024, 2048],
    // 9.7 / 9.8: round trips of increasing size; Autobahn's waits (s).
    roundTrips: quick ? 100 : 1000,
    roundTripSizes: [
      [0, 60],
      [16, 60],
      [64, 60],
      [256, 120],
      [1024, 240],
      [4096, 480],
    ] as const,
  };
}

/** Hard timeout: Autobahn's wait plus margin, capped so the suite stays bounded. */
const budget = (waitSecs: number): number => Math.min(waitSecs * 1000 + 5000, 120_000);

const TEXT_PATTERN = 'BAsd7&jh23';
const BINARY_PATTERN = Buffer.from([0x00, 0xfe, 0x23, 0xfa, 0xf0]); // Autobahn's 9.2 / 9.6 payload

function messageCase(
  id: string,
  title: string,
  waitSecs: number,
  isBinary: boolean,
  payload: () => Buffer,
  send: (c: Parameters<typeof expectEcho>[0], data: Buffer) => Promise<void>,
): ConformanceCase {
  return {
    id,
    title,
    rfc: RFC,
    timeoutMs: budget(waitSecs),
    async run(ctx) {
      const c = await ctx.connect();
      const data = payload();
      const r = await expectEcho(c, () => send(c, data), { binary: isBinary, data }, waitSecs * 1000);
      return finishWith(
        c,
        r.ok ? 'OK' : 'FAILED',
        r.ok ? `Echo of ${data.length} bytes received after ${Math.round(r.ms)} ms` : r.problem,
      );
    },
  };
}

export function category9(profile: Profile): ConformanceCase[] {
  const z = sizes(profile);
  const cases: ConformanceCase[] = [];
  for (const isBinary of [false, true]) {
    const kind = isBinary ? 'binary' : 'text';
    const pattern = isBinary ? BINARY_PATTERN : TEXT_PATTERN;
    const opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
    const sub = isBinary ? 2 : 1;
    z.single.forEach(([len, wait], i) => {
      cases.push(
        messageCase(
          `9.${sub}.${i + 1}`,
          `Send ${kind} message with payload of length ${len}`,
          wait,
          isBinary,
          () => repeatTo(pattern, len),
          (c, data) => c.sendFrame({ opcode, payload: data }),
        ),
      );
    });
  }
  for (const isBinary of [false, true]) {
    const kind = isBinary ? 'binary' : 'text';
    const sub = isBinary ? 4 : 3;
    z.fragmentSizes.forEach((frag, i) => {
      const size = Math.min(frag, z.fragmentedTotal);
      cases.push(
        messageCase(
          `9.${sub}.${i + 1}`,
          `Send fragmented ${kind} message of length ${z.fragmentedTotal} in fragments of ${size}`,
          100,
          isBinary,
          () => Buffer.alloc(z.fragmentedTotal, isBinary ? 0xfe : 0x2a), // '*' for text, as Autobahn
          (c, data) => c.sendMessage(data, { binary: isBinary, fragmentSize: size }),
        ),
      );
    });
  }
  for (const isBinary of [false, true]) {
    const kind = isBinary ? 'binary' : 'text';
    const pattern = isBinary ? BINARY_PATTERN : TEXT_PATTERN;
    const opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
    const sub = isBinary ? 6 : 5;
    z.chopSizes.forEach((chop, i) => {
      cases.push(
        messageCase(
          `9.${sub}.${i + 1}`,
          `Send ${kind} message of length ${z.choppedTotal} written in TCP chops of ${chop} octets`,
          // Autobahn waits 1000 s here; we cap it (see budget()).
          100,
          isBinary,
          () => repeatTo(pattern, z.choppedTotal),
          (c, data) => c.sendFrame({ opcode, payload: data }, { chopSize: chop }),
        ),
      );
    });
  }
  for (const isBinary of [false, true]) {
    const kind = isBinary ? 'binary' : 'text';
    const sub = isBinary ? 8 : 7;
    z.roundTripSizes.forEach(([len, wait], i) => {
      cases.push({
        id: `9.${sub}.${i + 1}`,
        title: `Send ${z.roundTrips} ${kind} messages of payload size ${len}, one at a time (round-trip time)`,
        rfc: RFC,
        timeoutMs: budget(wait),
        async run(ctx) {
          const c = await ctx.connect();
          const data = Buffer.alloc(len, isBinary ? 0xfe : 0x2a);
          const opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
          const deadline = Date.now() + wait * 1000;
          let total = 0;
          for (let n = 0; n < z.roundTrips; n++) {
            const left = deadline - Date.now();
            const r = await expectEcho(
              c,
              () => c.sendFrame({ opcode, payload: data }),
              { binary: isBinary, data },
              Math.max(1, left),
            );
            if (!r.ok) return finishWith(c, 'FAILED', `message ${n + 1}/${z.roundTrips}: ${r.problem}`);
            total += r.ms;
          }
          return finishWith(
            c,
            'OK',
            `${z.roundTrips} echoes received, mean round trip ${(total / z.roundTrips).toFixed(3)} ms`,
          );
        },
      });
    });
  }
  return cases;
}
