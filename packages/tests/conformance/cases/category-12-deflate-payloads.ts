// Category 12 — WebSocket compression with different payloads: Autobahn's default offer
// ("permessage-deflate; client_no_context_takeover; client_max_window_bits"), five kinds
// of data (12.1 … 12.5), eighteen size / fragmentation combinations each.
import type { ConformanceCase, Profile } from '../case-types.js';
import { DEFAULT_OFFER } from '../permessage-deflate.js';
import { corpora } from './deflate-corpora.js';
import { DEFLATE_RULE, deflateEchoCase, MSG_SIZES } from './deflate-echo.js';

export function category12(profile: Profile): ConformanceCase[] {
  return corpora().flatMap((corpus, j) =>
    MSG_SIZES.map((size, i) =>
      deflateEchoCase({
        id: `12.${j + 1}.${i + 1}`,
        corpus,
        offers: [DEFAULT_OFFER],
        size,
        profile,
        // Auto-fragmentation splits the compressed payload (RFC 7692 §6.1: RSV1 on the first
        // fragment only; §7.2.3.1 shows such a fragmented compressed message).
        rfc: `${DEFLATE_RULE}; RFC 6455 §5.4`,
      }),
    ),
  );
}
