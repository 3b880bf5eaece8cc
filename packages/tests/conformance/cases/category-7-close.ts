// Category 7 — Close handling (RFC 6455 §5.5.1, §7). We (the client) start every
// closing handshake here; the server must answer with a Close (§5.5.1: "If an endpoint
// receives a Close frame and did not previously send a Close frame, the endpoint MUST
// send a Close frame in response") and then close TCP (§7.1.1). A wrong close code in
// its answer fails these cases, as in Autobahn.
import type { ConformanceCase } from '../case-types.js';
import { type Expected, type ExpectedClose, NORMAL_CLOSE, text } from '../expectations.js';
import { closePayload, Opcode } from '../frame-codec.js';
import { type ScriptedCase, scripted } from './scripted.js';

const CLOSE_RULE = 'RFC 6455 §5.5.1, §7.1.2–§7.1.5';
/** §7.1.7 + §7.4.1: protocol error (1002) or just dropping TCP. */
const protocolError: ExpectedClose = { closedByMe: true, codes: [1002], requireClean: false };

// §7.4.1 defines 1000–1003, 1007–1011 (1004 reserved; 1005/1006 never on the wire);
// §7.4.2: 3000–3999 registered, 4000–4999 private use — all valid to send. The server
// may answer with 1000 or echo the code (§5.5.1 "typically echos").
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
// §7.4.2: 0–999 unused, 1004–1006 reserved / MUST NOT be sent, 1016–2999 reserved for
// future revisions (Autobahn's current list). Not tested either way: 1012–1014, registered
// with IANA since; 1015, which like 1005/1006 must never appear in a Close frame (§7.4.1).
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

/** 7.1.2–7.1.5: we close, then keep sending; the server must ignore what follows our Close. */
const frameAfterClose = (id: string, title: string, expect: { ok: Expected[] }, send: ScriptedCase['send']) =>
  scripted({
    id,
    title,
    rfc: `${CLOSE_RULE}; §5.5.1 ("after sending a Close frame, the endpoint MUST NOT send any further data frames"; the server ignores what follows)`,
    expect: { ok: expect.ok, close: NORMAL_CLOSE, suppressClose: true, wrongCodeFails: true },
    send,
    killAfterMs: 1000,
  });

