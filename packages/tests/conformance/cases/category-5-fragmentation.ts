// Category 5 — Fragmentation (RFC 6455 §5.4).
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConformanceCase } from '../case-types.js';
import { failWith, NORMAL_CLOSE, pong, text } from '../expectations.js';
import { type FrameSpec, Opcode } from '../frame-codec.js';
import type { RawClient, WriteOptions } from '../raw-client.js';
import { scripted } from './scripted.js';

const { TEXT, CONTINUATION: CONT, PING, PONG } = Opcode;
const FRAG_RULE = 'RFC 6455 §5.4 (fragmentation)';
// §5.4: "Control frames (see Section 5.5) MAY be injected in the middle of a fragmented message."
const INTERLEAVE_RULE = 'RFC 6455 §5.4 (control frames between fragments), §5.5.2';
// §5.4 / §5.2: a continuation with nothing to continue, or a new data frame inside a
// fragmented message, is a protocol error → _Fail the WebSocket Connection_ (1002).
const NOTHING_TO_CONTINUE = 'RFC 6455 §5.4, §5.2 (opcode 0 only continues a message), §7.4.1 (1002)';

const ONE_WRITE: WriteOptions = {};
const FRAME_WISE: WriteOptions = { sync: true };
const OCTET_WISE: WriteOptions = { chopSize: 1 };
const how = (w: WriteOptions): string =>
  w.chopSize ? 'octet-wise writes' : w.sync ? 'frame-wise writes' : 'one write';

const sendAll = (c: RawClient, frames: FrameSpec[], w: WriteOptions): void => {
  for (const f of frames) void c.sendFrame(f, w);
};

const twoFragments: FrameSpec[] = [
  { opcode: TEXT, fin: false, payload: 'fragment1' },
  { opcode: CONT, fin: true, payload: 'fragment2' },
];
const withPingInBetween: FrameSpec[] = [
  { opcode: TEXT, fin: false, payload: 'fragment1' },
  { opcode: PING, payload: 'ping payload' },
  { opcode: CONT, fin: true, payload: 'fragment2' },
];

function orphanContinuation(id: string, fin: boolean, w: WriteOptions): ConformanceCase {
  return scripted({
    id,
    title: `Send continuation frame (FIN = ${fin}) with nothing to continue, then a text message; ${how(w)}`,
    rfc: NOTHING_TO_CONTINUE,
    expect: { ok: [], close: failWith(1002) },
    send: (c) =>
      sendAll(
        c,
        [
          { opcode: CONT, fin, payload: 'non-continuation payload' },
          { opcode: TEXT, payload: 'Hello, world!' },
        ],
        w,
      ),
    killAfterMs: 1000,
  });
}

/** 5.19 / 5.20: a 5-fragment message with pings between, and a 1 s pause in the middle. */
function slowFragmentedMessage(id: string, w: WriteOptions): ConformanceCase {
  const fragments = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5'];
  const pings = ['pongme 1!', 'pongme 2!'];
  return scripted({
    id,
    title: `Send a text message in 5 fragments with a ping after fragment 2 and 4, pausing 1 s after the first ping; ${how(w)}`,
    // §5.5.2: pong "as soon as is practical" — i.e. without waiting for the message to complete.
    rfc: INTERLEAVE_RULE,
    expect: { ok: [pong(pings[0] ?? ''), pong(pings[1] ?? ''), text(fragments.join(''))], close: NORMAL_CLOSE },
    async send(c) {
      sendAll(
        c,
        [
          { opcode: TEXT, fin: false, payload: fragments[0] ?? '' },
          { opcode: CONT, fin: false, payload: fragments[1] ?? '' },
          { opcode: PING, payload: pings[0] ?? '' },
        ],
        w,
      );
      await sleep(1000);
      if (c.state === 'closed') return;
      sendAll(
        c,
        [
          { opcode: CONT, fin: false, payload: fragments[2] ?? '' },
          { opcode: CONT, fin: false, payload: fragments[3] ?? '' },
          { opcode: PING, payload: pings[1] ?? '' },
          { opcode: CONT, fin: true, payload: fragments[4] ?? '' },
        ],
        w,
      );
      c.closeAfter(1000);
    },
  });
}

