/**
 * A map for what usually holds one entry: the first lives in two fields, and a Map is made
 * only for a second. A topic followed by one connection (per-user and per-device channels
 * are), or a connection with one subscription, then costs no Map: an empty Map with its
 * table is about 180 bytes.
 */
export class SmallMap<K, V> {
  #key: K | undefined;
  #value: V | undefined;
  #more: Map<K, V> | undefined;

  get size(): number {
    return this.#more?.size ?? (this.#value === undefined ? 0 : 1);
  }

  get(key: K): V | undefined {
    if (this.#more !== undefined) return this.#more.get(key);
    return this.#value !== undefined && this.#key === key ? this.#value : undefined;
  }

  /** `value` must not be undefined. */
  set(key: K, value: V): void {
    if (this.#more !== undefined) {
      this.#more.set(key, value);
    } else if (this.#value === undefined || this.#key === key) {
      this.#key = key;
      this.#value = value;
    } else {
      this.#more = new Map([
        [this.#key as K, this.#value],
        [key, value],
      ]);
      this.#key = undefined;
      this.#value = undefined;
    }
  }

  delete(key: K): boolean {
    if (this.#more !== undefined) return this.#more.delete(key);
    if (this.#value === undefined || this.#key !== key) return false;
    this.#key = undefined;
    this.#value = undefined;
    return true;
  }

  /** The keys, in a new array (safe to delete while walking it). */
  keys(): K[] {
    if (this.#more !== undefined) return [...this.#more.keys()];
    return this.#value === undefined ? [] : [this.#key as K];
  }

  /** Calls `callback(value, arg)` for each entry: `arg` spares the caller a closure per call. */
  forEach<A>(callback: (value: V, arg: A) => void, arg: A): void {
    if (this.#more === undefined) {
      if (this.#value !== undefined) callback(this.#value, arg);
      return;
    }
    for (const value of this.#more.values()) callback(value, arg);
  }
}