export const category7: ConformanceCase[] = [
  scripted({
    id: '7.1.1',
    title: 'Send a message followed by a close frame',
    rfc: CLOSE_RULE,
    expect: { ok: [text('Hello World!')], close: NORMAL_CLOSE, wrongCodeFails: true },
    send: (c) => void c.sendFrame({ opcode: Opcode.TEXT, payload: 'Hello World!' }),
    killAfterMs: 1000,
  }),
  frameAfterClose('7.1.2', 'Send two close frames', { ok: [] }, (c) => {
    void c.sendClose({ code: 1000 });
    void c.sendFrame({ opcode: Opcode.CLOSE });
  }),
  frameAfterClose('7.1.3', 'Send a ping after a close frame (no pong expected)', { ok: [] }, (c) => {
    void c.sendClose({ code: 1000 });
    void c.sendFrame({ opcode: Opcode.PING });
  }),
  frameAfterClose('7.1.4', 'Send a text message after a close frame (ignored)', { ok: [] }, (c) => {
    void c.sendClose({ code: 1000 });
    void c.sendFrame({ opcode: Opcode.TEXT, payload: 'Hello World!' });
  }),
  frameAfterClose('7.1.5', 'Send message fragment 1, then a close frame, then fragment 2', { ok: [] }, (c) => {
    void c.sendFrame({ opcode: Opcode.TEXT, fin: false, payload: 'fragment1' });
    void c.sendClose({ code: 1000 });
    void c.sendFrame({ opcode: Opcode.CONTINUATION, fin: true, payload: 'fragment2' });
  }),
  scripted({
    id: '7.1.6',
    title: 'Send a 256 KiB message, then a small message, a close frame and a ping, back to back',
    // Informational: whether the echo is written before the Close is processed is up to the implementation.
    rfc: `${CLOSE_RULE} (outcome implementation-defined)`,
    expect: {
      ok: [text('Hello World!')],
      nonStrict: [],
      close: NORMAL_CLOSE,
      suppressClose: true,
      informational: true,
    },
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, payload: 'BAsd7&jh23', repeatTo: 256 * 1024 });
      void c.sendFrame({ opcode: Opcode.TEXT, payload: 'Hello World!' });
      void c.sendClose({ code: 1000 });
      void c.sendFrame({ opcode: Opcode.PING });
    },
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.3.1',
    title: 'Send a close frame with payload length 0 (no code, no reason)',
    // §5.5.1: the body is optional; §7.1.5: the status is then 1005 (not on the wire).
    rfc: `${CLOSE_RULE}; §7.1.5`,
    expect: { ok: [], close: NORMAL_CLOSE, suppressClose: true, wrongCodeFails: true },
    send: (c) => void c.sendClose(),
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.3.2',
    title: 'Send a close frame with payload length 1',
    // §5.5.1: a body, if present, MUST start with a 2-byte code → a 1-byte body is a protocol error.
    rfc: 'RFC 6455 §5.5.1 (body starts with a 2-byte code), §7.4.1 (1002)',
    expect: { ok: [], close: protocolError, suppressClose: true, wrongCodeFails: true },
    send: (c) => void c.sendClose({ payload: Buffer.from('a') }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.3.3',
    title: 'Send a close frame with payload length 2 (regular close with a code)',
    rfc: CLOSE_RULE,
    expect: { ok: [], close: NORMAL_CLOSE, suppressClose: true, wrongCodeFails: true },
    send: (c) => void c.sendClose({ code: 1000 }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.3.4',
    title: 'Send a close frame with close code and close reason',
    rfc: CLOSE_RULE,
    expect: { ok: [], close: NORMAL_CLOSE, suppressClose: true, wrongCodeFails: true },
    send: (c) => void c.sendClose({ code: 1000, reason: 'Hello World!' }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.3.5',
    title: 'Send a close frame with close code and a close reason of maximum length (123)',
    rfc: `${CLOSE_RULE}; §5.5 (125-byte control payload)`,
    expect: { ok: [], close: NORMAL_CLOSE, suppressClose: true, wrongCodeFails: true },
    send: (c) => void c.sendClose({ code: 1000, reason: '*'.repeat(123) }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.3.6',
    title: 'Send a close frame with close code and a close reason too long (124): payload 126 octets',
    rfc: 'RFC 6455 §5.5 (control payload ≤ 125 octets), §7.4.1 (1002)',
    expect: { ok: [], close: protocolError, suppressClose: true, wrongCodeFails: true },
    send: (c) => void c.sendClose({ code: 1000, reason: '*'.repeat(124) }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '7.5.1',
    title: 'Send a close frame with an invalid UTF-8 reason',
    // §5.5.1: the reason is UTF-8; §8.1 invalid UTF-8 fails the connection → 1007 (or 1002).
    rfc: 'RFC 6455 §5.5.1 (reason is UTF-8), §8.1, §7.4.1 (1007/1002)',
    expect: {
      ok: [],
      close: { closedByMe: true, codes: [1002, 1007], requireClean: false },
      suppressClose: true,
      wrongCodeFails: true,
    },
    send: (c) =>
      void c.sendClose({ payload: closePayload(1000, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex')) }),
    killAfterMs: 1000,
  }),
  ...VALID_CODES.map((code, i) =>
    scripted({
      id: `7.7.${i + 1}`,
      title: `Send close with valid close code ${code}`,
      rfc: 'RFC 6455 §7.4.1, §7.4.2 (valid codes), §5.5.1 (answer with 1000 or echo)',
      expect: { ok: [], close: { closedByMe: true, codes: [1000, code], requireClean: true }, wrongCodeFails: true },
      send: (c) => void c.sendClose({ code }),
      killAfterMs: 1000,
    }),
  ),
  ...INVALID_CODES.map((code, i) =>
    scripted({
      id: `7.9.${i + 1}`,
      title: `Send close with invalid close code ${code}`,
      // §7.4.2 + §7.1.7: a code outside the allowed ranges is a protocol error → 1002 or drop.
      rfc: 'RFC 6455 §7.4.2 (reserved/invalid codes), §7.1.7, §7.4.1 (1002)',
      expect: { ok: [], close: protocolError, wrongCodeFails: true },
      send: (c) => void c.sendClose({ code }),
      killAfterMs: 1000,
    }),
  ),
  ...[5000, 65535].map((code, i) =>
    scripted({
      id: `7.13.${i + 1}`,
      title: `Send close with close code ${code} (outside the ranges of §7.4.2)`,
      rfc: 'RFC 6455 §7.4.2 (undefined by the spec: informational)',
      expect: {
        ok: [],
        close: { closedByMe: true, codes: [1000, code, 1002], requireClean: false },
        informational: true,
      },
      send: (c) => void c.sendClose({ code }),
      killAfterMs: 1000,
    }),
  ),
];
