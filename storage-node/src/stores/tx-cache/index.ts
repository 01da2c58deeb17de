/**
 * TxCache: recently seen transactions, indexed in memory by reference hash, bodies in the database.
 *
 * Primer: txs arrive by tx-submission and HTTP long before an EB references them. Keeping them
 * lets a node fill most of a new EB's closure without fetching (the EB store treats any tx in the
 * `txs` table as present) and serve BlockTxs requests. The in-memory index answers "do I have
 * tx h?" in well under a microsecond-scale budget without touching the database; it records each
 * entry's insertion time and byte size, evicts by age (default 1 h) and keeps within a memory
 * bound (entries and tx bytes), oldest first.
 *
 * Bodies are written to `txs` in batches (`flush`, run automatically shortly after an insert) so
 * that an insert costs a hash and a map update, not a database round trip. The price: txs
 * inserted in the last few milliseconds before a crash are lost from the cache, which is
 * acceptable for a cache (peers offer them again); everything flushed is rebuilt by `load()` on
 * restart. A tx is stored once: rows also referenced by an EB stay when the cache evicts them.
 *
 * @module
 */
import type { Hash32 } from '@leios/shared/types';
import { blake2b256 } from '@leios/shared/crypto';
import { packBlobs, packHashes } from '../../db/copy';
import type { Database } from '../../db/index';
import { toNumber } from '../../db/index';
import { StorageError } from '../../errors/index';
import { EB_LOCK_EXCLUSIVE, EB_LOCK_SHARED } from '../eb-store/index';

/** TxCache options. */
export interface TxCacheOptions {
  /** Age after which an entry is evicted (default 1 h). */
  readonly maxAgeMs?: number;
  /** Memory bound: maximum entries (default 262,144). */
  readonly maxEntries?: number;
  /** Memory bound: maximum Σ tx bytes indexed (default 128 MiB). */
  readonly maxBytes?: number;
  /** MAX_TX_SIZE (PROTOCOL.md §15, default 16,384). */
  readonly maxTxSize?: number;
  /** Flush pending bodies after this delay (default 20 ms) … */
  readonly flushDelayMs?: number;
  /** … or as soon as this many bytes are pending (default 1 MiB). */
  readonly flushBytes?: number;
  /** Called after each flush with the hashes written (e.g. `ebStore.refreshCompleteness`). */
  readonly afterFlush?: (hashes: Hash32[]) => Promise<unknown>;
  /** Clock (Unix ms). */
  readonly now?: () => number;
}

/** Index entry: insertion time (Unix ms) and tx size in bytes. */
export interface TxCacheEntry {
  readonly insertedAt: number;
  readonly size: number;
}

/** Map key: the 32 hash bytes as a one-byte-per-char string (half the memory of hex). */
function keyOf(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('latin1');
}
function hashOfKey(key: string): Hash32 {
  const b = Buffer.from(key, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength) as Hash32;
}

/**
 * The tx cache.
 *
 * @example
 * ```ts
 * const cache = new TxCache(database, { afterFlush: (hs) => ebStore.refreshCompleteness(hs) });
 * await cache.load();                       // after a restart
 * const h = cache.insert(txBytes);          // sync: hash + index; body flushed shortly after
 * cache.has(h);                             // sync
 * const bytes = await cache.get(h);
 * await cache.evict();                      // periodically
 * await cache.close();
 * ```
 */
export class TxCache {
  readonly maxAgeMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxTxSize: number;
  private readonly flushDelayMs: number;
  private readonly flushBytes: number;
  private readonly afterFlush: ((hashes: Hash32[]) => Promise<unknown>) | undefined;
  private readonly now: () => number;
  /** Insertion order = age order, so the oldest entry is always first. */
  private readonly index = new Map<string, TxCacheEntry>();
  private indexedBytes = 0;
  /** Bodies not yet in the database. */
  private pending = new Map<string, { bytes: Uint8Array; at: number }>();
  private pendingBytes = 0;
  /** Hashes evicted from the index whose rows still need releasing. */
  private released: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastError: unknown;

