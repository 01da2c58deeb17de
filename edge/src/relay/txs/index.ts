/**
 * The relay's bounded transaction buffers: the txs it can hand to peers (tx-submission, §9) and
 * the closure txs of the EBs it relays (LeiosFetch BlockTxs, §10.2).
 *
 * Primer: a relay has no mempool (no ledger), so tx-submission serves a *recent-tx buffer*: txs a
 * peer delivered, or that a storage node admitted through `POST /v1/tx`, in arrival order, each
 * announced once per connection and never back to the peer it came from. Closure txs are held by
 * reference hash (`H256(tx bytes)`, §2.1) for serving BlockTxs replies. Both live in one
 * byte-bounded LRU map; the announcement order is a bounded ring of sequence numbers, so a peer
 * that lags more than the ring simply skips what fell out.
 *
 * @module
 */

/** One held tx. */
interface HeldTx {
  readonly bytes: Uint8Array;
  /** Session that delivered it (not announced back to it); null for HTTP / EB closures. */
  readonly from: string | null;
}

/** An announcement of the recent-tx ring. */
export interface RecentTx {
  readonly seq: number;
  readonly hex: string;
  readonly hash: Uint8Array;
  readonly size: number;
  readonly from: string | null;
}

/**
 * Byte-bounded tx store with an announcement ring.
 *
 * @example
 * ```ts
 * const txs = new TxBuffer(32 * 2 ** 20, 4_096);
 * txs.put(hex, hash, bytes, 'session-1', true);
 * txs.after(-1, 16, 'session-2') // [{ seq: 0, hex, … }]
 * ```
 */
export class TxBuffer {
  private readonly map = new Map<string, HeldTx>();
  private total = 0;
  private readonly ring: RecentTx[] = [];
  private nextSeq = 0;
  private waiters = new Set<() => void>();

  constructor(
    readonly maxBytes: number,
    readonly maxRecent: number,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.map.size;
  }

  has(hex: string): boolean {
    return this.map.has(hex);
  }

  get(hex: string): Uint8Array | undefined {
    const t = this.map.get(hex);
    if (t === undefined) return undefined;
    this.map.delete(hex);
    this.map.set(hex, t);
    return t.bytes;
  }

  /**
   * Hold a tx whose reference hash the caller computed from these bytes; `announce` adds it to
   * the tx-submission ring (once). Returns false when it was already held.
   */
  put(hex: string, hash: Uint8Array, bytes: Uint8Array, from: string | null, announce: boolean): boolean {
    if (this.map.has(hex)) return false;
    if (bytes.length > this.maxBytes) return false;
    this.map.set(hex, { bytes, from });
    this.total += bytes.length;
    for (const [k, v] of this.map) {
      if (this.total <= this.maxBytes) break;
      this.map.delete(k);
      this.total -= v.bytes.length;
    }
    if (announce) {
      this.ring.push({ seq: this.nextSeq++, hex, hash, size: bytes.length, from });
      if (this.ring.length > this.maxRecent) this.ring.shift();
      const ws = this.waiters;
      this.waiters = new Set();
      for (const w of ws) w();
    }
    return true;
  }

  /** Up to `max` announcements after `seq`, skipping those from `except` and evicted ones. */
  after(seq: number, max: number, except: string | null): { items: RecentTx[]; last: number } {
    const items: RecentTx[] = [];
    let last = seq;
    for (const r of this.ring) {
      if (items.length >= max) break;
      if (r.seq <= seq) continue;
      last = r.seq;
      if (r.from !== null && r.from === except) continue;
      if (!this.map.has(r.hex)) continue;
      items.push(r);
    }
    return { items, last };
  }

  /** Resolves when the next tx is announced. */
  waitForNext(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }
}
