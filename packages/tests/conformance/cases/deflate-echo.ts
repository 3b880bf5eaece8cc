// The shared body of categories 12 and 13: negotiate permessage-deflate, then send
// COUNT compressed messages of LEN units one at a time, each checked byte for byte.
import type { ConformanceCase, Profile } from '../case-types.js';
import { finishWith } from '../expectations.js';
import { type DeflateOffer, formatOffers } from '../permessage-deflate.js';
import { type Corpus, slicer } from './deflate-corpora.js';
import { expectEcho } from './echo-check.js';

/** Autobahn's (payload length, message count, wait seconds, auto-fragment size) table. */
export const MSG_SIZES: readonly (readonly [number, number, number, number])[] = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

/** `quick` sends this many messages per case instead of Autobahn's 1000. */
const QUICK_COUNT = 20;

export const DEFLATE_RULE =
  'RFC 7692 §5 (negotiation), §6.1/§6.2 (RSV1 on the first frame), §7.2.1/§7.2.2 (raw DEFLATE, 00 00 ff ff trailer)';

export function deflateEchoCase(o: {
  id: string;
  corpus: Corpus;
  offers: readonly DeflateOffer[];
  size: readonly [number, number, number, number];
  profile: Profile;
  rfc: string;
}): ConformanceCase {
  const [len, fullCount, waitSecs, fragment] = o.size;
  const count = o.profile === 'quick' ? QUICK_COUNT : fullCount;
  const kind = o.corpus.binary ? 'binary' : 'text';
  return {
    id: o.id,
    title: `Send ${count} compressed ${kind} messages of ${len} ${o.corpus.binary ? 'bytes' : 'chars'} (${o.corpus.name})${
      fragment ? `, auto-fragmented to ${fragment} octets` : ''
    }; offer "${formatOffers(o.offers)}"`,
    rfc: o.rfc,
    timeoutMs: Math.min(waitSecs * 1000 + 5000, 180_000),
    async run(ctx) {
      const c = await ctx.connect({ deflate: o.offers });
      // Autobahn: a server that declines the extension gets UNIMPLEMENTED (and a normal close).
      if (!c.deflate)
        return finishWith(
          c,
          'UNIMPLEMENTED',
          `The server did not accept permessage-deflate (offered "${formatOffers(o.offers)}")`,
        );
      const next = slicer(o.corpus, len);
      const deadline = Date.now() + waitSecs * 1000;
      let payloadBytes = 0;
      const sentBefore = c.bytesSent;
      for (let n = 0; n < count; n++) {
        const data = next();
        payloadBytes += data.length;
        const r = await expectEcho(
          c,
          () =>
            c.sendMessage(
              data,
              fragment ? { binary: o.corpus.binary, fragmentSize: fragment } : { binary: o.corpus.binary },
            ),
          { binary: o.corpus.binary, data },
          Math.max(1, deadline - Date.now()),
        );
        if (!r.ok)
          return finishWith(
            c,
            'FAILED',
            `message ${n + 1}/${count}: ${r.problem} (negotiated "${c.deflate.response}")`,
          );
      }
      const ratio = ((c.bytesSent - sentBefore) / Math.max(1, payloadBytes)) * 100;
      return finishWith(
        c,
        'OK',
        `${count} echoes received; negotiated "${c.deflate.response}"; our wire/payload ratio ${ratio.toFixed(1)}%`,
      );
    },
  };
}
