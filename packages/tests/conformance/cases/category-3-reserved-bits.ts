// Category 3 — Reserved bits. No extension is negotiated here, so RFC 6455 §5.2:
// "RSV1, RSV2, RSV3: MUST be 0 unless an extension is negotiated that defines meanings
// for non-zero values. If a nonzero value is received and none of the negotiated
// extensions defines the meaning of such a nonzero value, the receiving endpoint MUST
// _Fail the WebSocket Connection_." → close 1002 (§7.4.1) or drop TCP.
import type { ConformanceCase } from '../case-types.js';
import { failWith, text } from '../expectations.js';
import { Opcode } from '../frame-codec.js';
import { scripted } from './scripted.js';

const RFC = 'RFC 6455 §5.2 (RSV must be 0), §7.1.7, §7.4.1 (1002)';
const HELLO = 'Hello, world!';

// Cases that first send a valid message: strict = its echo arrives before the server
// fails; non-strict = the server fails before echoing it (still conformant).
const echoThenFail = { ok: [text(HELLO)], nonStrict: [], close: failWith(1002) };

export const category3: ConformanceCase[] = [
  scripted({
    id: '3.1',
    title: 'Send small text message with RSV = 1',
    rfc: RFC,
    expect: { ok: [], close: failWith(1002) },
    send: (c) => void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO, rsv: 1 }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '3.2',
    title: 'Send small text message, then again with RSV = 2, then ping',
    rfc: RFC,
    expect: echoThenFail,
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO });
      void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO, rsv: 2 });
      void c.sendFrame({ opcode: Opcode.PING });
    },
    killAfterMs: 1000,
  }),
  scripted({
    id: '3.3',
    title: 'Send small text message, then again with RSV = 3, then ping; frame-wise writes',
    rfc: RFC,
    expect: echoThenFail,
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO }, { sync: true });
      void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO, rsv: 3 }, { sync: true });
      void c.sendFrame({ opcode: Opcode.PING }, { sync: true });
    },
    killAfterMs: 1000,
  }),
  scripted({
    id: '3.4',
    title: 'Send small text message, then again with RSV = 4, then ping; octet-wise writes',
    // RSV = 4 is RSV1, the bit permessage-deflate would use — not negotiated here.
    rfc: `${RFC}; RFC 7692 §6 (RSV1 only with the extension)`,
    expect: echoThenFail,
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO }, { chopSize: 1 });
      void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO, rsv: 4 }, { chopSize: 1 });
      void c.sendFrame({ opcode: Opcode.PING }, { chopSize: 1 });
    },
    killAfterMs: 1000,
  }),
  scripted({
    id: '3.5',
    title: 'Send small binary message with RSV = 5',
    rfc: RFC,
    expect: { ok: [], close: failWith(1002) },
    send: (c) =>
      void c.sendFrame({
        opcode: Opcode.BINARY,
        payload: Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]),
        rsv: 5,
      }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '3.6',
    title: 'Send ping with RSV = 6',
    // Autobahn's 3.6 actually puts RSV = 6 on a *binary* frame despite its title; we send
    // the ping the title describes, which also covers the control-frame path.
    rfc: RFC,
    expect: { ok: [], close: failWith(1002) },
    send: (c) => void c.sendFrame({ opcode: Opcode.PING, payload: HELLO, rsv: 6 }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '3.7',
    title: 'Send close with RSV = 7',
    rfc: RFC,
    expect: { ok: [], close: failWith(1002) },
    send: (c) => void c.sendFrame({ opcode: Opcode.CLOSE, rsv: 7 }),
    killAfterMs: 1000,
  }),
];
