/**
 * The RelayHub's in-memory content: EB and RB bytes recently pushed by connected storage nodes.
 *
 * Primer: the relay is stateless (DESIGN.md §1), so this is a cache, not a store: it is bounded in
 * bytes and entries, evicts least-recently-used first, and is simply empty after the Durable
 * Object is evicted. Entries are keyed by lowercase hash hex and hold the exact received bytes
 * (§1.3); callers verify bytes against their hash before {@link BoundedContent.put}.
 *
 * @module
 */

/**
 * A byte-bounded LRU map from hash hex to bytes.
 *
 * @example
 * ```ts
 * const ebs = new BoundedContent(32 * 1024 * 1024, 4_096);
 * ebs.put(hex, bytes);
 * ebs.get(hex); // bytes, now most recently used
 * ```
 */
export class BoundedContent {
  private readonly entries = new Map<string, Uint8Array>();
  private total = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }

  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used entry.
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  /** Insert (or refresh) an entry; returns false when the item alone exceeds the byte bound. */
  put(key: string, value: Uint8Array): boolean {
    if (value.byteLength > this.maxBytes) return false;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.total -= old.byteLength;
    }
    this.entries.set(key, value);
    this.total += value.byteLength;
    for (const [k, v] of this.entries) {
      if (this.total <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
      this.total -= v.byteLength;
    }
    return true;
  }
}