export const category5: ConformanceCase[] = [
  // §5.5: "Control frames themselves MUST NOT be fragmented."
  scripted({
    id: '5.1',
    title: 'Send ping fragmented into 2 fragments',
    rfc: 'RFC 6455 §5.5 (control frames MUST NOT be fragmented), §7.4.1 (1002)',
    expect: { ok: [], close: failWith(1002) },
    send: (c) =>
      sendAll(
        c,
        [
          { opcode: PING, fin: false, payload: 'fragment1' },
          { opcode: CONT, fin: true, payload: 'fragment2' },
        ],
        ONE_WRITE,
      ),
    killAfterMs: 1000,
  }),
  scripted({
    id: '5.2',
    title: 'Send pong fragmented into 2 fragments',
    rfc: 'RFC 6455 §5.5 (control frames MUST NOT be fragmented), §7.4.1 (1002)',
    expect: { ok: [], close: failWith(1002) },
    send: (c) =>
      sendAll(
        c,
        [
          { opcode: PONG, fin: false, payload: 'fragment1' },
          { opcode: CONT, fin: true, payload: 'fragment2' },
        ],
        ONE_WRITE,
      ),
    killAfterMs: 1000,
  }),
  ...[ONE_WRITE, FRAME_WISE, OCTET_WISE].map((w, i) =>
    scripted({
      id: `5.${3 + i}`,
      title: `Send text message fragmented into 2 fragments; ${how(w)}`,
      rfc: FRAG_RULE,
      expect: { ok: [text('fragment1fragment2')], close: NORMAL_CLOSE },
      send: (c) => sendAll(c, twoFragments, w),
      closeAfterMs: 1000,
    }),
  ),
  ...[ONE_WRITE, FRAME_WISE, OCTET_WISE].map((w, i) =>
    scripted({
      id: `5.${6 + i}`,
      title: `Send text message in 2 fragments with a ping in between; ${how(w)}`,
      rfc: INTERLEAVE_RULE,
      expect: { ok: [pong('ping payload'), text('fragment1fragment2')], close: NORMAL_CLOSE },
      send: (c) => sendAll(c, withPingInBetween, w),
      closeAfterMs: 1000,
    }),
  ),
  orphanContinuation('5.9', true, ONE_WRITE),
  orphanContinuation('5.10', true, FRAME_WISE),
  orphanContinuation('5.11', true, OCTET_WISE),
  orphanContinuation('5.12', false, ONE_WRITE),
  orphanContinuation('5.13', false, FRAME_WISE),
  orphanContinuation('5.14', false, OCTET_WISE),
  scripted({
    id: '5.15',
    title:
      'Send text message in 2 fragments, then a continuation (FIN = false) with nothing to continue, then a text message; one write',
    rfc: NOTHING_TO_CONTINUE,
    // Strict: the first (valid) message is echoed before the server fails.
    expect: { ok: [text('fragment1fragment2')], nonStrict: [], close: failWith(1002) },
    send: (c) =>
      sendAll(
        c,
        [
          { opcode: TEXT, fin: false, payload: 'fragment1' },
          { opcode: CONT, fin: true, payload: 'fragment2' },
          { opcode: CONT, fin: false, payload: 'fragment3' },
          { opcode: TEXT, fin: true, payload: 'fragment4' },
        ],
        ONE_WRITE,
      ),
    killAfterMs: 1000,
  }),
  ...[false, true].map((fin, i) =>
    scripted({
      id: `5.${16 + i}`,
      title: `Twice: continuation (FIN = ${fin}) with nothing to continue, then a text message in 2 fragments`,
      rfc: NOTHING_TO_CONTINUE,
      expect: { ok: [], close: failWith(1002) },
      send: (c) => {
        for (let k = 0; k < 2; k++) {
          sendAll(
            c,
            [
              { opcode: CONT, fin, payload: 'fragment1' },
              { opcode: TEXT, fin: false, payload: 'fragment2' },
              { opcode: CONT, fin: true, payload: 'fragment3' },
            ],
            ONE_WRITE,
          );
        }
      },
      killAfterMs: 1000,
    }),
  ),
  scripted({
    id: '5.18',
    title: 'Send text message in 2 fragments, both with the text opcode',
    // §5.4: fragments after the first MUST use opcode 0 (continuation).
    rfc: 'RFC 6455 §5.4 (later fragments carry opcode 0), §7.4.1 (1002)',
    expect: { ok: [], close: failWith(1002) },
    send: (c) =>
      sendAll(
        c,
        [
          { opcode: TEXT, fin: false, payload: 'fragment1' },
          { opcode: TEXT, fin: true, payload: 'fragment2' },
        ],
        ONE_WRITE,
      ),
    killAfterMs: 1000,
  }),
  slowFragmentedMessage('5.19', ONE_WRITE),
  slowFragmentedMessage('5.20', FRAME_WISE),
];