  constructor(
    private readonly database: Database,
    opts: TxCacheOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 3600_000;
    this.maxEntries = opts.maxEntries ?? 262_144;
    this.maxBytes = opts.maxBytes ?? 128 * 2 ** 20;
    this.maxTxSize = opts.maxTxSize ?? 16_384;
    this.flushDelayMs = opts.flushDelayMs ?? 20;
    this.flushBytes = opts.flushBytes ?? 2 ** 20;
    this.afterFlush = opts.afterFlush;
    this.now = opts.now ?? Date.now;
  }

  /** Number of indexed txs. */
  get size(): number {
    return this.index.size;
  }
  /** Σ bytes of indexed txs. */
  get bytes(): number {
    return this.indexedBytes;
  }

  /**
   * Index a tx (exact received bytes) and queue its body for the database. Returns its reference
   * hash `H256(bytes)` (PROTOCOL.md §2.1). Re-inserting keeps the original age.
   *
   * @example `const h = cache.insert(txBytes)`
   */
  insert(bytes: Uint8Array): Hash32 {
    if (bytes.length < 1 || bytes.length > this.maxTxSize) {
      throw new StorageError('too-large', `tx of ${bytes.length} bytes is outside 1..MAX_TX_SIZE = ${this.maxTxSize}`);
    }
    if (this.lastError !== undefined) {
      const e = this.lastError;
      this.lastError = undefined;
      throw new StorageError('db-unavailable', `tx cache flush failed: ${String(e)}`, {}, { cause: e });
    }
    const hash = blake2b256(bytes);
    const key = keyOf(hash);
    if (this.index.has(key)) return hash;
    const at = this.now();
    this.index.set(key, { insertedAt: at, size: bytes.length });
    this.indexedBytes += bytes.length;
    this.pending.set(key, { bytes, at });
    this.pendingBytes += bytes.length;
    this.enforceBounds();
    // A failed background flush is kept in `lastError` and thrown by the next insert.
    if (this.pendingBytes >= this.flushBytes) this.flush().catch(() => {});
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush().catch(() => {}), this.flushDelayMs);
      this.timer.unref?.();
    }
    return hash;
  }

  /** Whether a tx is indexed. @example `cache.has(h)` */
  has(hash: Uint8Array): boolean {
    return this.index.has(keyOf(hash));
  }

  /** Insertion time and size of a tx, if indexed. @example `cache.meta(h)?.size` */
  meta(hash: Uint8Array): TxCacheEntry | undefined {
    return this.index.get(keyOf(hash));
  }

  /** The tx bytes, if indexed. @example `await cache.get(h)` */
  async get(hash: Uint8Array): Promise<Uint8Array | undefined> {
    const key = keyOf(hash);
    if (!this.index.has(key)) return undefined;
    const p = this.pending.get(key);
    if (p) return p.bytes;
    const [r] = await this.database.raw.query<{ bytes: Uint8Array }>('select bytes from txs where hash = $1', [hash]);
    return r?.bytes;
  }

  /**
   * Write pending bodies (one statement) and release evicted rows. Runs automatically; call it
   * before shutdown or when the bodies must be durable now.
   *
   * @example `await cache.flush()`
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(
      () => this.doFlush(),
      () => this.doFlush(),
    );
    return this.flushing;
  }

  /**
   * Evict entries older than the maximum age (and release their rows unless an EB holds them).
   * Returns how many entries went.
   *
   * @example `setInterval(() => cache.evict(), 60_000)`
   */
  async evict(): Promise<number> {
    const cutoff = this.now() - this.maxAgeMs;
    let n = 0;
    for (const [key, e] of this.index) {
      if (e.insertedAt > cutoff) break; // the rest are younger
      this.drop(key, e);
      n++;
    }
    await this.flush();
    return n;
  }

  /**
   * Rebuild the index from the database after a restart (entries younger than the maximum age,
   * oldest first); older rows are released.
   *
   * @example `await cache.load()`
   */
  async load(): Promise<number> {
    const cutoff = this.now() - this.maxAgeMs;
    await this.database.transaction(async (tx) => {
      await tx.query(EB_LOCK_EXCLUSIVE);
      await tx.query(
        `delete from txs t where t.cached_at <= $1 and not exists (select 1 from eb_txs l where l.tx_hash = t.hash)`,
        [cutoff],
      );
      await tx.query('update txs set cached_at = null where cached_at <= $1', [cutoff]);
    });
    const rows = await this.database.raw.query<{ hash: Uint8Array; size: number; cached_at: unknown }>(
      'select hash, size, cached_at from txs where cached_at is not null order by cached_at',
    );
    for (const r of rows) {
      const key = keyOf(r.hash);
      if (this.index.has(key)) continue;
      this.index.set(key, { insertedAt: toNumber(r.cached_at), size: r.size });
      this.indexedBytes += r.size;
    }
    this.enforceBounds();
    return rows.length;
  }

  /** Flush and stop the timer. @example `await cache.close()` */
  async close(): Promise<void> {
    await this.flush();
  }

  private enforceBounds(): void {
    while (this.index.size > this.maxEntries || this.indexedBytes > this.maxBytes) {
      const first = this.index.entries().next();
      if (first.done) break;
      this.drop(first.value[0], first.value[1]);
    }
  }

  private drop(key: string, e: TxCacheEntry): void {
    this.index.delete(key);
    this.indexedBytes -= e.size;
    const p = this.pending.get(key);
    if (p) {
      this.pending.delete(key);
      this.pendingBytes -= p.bytes.length;
    } else {
      this.released.push(key);
    }
  }

  private async doFlush(): Promise<void> {
    const batch = this.pending;
    // A key evicted and then inserted again is live: do not release its row.
    const released = this.released.filter((k) => !this.index.has(k));
    if (batch.size === 0 && released.length === 0) return;
    this.pending = new Map();
    this.pendingBytes = 0;
    this.released = [];
    const hashes = [...batch.keys()].map(hashOfKey);
    const bodies = [...batch.values()];
    try {
      await this.database.transaction(async (tx) => {
        await tx.query(released.length > 0 ? EB_LOCK_EXCLUSIVE : EB_LOCK_SHARED);
        if (released.length > 0) {
          const rel = packHashes(released.map(hashOfKey));
          const list = '(select substring($1::bytea from (i * 32 + 1)::int4 for 32) from generate_series(0, $2::int4 - 1) i)';
          // Rows no EB references go; rows an EB references stay, no longer marked as cached.
          await tx.query(
            `delete from txs t where t.hash in ${list}
               and not exists (select 1 from eb_txs l where l.tx_hash = t.hash)`,
            [rel, released.length],
          );
          await tx.query(`update txs set cached_at = null where hash in ${list}`, [rel, released.length]);
        }
        if (hashes.length > 0) {
          await tx.query(
            `insert into txs (hash, size, bytes, cached_at)
             select substring($1::bytea from ((ord - 1) * 32 + 1)::int4 for 32), size,
                    substring($2::bytea from (off + 1)::int4 for size), at
               from (select size, ord, at, sum(size) over (order by ord) - size as off
                       from unnest($3::int4[], $4::int8[]) with ordinality as u(size, at, ord)) s
             on conflict (hash) do update set cached_at = coalesce(txs.cached_at, excluded.cached_at)`,
            [packHashes(hashes), packBlobs(bodies.map((b) => b.bytes)), bodies.map((b) => b.bytes.length), bodies.map((b) => b.at)],
          );
        }
      });
      if (hashes.length > 0 && this.afterFlush) await this.afterFlush(hashes);
    } catch (e) {
      // Surface the failure on the next insert (loudly), and keep the bodies for a retry.
      this.lastError = e;
      for (const [k, v] of batch) {
        if (this.index.has(k) && !this.pending.has(k)) {
          this.pending.set(k, v);
          this.pendingBytes += v.bytes.length;
        }
      }
      this.released.push(...released);
      throw new StorageError('db-unavailable', `tx cache flush of ${hashes.length} txs failed: ${String(e)}`, {}, { cause: e });
    }
  }
}
