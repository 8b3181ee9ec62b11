// A few recently used values by string key, for the caches on the webhook's hot path (parsed
// certificates, decoded base64). Not a Map: a Map that keeps deleting its oldest entry and adding
// a new one leaves old-generation tables behind that still point at young entries, and each
// scavenge then promoted those entries and all they hold. Measured on the chain check: about
// 1 MB promoted per scavenge, and the young-generation pauses that set its p99. Fixed arrays
// overwritten in place hold exactly the live entries.
//
// Eviction is CLOCK (second chance): a hit marks its slot, and a new entry takes the first
// unmarked slot after the hand, clearing the marks it passes. Certificates used again and again
// (roots) stay; one-off certificates cycle through. Lookups compare keys one by one: for a few
// dozen PEM strings that differ within their first bytes, cheaper than hashing a new 2 KB key.
// V excludes undefined, which get() uses for a miss.
export class RecentCache<V extends NonNullable<unknown> | null> {
  readonly #keys: Array<string | undefined>;
  readonly #values: Array<V | undefined>;
  readonly #marked: Uint8Array;
  #hand = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity: expected a positive integer, got ${capacity}`);
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#marked = new Uint8Array(capacity);
  }

  /** The value kept for `key` (marked as used), or undefined. */
  get(key: string): V | undefined {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === key) {
        this.#marked[i] = 1;
        return this.#values[i];
      }
    }
    return undefined;
  }

  /** Keep `value` for `key` (replacing what was kept for it). */
  set(key: string, value: V): void {
    const at = this.#keys.indexOf(key);
    if (at >= 0) {
      this.#values[at] = value;
      return;
    }
    const marked = this.#marked;
    let hand = this.#hand;
    while (marked[hand] === 1) {
      marked[hand] = 0;
      hand = (hand + 1) % this.capacity;
    }
    this.#keys[hand] = key;
    this.#values[hand] = value;
    this.#hand = (hand + 1) % this.capacity;
  }

  /** How many entries are held (for tests). */
  get size(): number {
    return this.#keys.filter((k) => k !== undefined).length;
  }
}
