// Category 4 — Reserved opcodes. RFC 6455 §5.2: %x3-7 are reserved for further
// non-control frames, %xB-F for further control frames; §5.2 ("If an unknown opcode is
// received, the receiving endpoint MUST _Fail the WebSocket Connection_") → 1002 or drop.
import type { ConformanceCase } from '../case-types.js';
import { failWith, text } from '../expectations.js';
import { Opcode } from '../frame-codec.js';
import type { WriteOptions } from '../raw-client.js';
import { scripted } from './scripted.js';

const HELLO = 'Hello, world!';
const RFC = 'RFC 6455 §5.2 (reserved opcodes), §7.1.7, §7.4.1 (1002)';

function opcodeCases(sub: 1 | 2, first: number): ConformanceCase[] {
  const kind = sub === 1 ? 'non-control' : 'control';
  // Same five shapes for both groups, as in Autobahn: bare frame; frame with payload;
  // text, frame, ping (in one write); text, frame with payload, ping; same octet-wise.
  const shapes: { withPayload: boolean; afterText: boolean; write: WriteOptions }[] = [
    { withPayload: false, afterText: false, write: {} },
    { withPayload: true, afterText: false, write: {} },
    { withPayload: false, afterText: true, write: {} },
    { withPayload: true, afterText: true, write: {} },
    { withPayload: true, afterText: true, write: { chopSize: 1 } },
  ];
  return shapes.map((shape, i) => {
    const opcode = first + i;
    const payload = shape.withPayload ? (shape.afterText ? HELLO : 'reserved opcode payload') : undefined;
    const title = `${shape.afterText ? 'Send small text message, then ' : 'Send '}frame with reserved ${kind} opcode ${opcode}${
      shape.withPayload ? ' and non-empty payload' : ''
    }${shape.afterText ? ', then ping' : ''}${shape.write.chopSize ? '; octet-wise writes' : ''}`;
    return scripted({
      id: `4.${sub}.${i + 1}`,
      title,
      rfc: RFC,
      // With a leading valid message: strict = echo first, non-strict = failed before the echo.
      expect: shape.afterText
        ? { ok: [text(HELLO)], nonStrict: [], close: failWith(1002) }
        : { ok: [], close: failWith(1002) },
      send: (c) => {
        if (shape.afterText) void c.sendFrame({ opcode: Opcode.TEXT, payload: HELLO }, shape.write);
        void c.sendFrame(payload === undefined ? { opcode } : { opcode, payload }, shape.write);
        if (shape.afterText) void c.sendFrame({ opcode: Opcode.PING }, shape.write);
      },
      killAfterMs: 1000,
    });
  });
}

export const category4: ConformanceCase[] = [...opcodeCases(1, 3), ...opcodeCases(2, 11)];
