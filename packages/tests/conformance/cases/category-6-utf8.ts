// Category 6 — UTF-8 handling. RFC 6455 §5.6: text payloads are UTF-8; §8.1: "When an
// endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not,
// in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_";
// §7.4.1: status 1007 for data inconsistent with the message type. Validity is RFC 3629.
import type { ConformanceCase } from '../case-types.js';
import { type Expectation, failWith, NORMAL_CLOSE, text, timeout, watch } from '../expectations.js';
import { encodeFrame, Opcode } from '../frame-codec.js';
import type { RawClient } from '../raw-client.js';
import { scripted } from './scripted.js';
import { KOSME, utf8Groups } from './utf8-sequences.js';

const VALID_RULE = 'RFC 6455 §5.6, §5.4 (fragments may split code points)';
const INVALID_RULE = 'RFC 6455 §8.1 (MUST fail on invalid UTF-8), §7.4.1 (1007); RFC 3629';
const FAIL_FAST_RULE = `${INVALID_RULE}; §8.1 + §5.4: detect per fragment/chunk, not only at message end`;

/** Sends `bytes` as a text message split into frames of `size` octets. */
function sendFragmented(c: RawClient, bytes: Buffer, size: number): void {
  for (let off = 0; off < bytes.length; off += size) {
    void c.sendFrame({
      opcode: off === 0 ? Opcode.TEXT : Opcode.CONTINUATION,
      fin: off + size >= bytes.length,
      payload: bytes.subarray(off, off + size),
    });
  }
}

const invalidUtf8 = (): Expectation => ({ ok: [], close: failWith(1007), wrongEndpointFails: true });

const HELLO_UTF8 = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!', 'utf8');
// Autobahn 6.3.x: κόσμε, then U+D800 encoded as ED A0 80 (a surrogate), then "edited".
const SURROGATE_PAYLOAD = Buffer.concat([KOSME, Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('edited')]);
// Autobahn 6.4.x: κόσμε, then F4 90 80 80 (would be U+110000: out of range), then "edited".
// The 12th octet (F4) is still a valid prefix; the 13th (90) makes it invalid.
const OUT_OF_RANGE_PAYLOAD = Buffer.concat([KOSME, Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('edited')]);

/**
 * 6.4.x: send a valid part, wait 1 s, send the part that makes the message invalid, wait
 * 1 s, send the rest. Strict (OK) = the server fails right after the invalid part (we
 * record "timeout A" only); NON-STRICT = it waits for the end of the message ("A", "B").
 * `asFrames` sends three frames; otherwise three chops of one frame (§5.2 framing).
 */
function failFastCase(id: string, title: string, parts: [Buffer, Buffer, Buffer], asFrames: boolean): ConformanceCase {
  return {
    id,
    title,
    rfc: FAIL_FAST_RULE,
    async run(ctx) {
      const c = await ctx.connect();
      const outcome = watch(c, {
        ok: [timeout('A')],
        nonStrict: [timeout('A'), timeout('B')],
        close: failWith(1007),
        wrongEndpointFails: true,
      });
      let pieces: Buffer[];
      if (asFrames) {
        pieces = parts.map((p, i) =>
          encodeFrame({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, fin: i === 2, payload: p }),
        );
      } else {
        const whole = encodeFrame({ opcode: Opcode.TEXT, payload: Buffer.concat(parts) });
        const header = whole.length - (parts[0].length + parts[1].length + parts[2].length);
        const cut1 = header + parts[0].length;
        const cut2 = cut1 + parts[1].length;
        pieces = [whole.subarray(0, cut1), whole.subarray(cut1, cut2), whole.subarray(cut2)];
      }
      // Each pause ends early if the connection goes away; the marks record whether the
      // connection was still open at the end of each 1 s pause.
      const pause = (): Promise<boolean> => c.waitFor(() => c.state === 'closed', 1000);
      void c.sendRaw(pieces[0] ?? Buffer.alloc(0));
      await pause();
      if (c.mark('A')) {
        void c.sendRaw(pieces[1] ?? Buffer.alloc(0));
        await pause();
        if (c.mark('B')) {
          void c.sendRaw(pieces[2] ?? Buffer.alloc(0));
          c.killAfter(1000);
        }
      }
      return outcome;
    },
  };
}

