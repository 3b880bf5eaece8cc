import { describe, expect, it } from 'vitest';
import { comparePositions, formatPosition, isPosition, MAX_POSITION_LENGTH, parsePosition } from '../src/position.js';

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
