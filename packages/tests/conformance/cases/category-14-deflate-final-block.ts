// Category 14 — not in Autobahn: compressed messages whose DEFLATE data ends with a block
// that has BFINAL set. RFC 7692 §7.2.1 allows it and §7.2.3.4 shows one ("Hello" in a final
// block, then the empty stored block's 00). The final block ends the sender's DEFLATE
// stream, so the next message starts a new one: a server that keeps inflating the ended
// stream delivers every later message empty. Our client sends with context takeover, so
// the messages between final blocks also refer back to one another.
import type { ConformanceCase } from '../case-types.js';
import { finishWith } from '../expectations.js';
import { DEFAULT_OFFER, type DeflateEnding, formatOffers } from '../permessage-deflate.js';
import { corpora, slicer } from './deflate-corpora.js';
import { expectEcho } from './echo-check.js';

const COUNT = 10;
const LENGTH = 1024;
const RFC = 'RFC 7692 §7.2.1 (BFINAL blocks allowed), §7.2.3.4 (a message ending with a final block), §7.2.2';

function finalBlockCase(id: string, endings: string, ending: (n: number) => DeflateEnding): ConformanceCase {
  return {
    id,
    title: `Send ${COUNT} compressed text messages of ${LENGTH} chars (json); ${endings}`,
    rfc: RFC,
    timeoutMs: 15_000,
    async run(ctx) {
      const offers = [DEFAULT_OFFER];
      const c = await ctx.connect({ deflate: offers });
      if (!c.deflate)
        return finishWith(
          c,
          'UNIMPLEMENTED',
          `The server did not accept permessage-deflate (offered "${formatOffers(offers)}")`,
        );
      const json = corpora()[0];
      if (!json) throw new Error('JSON corpus missing');
      const next = slicer(json, LENGTH);
      for (let n = 0; n < COUNT; n++) {
        const data = next();
        const r = await expectEcho(
          c,
          () => c.sendMessage(data, { binary: false, ending: ending(n) }),
          { binary: false, data },
          5_000,
        );
        if (!r.ok) return finishWith(c, 'FAILED', `message ${n + 1}/${COUNT} (${ending(n)}): ${r.problem}`);
      }
      return finishWith(c, 'OK', `${COUNT} echoes received; negotiated "${c.deflate.response}"`);
    },
  };
}

export const category14: ConformanceCase[] = [
  finalBlockCase('14.1.1', 'the first ends with a final block (BFINAL), the rest with a sync flush', (n) =>
    n === 0 ? 'final' : 'sync',
  ),
  finalBlockCase('14.1.2', 'every other one ends with a final block (BFINAL), the rest with a sync flush', (n) =>
    n % 2 === 0 ? 'final' : 'sync',
  ),
  finalBlockCase('14.1.3', 'each ends with a final block (BFINAL)', () => 'final'),
];
