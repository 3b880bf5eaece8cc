// Category 13 — WebSocket compression with different parameter offers (RFC 7692 §7.1),
// all on the JSON corpus. A server may accept an offer, add parameters the RFC lets it
// add, or decline; our client checks the response and then honours it: a fresh inflater
// per message under server_no_context_takeover (so a server that keeps its window is
// caught), an inflater with exactly server_max_window_bits, and a deflater reset per
// message under client_no_context_takeover.
import type { ConformanceCase, Profile } from '../case-types.js';
import type { DeflateOffer } from '../permessage-deflate.js';
import { corpora } from './deflate-corpora.js';
import { DEFLATE_RULE, deflateEchoCase, MSG_SIZES } from './deflate-echo.js';

const base: DeflateOffer = { clientNoContextTakeover: true, clientMaxWindowBits: true };

/** Autobahn's offers for 13.1 … 13.7, as (server_no_context_takeover, server_max_window_bits). */
const OFFERS: { offers: DeflateOffer[]; rfc: string }[] = [
  { offers: [base], rfc: '§7.1' },
  { offers: [{ ...base, serverNoContextTakeover: true }], rfc: '§7.1.1.1 (server_no_context_takeover)' },
  { offers: [{ ...base, serverMaxWindowBits: 8 }], rfc: '§7.1.2.1 (server_max_window_bits=8)' },
  { offers: [{ ...base, serverMaxWindowBits: 15 }], rfc: '§7.1.2.1 (server_max_window_bits=15)' },
  { offers: [{ ...base, serverNoContextTakeover: true, serverMaxWindowBits: 8 }], rfc: '§7.1.1.1, §7.1.2.1' },
  { offers: [{ ...base, serverNoContextTakeover: true, serverMaxWindowBits: 15 }], rfc: '§7.1.1.1, §7.1.2.1' },
  {
    offers: [
      { ...base, serverNoContextTakeover: true, serverMaxWindowBits: 8 },
      { ...base, serverNoContextTakeover: true },
      base,
    ],
    rfc: '§5 (several offers, in preference order), §7.1.1.1, §7.1.2.1',
  },
];

export function category13(profile: Profile): ConformanceCase[] {
  const json = corpora()[0];
  if (!json) throw new Error('JSON corpus missing');
  return OFFERS.flatMap((o, j) =>
    MSG_SIZES.map((size, i) =>
      deflateEchoCase({
        id: `13.${j + 1}.${i + 1}`,
        corpus: json,
        offers: o.offers,
        size,
        profile,
        rfc: `${DEFLATE_RULE}; RFC 7692 ${o.rfc}`,
      }),
    ),
  );
}
