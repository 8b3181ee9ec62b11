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
// dozen PEM strings, cheaper than hashing a new 2 KB key. PEM texts of certificates, and their
// base64, share their first fifty-odd characters (the BEGIN line, the DER headers) and their last
// thirty (the END line), so each slot also keeps its key's length and its middle character
// (inside the key or the signature, effectively random): nearly every miss is decided on those.
// V excludes undefined, which get() uses for a miss.
export class RecentCache<V extends NonNullable<unknown> | null> {
  readonly #keys: Array<string | undefined>;
  readonly #values: Array<V | undefined>;
  readonly #marked: Uint8Array;
  readonly #lengths: Int32Array;
  readonly #probes: Int32Array;
  #hand = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity: expected a positive integer, got ${capacity}`);
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#marked = new Uint8Array(capacity);
    this.#lengths = new Int32Array(capacity).fill(-1);
    this.#probes = new Int32Array(capacity);
  }

  /** The value kept for `key` (marked as used), or undefined. */
  get(key: string): V | undefined {
    const i = this.#find(key);
    if (i < 0) return undefined;
    this.#marked[i] = 1;
    return this.#values[i];
  }

  #find(key: string): number {
    const keys = this.#keys;
    const lengths = this.#lengths;
    const probes = this.#probes;
    const n = key.length;
    const probe = probeOf(key);
    for (let i = 0; i < keys.length; i++) if (lengths[i] === n && probes[i] === probe && keys[i] === key) return i;
    return -1;
  }

  /** Keep `value` for `key` (replacing what was kept for it). */
  set(key: string, value: V): void {
    const at = this.#find(key);
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
    this.#lengths[hand] = key.length;
    this.#probes[hand] = probeOf(key);
    this.#hand = (hand + 1) % this.capacity;
  }

  /** How many entries are held (for tests). */
  get size(): number {
    return this.#keys.filter((k) => k !== undefined).length;
  }
}

/** The key's middle character (0 for the empty key). */
function probeOf(key: string): number {
  return key.length === 0 ? 0 : key.charCodeAt(key.length >> 1);
}