const fixedCases: ConformanceCase[] = [
  scripted({
    id: '6.1.1',
    title: 'Send text message of length 0',
    rfc: VALID_RULE,
    expect: { ok: [text('')], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.TEXT, payload: '' }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.1.2',
    title: 'Send fragmented text message, 3 fragments each of length 0',
    rfc: VALID_RULE,
    expect: { ok: [text('')], close: NORMAL_CLOSE },
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, fin: false, payload: '' });
      void c.sendFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: '' });
      void c.sendFrame({ opcode: Opcode.CONTINUATION, fin: true, payload: '' });
    },
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.1.3',
    title: 'Send fragmented text message, 3 fragments, first and last of length 0',
    rfc: VALID_RULE,
    expect: { ok: [text('middle frame payload')], close: NORMAL_CLOSE },
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, fin: false, payload: '' });
      void c.sendFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: 'middle frame payload' });
      void c.sendFrame({ opcode: Opcode.CONTINUATION, fin: true, payload: '' });
    },
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.2.1',
    title: 'Send a valid UTF-8 text message in one fragment',
    rfc: VALID_RULE,
    expect: { ok: [text(HELLO_UTF8)], close: NORMAL_CLOSE },
    send: (c) => void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO_UTF8 }),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.2.2',
    title: 'Send a valid UTF-8 text message in two fragments, split on a code point boundary',
    rfc: VALID_RULE,
    expect: { ok: [text(HELLO_UTF8)], close: NORMAL_CLOSE },
    send: (c) => {
      void c.sendFrame({ opcode: Opcode.TEXT, fin: false, payload: 'Hello-µ@ßöä' });
      void c.sendFrame({ opcode: Opcode.CONTINUATION, fin: true, payload: 'üàá-UTF-8!!' });
    },
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.2.3',
    title: 'Send a valid UTF-8 text message in fragments of 1 octet (splitting code points)',
    rfc: VALID_RULE,
    expect: { ok: [text(HELLO_UTF8)], close: NORMAL_CLOSE },
    send: (c) => sendFragmented(c, HELLO_UTF8, 1),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.2.4',
    title: 'Send a valid UTF-8 text message (κόσμε) in fragments of 1 octet',
    rfc: VALID_RULE,
    expect: { ok: [text(KOSME)], close: NORMAL_CLOSE },
    send: (c) => sendFragmented(c, KOSME, 1),
    closeAfterMs: 1000,
  }),
  scripted({
    id: '6.3.1',
    title: 'Send invalid UTF-8 text message unfragmented (contains a UTF-16 surrogate)',
    rfc: INVALID_RULE,
    expect: invalidUtf8(),
    send: (c) => void c.sendFrame({ opcode: Opcode.TEXT, payload: SURROGATE_PAYLOAD }),
    killAfterMs: 1000,
  }),
  scripted({
    id: '6.3.2',
    title: 'Send invalid UTF-8 text message in fragments of 1 octet',
    rfc: INVALID_RULE,
    expect: invalidUtf8(),
    send: (c) => sendFragmented(c, SURROGATE_PAYLOAD, 1),
    killAfterMs: 1000,
  }),
  failFastCase(
    '6.4.1',
    'Invalid UTF-8 in 3 frames: valid frame, (1 s) frame that makes it invalid, (1 s) rest',
    [KOSME, OUT_OF_RANGE_PAYLOAD.subarray(11, 15), OUT_OF_RANGE_PAYLOAD.subarray(15)],
    true,
  ),
  failFastCase(
    '6.4.2',
    'Like 6.4.1, but the invalid frame is the single octet that breaks the sequence',
    [OUT_OF_RANGE_PAYLOAD.subarray(0, 12), OUT_OF_RANGE_PAYLOAD.subarray(12, 13), OUT_OF_RANGE_PAYLOAD.subarray(13)],
    true,
  ),
  failFastCase(
    '6.4.3',
    'Like 6.4.1, but one frame written in 3 chops with 1 s pauses',
    [KOSME, OUT_OF_RANGE_PAYLOAD.subarray(11, 15), OUT_OF_RANGE_PAYLOAD.subarray(15)],
    false,
  ),
  failFastCase(
    '6.4.4',
    'Like 6.4.2, but one frame written in 3 chops with 1 s pauses',
    [OUT_OF_RANGE_PAYLOAD.subarray(0, 12), OUT_OF_RANGE_PAYLOAD.subarray(12, 13), OUT_OF_RANGE_PAYLOAD.subarray(13)],
    false,
  ),
];

// 6.5.x – 6.23.x: one unfragmented text message per test vector; valid ones are echoed,
// invalid ones must fail the connection with 1007 (Autobahn kills after 0.5 s).
const vectorCases: ConformanceCase[] = utf8Groups().flatMap((group, g) =>
  group.vectors.map((v, i) =>
    scripted({
      id: `6.${5 + g}.${i + 1}`,
      title: `${group.title}: ${v.valid ? 'valid' : 'invalid'} payload 0x${v.bytes.toString('hex')}`,
      rfc: v.valid ? 'RFC 6455 §5.6; RFC 3629 (valid UTF-8)' : INVALID_RULE,
      expect: v.valid ? { ok: [text(v.bytes)], close: NORMAL_CLOSE } : invalidUtf8(),
      send: (c) => void c.sendFrame({ opcode: Opcode.TEXT, payload: v.bytes }),
      killAfterMs: 500,
    }),
  ),
);

export const category6: ConformanceCase[] = [...fixedCases, ...vectorCases];
