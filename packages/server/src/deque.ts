/** The slots of every empty deque: shared, so a deque that never held anything costs no array. */
const NO_SLOTS: unknown[] = Object.freeze([]) as unknown as unknown[];
/** The smallest ring a deque grows to, and below which it does not shrink. */
const MIN_CAPACITY = 8;

/**
 * A first-in first-out queue on a ring buffer: `push` and `shift` in O(1) (amortized),
 * `at(i)` counted from the oldest. The ring doubles when full and halves when a quarter
 * full, so a burst's memory is given back once it has drained; an empty deque holds no
 * array at all.
 */
export class Deque<T> {
  #slots: Array<T | undefined> = NO_SLOTS as Array<T | undefined>;
  /** Index in `#slots` of the oldest item. */
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** Slots held: what the deque costs, whatever its length. */
  get capacity(): number {
    return this.#slots.length;
  }

  /** The oldest item. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#slots[this.#head];
  }

  /** The newest item. */
  peekLast(): T | undefined {
    return this.#length === 0 ? undefined : this.#slots[(this.#head + this.#length - 1) & (this.#slots.length - 1)];
  }

  /** The item `index` places after the oldest (0 is the oldest); undefined past the end. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#slots[(this.#head + index) & (this.#slots.length - 1)];
  }

  /** Replaces the item at `index` (0 is the oldest), which must exist. */
  set(index: number, item: T): void {
    if (index < 0 || index >= this.#length) throw new RangeError(`no item at ${index} of ${this.#length}`);
    this.#slots[(this.#head + index) & (this.#slots.length - 1)] = item;
  }

  push(item: T): void {
    if (this.#length === this.#slots.length) this.#resize(Math.max(MIN_CAPACITY, this.#length * 2));
    this.#slots[(this.#head + this.#length) & (this.#slots.length - 1)] = item;
    this.#length++;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const slots = this.#slots;
    const item = slots[this.#head];
    slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & (slots.length - 1);
    this.#length--;
    if (this.#length === 0) this.clear();
    else if (slots.length > MIN_CAPACITY && this.#length * 4 <= slots.length) this.#resize(slots.length / 2);
    return item;
  }

  /**
   * Puts `item` at `index` (0 puts it first, `length` is `push`), moving the items after
   * it back one place: O(length − index), for the rare item that arrives out of order.
   */
  insert(index: number, item: T): void {
    if (index < 0 || index > this.#length) throw new RangeError(`cannot insert at ${index} of ${this.#length}`);
    this.push(item);
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = this.#length - 1; i > index; i--) {
      slots[(this.#head + i) & mask] = slots[(this.#head + i - 1) & mask];
    }
    slots[(this.#head + index) & mask] = item;
  }

  /** Removes every item. */
  clear(): void {
    this.#slots = NO_SLOTS as Array<T | undefined>;
    this.#head = 0;
    this.#length = 0;
  }

  /** Removes every item and returns them, oldest first. */
  drain(): T[] {
    const items = [...this];
    this.clear();
    return items;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.at(i) as T;
  }

  /** Copies the items, oldest first, into a ring of `capacity` (a power of two ≥ length). */
  #resize(capacity: number): void {
    const slots = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#length; i++) slots[i] = this.at(i);
    this.#slots = slots;
    this.#head = 0;
  }
}
