// All cases, in Autobahn order, for a given profile.
import type { ConformanceCase, Profile } from '../case-types.js';
import { category1 } from './category-1-framing.js';
import { category2 } from './category-2-pings.js';
import { category3 } from './category-3-reserved-bits.js';
import { category4 } from './category-4-opcodes.js';
import { category5 } from './category-5-fragmentation.js';
import { category6 } from './category-6-utf8.js';
import { category7 } from './category-7-close.js';
import { category9 } from './category-9-limits.js';
import { category10 } from './category-10-autofragment.js';
import { category12 } from './category-12-deflate-payloads.js';
import { category13 } from './category-13-deflate-params.js';
import { category14 } from './category-14-deflate-final-block.js';

export const CATEGORY_NAMES: Record<string, string> = {
  '1': 'Framing',
  '2': 'Pings/Pongs',
  '3': 'Reserved Bits',
  '4': 'Opcodes',
  '5': 'Fragmentation',
  '6': 'UTF-8 Handling',
  '7': 'Close Handling',
  '9': 'Limits/Performance',
  '10': 'Auto-Fragmentation',
  '12': 'WebSocket Compression (payloads)',
  '13': 'WebSocket Compression (parameters)',
  '14': 'WebSocket Compression (final blocks; not in Autobahn)',
};

export function allCases(profile: Profile): ConformanceCase[] {
  return [
    ...category1,
    ...category2,
    ...category3,
    ...category4,
    ...category5,
    ...category6,
    ...category7,
    ...category9(profile),
    ...category10,
    ...category12(profile),
    ...category13(profile),
    ...category14,
  ];
}
