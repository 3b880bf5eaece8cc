import { describe, expect, it } from 'vitest';
import {
  comparePositions,
  formatPosition,
  isPosition,
  MAX_POSITION_LENGTH,
  offsetInEpoch,
  parsePosition,
} from '../src/position.js';

// Positions are read and written here only; server, brokers and client use these.

describe('isPosition', () => {
  it.each(['e:0', '3f9c2a1b:42', 'a1b2.0:7', 'a:b:9', `e:${Number.MAX_SAFE_INTEGER}`, 'e:007'])('accepts %s', (p) => {
    expect(isPosition(p)).toBe(true);
  });

  it.each([
    ['no colon', 'e42'],
    ['no epoch', ':42'],
    ['no offset', 'e:'],
    ['a negative offset', 'e:-1'],
    ['an exponent', 'e:1e3'],
    ['a hex offset', 'e:0x10'],
    ['a space', 'e: 1'],
    ['a fraction', 'e:1.5'],
    ['an offset past 2^53 - 1', `e:${2 ** 53}`],
    ['an offset of 128 nines', `e:${'9'.repeat(MAX_POSITION_LENGTH - 2)}`],
    ['too long a position', `${'e'.repeat(MAX_POSITION_LENGTH - 1)}:1`],
    ['a number', 42],
  ])('refuses %s', (_what, p) => {
    expect(isPosition(p)).toBe(false);
  });
});

describe('parsePosition', () => {
  it('splits at the last colon: the epoch may hold colons', () => {
    expect(parsePosition('a:b:9')).toEqual({ epoch: 'a:b', offset: 9 });
    expect(parsePosition('3f9c2a1b.0:42')).toEqual({ epoch: '3f9c2a1b.0', offset: 42 });
  });

  it.each(['e:-1', 'e:1e3', 'e: 1', 'e:', ':1', 'e1'])(
    'reads %s as no position, as every part of the project does',
    (text) => {
      expect(parsePosition(text)).toBeUndefined();
    },
  );

  it('reads what formatPosition writes', () => {
    expect(parsePosition(formatPosition('e.1', 7))).toEqual({ epoch: 'e.1', offset: 7 });
  });
});

describe('comparePositions', () => {
  it('orders positions of one epoch, and refuses to order two epochs', () => {
    expect(comparePositions({ epoch: 'e', offset: 1 }, { epoch: 'e', offset: 2 })).toBeLessThan(0);
    expect(comparePositions({ epoch: 'e', offset: 2 }, { epoch: 'e', offset: 2 })).toBe(0);
    expect(comparePositions({ epoch: 'e', offset: 3 }, { epoch: 'e', offset: 2 })).toBeGreaterThan(0);
    expect(comparePositions({ epoch: 'e', offset: 1 }, { epoch: 'f', offset: 2 })).toBeUndefined();
  });
});

describe('offsetInEpoch', () => {
  it('reads the offset of a position of that epoch', () => {
    expect(offsetInEpoch('e:0', 'e')).toBe(0);
    expect(offsetInEpoch('3f9c2a1b.4:42', '3f9c2a1b.4')).toBe(42);
    expect(offsetInEpoch('a:b:9', 'a:b')).toBe(9);
  });

  it.each([
    ['another epoch', 'f:1', 'e'],
    ['an epoch that only starts the same', 'ee:1', 'e'],
    ['an epoch that is a prefix of the real one', 'e:1:2', 'e'],
    ['no offset', 'e:', 'e'],
    ['a negative offset', 'e:-1', 'e'],
    ['not a position', 'e', 'e'],
    ['an offset past 2^53 - 1', `e:${2 ** 53}`, 'e'],
  ])('is -1 for %s', (_what, text, epoch) => {
    expect(offsetInEpoch(text, epoch)).toBe(-1);
  });

  it('agrees with parsePosition on every position it reads', () => {
    for (const text of ['e:0', 'x.1:77', 'a:b:c:5', `z:${Number.MAX_SAFE_INTEGER}`]) {
      const parsed = parsePosition(text);
      expect(parsed).toBeDefined();
      expect(offsetInEpoch(text, parsed?.epoch ?? '')).toBe(parsed?.offset);
    }
  });
});
