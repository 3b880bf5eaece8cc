import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deque } from '../src/deque.js';

describe('Deque', () => {
  it('is first in, first out, across the ring wrapping and growing', () => {
    const deque = new Deque<number>();
    expect([deque.length, deque.peek(), deque.peekLast(), deque.shift()]).toEqual([0, undefined, undefined, undefined]);
    for (let i = 0; i < 6; i++) deque.push(i);
    expect([deque.shift(), deque.shift(), deque.shift()]).toEqual([0, 1, 2]);
    for (let i = 6; i < 20; i++) deque.push(i); // wraps, then grows past 8 slots
    expect([deque.length, deque.peek(), deque.peekLast(), deque.at(1), deque.at(17), deque.at(-1)]).toEqual([
      17,
      3,
      19,
      4,
      undefined,
      undefined,
    ]);
    expect([...deque]).toEqual(Array.from({ length: 17 }, (_, i) => i + 3));
    expect(deque.drain()).toHaveLength(17);
    expect(deque.length).toBe(0);
  });

  it('inserts in the middle and replaces in place', () => {
    const deque = new Deque<string>();
    for (const item of ['a', 'c', 'd']) deque.push(item);
    deque.shift();
    deque.insert(0, 'b'); // before the oldest
    deque.insert(3, 'e'); // at the end
    deque.insert(2, 'x');
    deque.set(2, 'y');
    expect([...deque]).toEqual(['b', 'c', 'y', 'd', 'e']);
    expect(() => deque.set(5, 'z')).toThrow(RangeError);
    expect(() => deque.insert(6, 'z')).toThrow(RangeError);
  });

  it('lets go of its slots: none when empty, half when a quarter full', () => {
    const deque = new Deque<object>();
    for (let i = 0; i < 1024; i++) deque.push({});
    expect(deque.capacity).toBe(1024);
    while (deque.length > 100) deque.shift();
    expect(deque.capacity).toBeLessThanOrEqual(256);
    while (deque.length > 0) deque.shift();
    expect(deque.capacity).toBe(0);
  });

  it('behaves as an array used as a queue, for any sequence of operations', () => {
    const operation = fc.oneof(
      fc.record({ op: fc.constant('push' as const), value: fc.integer() }),
      fc.record({ op: fc.constant('shift' as const) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.integer() }),
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer() }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
        const deque = new Deque<number>();
        const model: number[] = [];
        for (const step of operations) {
          if (step.op === 'push') {
            deque.push(step.value);
            model.push(step.value);
          } else if (step.op === 'shift') {
            expect(deque.shift()).toBe(model.shift());
          } else if (step.op === 'insert') {
            const at = step.at % (model.length + 1);
            deque.insert(at, step.value);
            model.splice(at, 0, step.value);
          } else if (model.length > 0) {
            const at = step.at % model.length;
            deque.set(at, step.value);
            model[at] = step.value;
          }
          expect(deque.length).toBe(model.length);
          expect(deque.peek()).toBe(model[0]);
          expect(deque.peekLast()).toBe(model.at(-1));
        }
        expect([...deque]).toEqual(model);
      }),
    );
  });
});
