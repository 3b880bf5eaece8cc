import { describe, expect, it } from 'vitest';
import { SmallMap } from '../../src/rpc/small-map.js';

function entries<K, V>(map: SmallMap<K, V>): V[] {
  const values: V[] = [];
  map.forEach((value, into) => {
    into.push(value);
  }, values);
  return values;
}

describe('SmallMap', () => {
  it('holds one entry without a Map, and behaves as a Map with more', () => {
    const map = new SmallMap<string, number>();
    expect(map.size).toBe(0);
    expect(map.get('a')).toBeUndefined();
    map.set('a', 1);
    map.set('a', 2); // replaces
    expect([map.size, map.get('a'), map.get('b')]).toEqual([1, 2, undefined]);
    map.set('b', 3);
    map.set('c', 4);
    expect([map.size, map.get('a'), map.get('b'), map.get('c')]).toEqual([3, 2, 3, 4]);
    expect(entries(map).sort()).toEqual([2, 3, 4]);
    expect(map.delete('b')).toBe(true);
    expect(map.delete('b')).toBe(false);
    expect(entries(map).sort()).toEqual([2, 4]);
  });

  it('deletes its one entry, and only by its key', () => {
    const map = new SmallMap<object, string>();
    const one = {};
    map.set(one, 'x');
    expect(map.delete({})).toBe(false);
    expect(map.delete(one)).toBe(true);
    expect([map.size, map.get(one), entries(map)]).toEqual([0, undefined, []]);
    map.set({}, 'y'); // a new first entry after the last went
    expect(map.size).toBe(1);
  });

  it('lists its keys in a new array, with one entry and with more', () => {
    const map = new SmallMap<string, number>();
    expect(map.keys()).toEqual([]);
    map.set('a', 1);
    const one = map.keys();
    map.delete('a'); // the array listed before is not changed by it
    expect([one, map.keys()]).toEqual([['a'], []]);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.keys()).toEqual(['a', 'b']);
  });
});
