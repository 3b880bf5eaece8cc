// Category 1 — Framing: unfragmented text (1.1.x) and binary (1.2.x) messages whose
// lengths straddle the 7-bit / 16-bit / 64-bit payload length encodings (RFC 6455 §5.2).
import type { ConformanceCase } from '../case-types.js';
import { binary, NORMAL_CLOSE, text, watch } from '../expectations.js';
import { Opcode, repeatTo } from '../frame-codec.js';

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536] as const;

function framingCase(sub: 1 | 2, index: number, length: number, chopSize?: number): ConformanceCase {
  const isText = sub === 1;
  const kind = isText ? 'text' : 'binary';
  return {
    id: `1.${sub}.${index}`,
    title: `Send ${kind} message with payload of length ${length}${chopSize ? `, written in chops of ${chopSize} octets` : ''}`,
    // §5.2: 0–125 fit the 7-bit length, 126 selects a 16-bit length, 127 a 64-bit one;
    // §5.6: the echo must be byte-identical; §7.1.2: then a clean close with 1000.
    rfc: 'RFC 6455 §5.2 (payload length), §5.6, §7.1.2',
    async run(ctx) {
      const c = await ctx.connect();
      // Autobahn's payloads: '*' for text, 0xFE for binary.
      const payload = repeatTo(isText ? '*' : Buffer.from([0xfe]), length);
      const outcome = watch(c, { ok: [isText ? text(payload) : binary(payload)], close: NORMAL_CLOSE });
      void c.sendFrame({ opcode: isText ? Opcode.TEXT : Opcode.BINARY, payload }, chopSize ? { chopSize } : {});
      // Autobahn gives the small cases 1 s and the 64 KiB ones 10 s.
      c.killAfter(length >= 65535 ? 10_000 : 1000);
      return outcome;
    },
  };
}

export const category1: ConformanceCase[] = [1, 2].flatMap((sub) => [
  ...LENGTHS.map((len, i) => framingCase(sub as 1 | 2, i + 1, len)),
  // 1.x.8: 65536 bytes written in 997-byte pieces; the server must be TCP-chunking agnostic.
  framingCase(sub as 1 | 2, 8, 65536, 997),
]);
