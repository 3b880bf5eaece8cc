// Category 2 — Pings/Pongs (RFC 6455 §5.5, §5.5.2, §5.5.3).
import type { ConformanceCase } from '../case-types.js';
import { failWith, NORMAL_CLOSE, pong } from '../expectations.js';
import { type FrameSpec, Opcode } from '../frame-codec.js';
import { scripted } from './scripted.js';

const SMALL_BINARY = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
const fe = (n: number): Buffer => Buffer.alloc(n, 0xfe);
const tenPings = (): FrameSpec[] =>
  Array.from({ length: 10 }, (_, i) => ({ opcode: Opcode.PING, payload: `payload-${i}` }));

// §5.5.2: on a Ping, an endpoint MUST send a Pong with identical application data,
// "as soon as is practical". §5.5.3 defines the Pong.
const PONG_RULE = 'RFC 6455 §5.5.2, §5.5.3';

export const category2: ConformanceCase[] = [
  scripted({
    id: '2.1',
    title: 'Send ping without payload',
    rfc: PONG_RULE,
    expect: { ok: [pong('')], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '2.2',
    title: 'Send ping with small text payload',
    rfc: PONG_RULE,
    expect: { ok: [pong('Hello, world!')], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING, payload: 'Hello, world!' }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '2.3',
    title: 'Send ping with small binary (non UTF-8) payload',
    rfc: PONG_RULE,
    expect: { ok: [pong(SMALL_BINARY)], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING, payload: SMALL_BINARY }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '2.4',
    title: 'Send ping with binary payload of 125 octets',
    rfc: `${PONG_RULE}; §5.5 (control payload ≤ 125 octets)`,
    expect: { ok: [pong(fe(125))], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING, payload: fe(125) }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '2.5',
    title: 'Send ping with binary payload of 126 octets',
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less" → fail, 1002.
    rfc: 'RFC 6455 §5.5, §7.1.7, §7.4.1 (1002)',
    expect: { ok: [], close: failWith(1002) },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING, payload: fe(126) }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '2.6',
    title: 'Send ping with binary payload of 125 octets, written octet by octet',
    rfc: `${PONG_RULE}; framing is independent of TCP segmentation (§5.2)`,
    expect: { ok: [pong(fe(125))], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING, payload: fe(125) }, { chopSize: 1 }),
    closeAfterMs: 2000,
  }),
  scripted({
    id: '2.7',
    title: 'Send unsolicited pong without payload',
    // §5.5.3: "A Pong frame MAY be sent unsolicited ... A response ... is not expected."
    rfc: 'RFC 6455 §5.5.3',
    expect: { ok: [], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PONG }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '2.8',
    title: 'Send unsolicited pong with payload',
    rfc: 'RFC 6455 §5.5.3',
    expect: { ok: [], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.PONG, payload: 'unsolicited pong payload' }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '2.9',
    title: 'Send unsolicited pong with payload, then ping with payload',
    rfc: PONG_RULE,
    expect: { ok: [pong('ping payload')], close: NORMAL_CLOSE },
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.PONG, payload: 'unsolicited pong payload' });
      void c.sendFrame({ opcode: Opcode.PING, payload: 'ping payload' });
    },
    closeAfterMs: 1000,
  }),
  // Answering every ping is more than §5.5.3 requires (it allows answering only the most
  // recent one), but Autobahn checks for it and so do we.
  scripted({
    id: '2.10',
    title: 'Send 10 pings with payload',
    rfc: `${PONG_RULE} (Autobahn expects all 10 pongs)`,
    expect: { ok: tenPings().map((f) => pong(f.payload ?? '')), close: NORMAL_CLOSE },
    send: (c) => {
      for (const f of tenPings()) void c.sendFrame(f);
    },
    closeAfterMs: 3000,
  }),
  scripted({
    id: '2.11',
    title: 'Send 10 pings with payload, written octet by octet',
    rfc: `${PONG_RULE} (Autobahn expects all 10 pongs)`,
    expect: { ok: tenPings().map((f) => pong(f.payload ?? '')), close: NORMAL_CLOSE },
    send: (c) => {
      for (const f of tenPings()) void c.sendFrame(f, { chopSize: 1 });
    },
    closeAfterMs: 3000,
  }),
];
