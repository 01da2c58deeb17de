/**
 * EbStore: endorser blocks (exact received bytes) and their closures (PROTOCOL.md §4.3, §10).
 *
 * Primer: an EB is a list of tx references `(H256(tx bytes), size)`; the referenced txs form its
 * *closure*. A tx is stored once in `txs`, keyed by its reference hash, and shared by every EB
 * that references it (and by the tx cache), so a reference is *present* exactly when its hash is
 * in `txs`. The node asks {@link EbStore.missing} which indices to fetch, feeds fetched txs to
 * {@link EbStore.addClosureTxs}, and learns of completion from {@link EbStore.onClosureComplete}.
 *
 * Guarantees:
 * - Bad input changes nothing (DESIGN.md §5): EB caps (S_EB, S_EB_tx, MAX_TX_SIZE, §4.3) and every
 *   tx's hash and size are checked before a transaction opens; failures are typed
 *   {@link StorageError}s (`too-large`, `hash-mismatch`, `size-mismatch`, `invalid`).
 * - `complete = true` is set in the same transaction as the txs that complete the closure, by a
 *   statement that verifies inside the database that every reference is present (or, in
 *   `putClosure`, after that transaction itself stored or found every tx); so after any crash no
 *   half-written closure is marked complete. Txs added by a concurrent transaction or the tx
 *   cache are picked up by {@link EbStore.refreshCompleteness} (run after every commit and at
 *   start-up), since a statement only sees what was committed before it began.
 * - Retention (§10): an EB certified by an RB at or below the immutable tip is *promoted* to
 *   immutable and kept forever; an uncertified EB whose announcing RB is older than the immutable
 *   tip is pruned after a retention period (default 36 h), with the txs only it referenced.
 * - Storage bound: stale EBs (announced before the immutable tip, so never certifiable on the
 *   selected chain) are refused with `storage-full` once the retained stale EBs reach the bound,
 *   rather than filling the disk. Fresh EBs are always accepted: the protocol bounds them to one
 *   per RB of the volatile window.
 *
 * The caller decodes the EB (shared/src/protocol/eb) and passes its received bytes together with
 * the decoded reference list; the store hashes the received bytes itself (§1.3).
 *
 * @module
 */
import type { Hash32, Slot } from '@leios/shared/types';
import { bytesEqual, toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { hashHex } from '@leios/shared/types';
import { eq } from 'drizzle-orm';
import { type CopyField, decodeCopyBinaryIndexed, encodeCopyBinary, packBlobs, packHashes } from '../../db/copy';
import type { Database, RawExecutor, TxContext } from '../../db/index';
import { toNumber } from '../../db/index';
import { ebs } from '../../db/schema';
import { StorageError } from '../../errors/index';
import type { ChainDb } from '../chain-db/index';

/** One EB reference: tx reference hash and stated size (PROTOCOL.md §4.3). */
export interface EbRef {
  readonly hash: Hash32;
  readonly size: number;
}

/** Size caps (PROTOCOL.md §15). Field names match `ProtocolParams` of shared/src/protocol/params. */
export interface EbLimits {
  /** S_EB: max EB bytes. */
  readonly maxEbSize: number;
  /** S_EB_tx: max sum of referenced tx sizes. */
  readonly maxEbTxBytes: number;
  /** MAX_TX_SIZE. */
  readonly maxTxSize: number;
}

/** Default caps of PROTOCOL.md §15. */
export const DEFAULT_EB_LIMITS: EbLimits = Object.freeze({ maxEbSize: 512_000, maxEbTxBytes: 12_000_000, maxTxSize: 16_384 });
/** Default retention of uncertified EBs older than the immutable tip: 36 hours. */
export const DEFAULT_EB_RETENTION_MS = 36 * 3600 * 1000;
/** Default bound on retained stale EB bytes (EB bytes + stated closure bytes): 4 GiB. */
export const DEFAULT_MAX_STALE_BYTES = 4 * 2 ** 30;

/** EbStore options. */
export interface EbStoreOptions {
  readonly limits?: EbLimits;
  readonly retentionMs?: number;
  readonly maxStaleBytes?: number;
  /** Clock (Unix ms). */
  readonly now?: () => number;
}

/** An EB as received: bytes, decoded references, and its announcing RB. */
export interface EbInput {
  readonly bytes: Uint8Array;
  readonly refs: readonly EbRef[];
  /** Hash and slot of the announcing RB. */
  readonly rbHash: Hash32;
  readonly slot: Slot;
  /** The announcement `[eb_hash, eb_size]`, when known: the bytes must match both (§4.3). */
  readonly announced?: { readonly hash: Hash32; readonly size: number };
}

/** Closure state of one EB. */
export interface ClosureState {
  readonly hash: Hash32;
  readonly txCount: number;
  readonly missing: number;
  readonly complete: boolean;
}

/** A stored EB. */
export interface StoredEb {
  readonly hash: Hash32;
  readonly bytes: Uint8Array;
  readonly rbHash: Hash32;
  readonly slot: Slot;
  readonly txCount: number;
  readonly txBytes: number;
  readonly complete: boolean;
  readonly immutable: boolean;
  readonly receivedAt: number;
}

/** A fetched tx for an EB position. */
export interface ClosureTx {
  readonly index: number;
  readonly bytes: Uint8Array;
}

/**
 * Serialises deleters of `txs` rows (pruning, tx cache release: exclusive) against writers that
 * may mark a closure complete (shared), so a row cannot vanish under a completeness check that
 * saw it. Advisory lock key: ASCII "LeiosEbS".
 */
export const EB_LOCK_SHARED = 'select pg_advisory_xact_lock_shared(5504922046926922067)';
/** See {@link EB_LOCK_SHARED}. */
export const EB_LOCK_EXCLUSIVE = 'select pg_advisory_xact_lock(5504922046926922067)';
const LOCK_SHARED = EB_LOCK_SHARED;
const LOCK_EXCLUSIVE = EB_LOCK_EXCLUSIVE;
/** Below this many rows the SQL path beats COPY's fixed cost. */
const COPY_THRESHOLD = 256;
/** EBs deleted per prune call, so one call stays short. */
const PRUNE_BATCH = 64;

/** `'\x…'::bytea` literal for COPY statements, which take no parameters (hex of our own bytes). */
function byteaLiteral(b: Uint8Array): string {
  return `'\\x${toHex(b)}'::bytea`;
}

/**
 * The EB and closure store.
 *
 * @example
 * ```ts
 * const ebStore = new EbStore(database, chainDb);
 * const off = ebStore.onClosureComplete((h) => staging.closureComplete(h));
 * const st = await ebStore.putEb({ bytes, refs, rbHash, slot });     // st.missing > 0
 * const want = await ebStore.missing(st.hash);                        // indices to fetch
 * await ebStore.addClosureTxs(st.hash, fetched);                      // [{ index, bytes }]
 * const txs = await ebStore.getClosure(st.hash);                      // in reference order
 * ```
 */
export class EbStore {
  readonly limits: EbLimits;
  readonly retentionMs: number;
  readonly maxStaleBytes: number;
  private readonly now: () => number;
  private readonly listeners = new Set<(ebHash: Hash32) => void>();

  constructor(
    private readonly database: Database,
    private readonly chainDb: ChainDb,
    opts: EbStoreOptions = {},
  ) {
    this.limits = opts.limits ?? DEFAULT_EB_LIMITS;
    this.retentionMs = opts.retentionMs ?? DEFAULT_EB_RETENTION_MS;
    this.maxStaleBytes = opts.maxStaleBytes ?? DEFAULT_MAX_STALE_BYTES;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Subscribe to closure completion (fires once per EB per process, after the commit).
   *
   * @example `const off = ebStore.onClosureComplete((ebHash) => …); off();`
   */
  onClosureComplete(listener: (ebHash: Hash32) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Check an EB against the caps of PROTOCOL.md §4.3 and its announcement; returns its hash.
   * Throws `too-large`, `invalid`, `hash-mismatch` or `size-mismatch`.
   *
   * @example `const h = ebStore.checkEb(input)`
   */
  checkEb(input: EbInput): Hash32 {
    const { bytes, refs } = input;
    const L = this.limits;
    if (bytes.length > L.maxEbSize) {
      throw new StorageError('too-large', `EB of ${bytes.length} bytes exceeds S_EB = ${L.maxEbSize}`, { size: bytes.length });
    }
    if (refs.length === 0) throw new StorageError('invalid', 'EB has no references');
    let total = 0;
    const keys = new Set<string>();
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i]!;
      const key = Buffer.from(r.hash.buffer, r.hash.byteOffset, r.hash.byteLength).toString('latin1');
      if (keys.has(key)) throw new StorageError('invalid', `reference ${i} repeats tx ${hashHex(r.hash)} (duplicate EB key, §4.3)`, { index: i });
      keys.add(key);
      if (r.hash.length !== 32) throw new StorageError('invalid', `reference ${i} hash has ${r.hash.length} bytes`);
      if (!Number.isSafeInteger(r.size) || r.size < 1) {
        throw new StorageError('invalid', `reference ${i} states size ${r.size}; sizes start at 1`, { index: i });
      }
      if (r.size > L.maxTxSize) {
        throw new StorageError('too-large', `reference ${i} states size ${r.size}, above MAX_TX_SIZE = ${L.maxTxSize}`, {
          index: i,
        });
      }
      total += r.size;
    }
    if (total > L.maxEbTxBytes) {
      throw new StorageError('too-large', `EB references ${total} tx bytes, above S_EB_tx = ${L.maxEbTxBytes}`, { total });
    }
    const hash = blake2b256(bytes);
    if (input.announced) {
      if (!bytesEqual(hash, input.announced.hash)) {
        throw new StorageError('hash-mismatch', `EB bytes hash to ${hashHex(hash)}, announced ${hashHex(input.announced.hash)}`);
      }
      if (bytes.length !== input.announced.size) {
        throw new StorageError('size-mismatch', `EB has ${bytes.length} bytes, announced eb_size ${input.announced.size}`);
      }
    }
    return hash;
  }

  /**
   * Store an EB and its reference list (idempotent). References already present (shared with
   * other EBs or in the tx cache) count at once; if all are, the closure is complete now.
   *
   * @example `const { hash, missing } = await ebStore.putEb({ bytes, refs, rbHash, slot })`
   */
  async putEb(input: EbInput): Promise<ClosureState> {
    const hash = this.checkEb(input);
    const existing = await this.state(hash);
    if (existing) return existing;
    await this.checkStaleBound(input, hash);
    const txBytes = input.refs.reduce((s, r) => s + r.size, 0);
    const completed = await this.database.transaction(async (tx) => {
      await tx.query(LOCK_SHARED);
      const inserted = await tx.db
        .insert(ebs)
        .values({
          hash,
          bytes: input.bytes,
          rbHash: input.rbHash,
          slot: input.slot,
          txCount: input.refs.length,
          txBytes,
          receivedAt: this.now(),
        })
        .onConflictDoNothing()
        .returning({ hash: ebs.hash });
      if (inserted.length === 0) return false; // a concurrent writer stored it first
      await this.insertRefs(tx, hash, input.refs);
      return this.markCompleteIfPresent(tx, hash);
    });
    if (completed) this.emit(hash);
    const st = await this.state(hash);
    if (!st) throw new Error(`EB ${hashHex(hash)} vanished after insert`);
    return st;
  }

  /**
   * Add fetched txs at the given EB positions. Every tx must hash to its reference and have its
   * stated size; otherwise nothing is written. Completion is decided in the same transaction.
   *
   * @example `const st = await ebStore.addClosureTxs(ebHash, [{ index: 0, bytes }])`
   */
  async addClosureTxs(ebHash: Hash32, items: readonly ClosureTx[]): Promise<ClosureState> {
    const eb = await this.state(ebHash);
    if (!eb) throw new StorageError('not-found', `EB ${hashHex(ebHash)} is not stored`, { eb: hashHex(ebHash) });
    if (items.length === 0) return eb;
    const refs = await this.refsAt(this.database.raw, ebHash, items.map((i) => i.index), eb.txCount);
    const rows: { hash: Hash32; bytes: Uint8Array }[] = [];
    const seen = new Set<number>();
    for (const item of items) {
      if (seen.has(item.index)) continue;
      seen.add(item.index);
      const ref = refs.get(item.index);
      if (!ref) throw new StorageError('invalid', `index ${item.index} is not a reference of EB ${hashHex(ebHash)}`);
      verifyTx(ebHash, item.index, ref, item.bytes);
      rows.push({ hash: ref.hash, bytes: item.bytes });
    }
    const completed = await retrying(() =>
      this.database.transaction(async (tx) => {
        await tx.query(LOCK_SHARED);
        await this.insertTxs(tx, rows);
        return this.markCompleteIfPresent(tx, ebHash);
      }),
    );
    if (completed) this.emit(ebHash);
    await this.refreshCompleteness(rows.map((r) => r.hash));
    const st = await this.state(ebHash);
    if (!st) throw new StorageError('not-found', `EB ${hashHex(ebHash)} was pruned meanwhile`);
    return st;
  }

  /**
   * Store an EB with its whole closure in one transaction (own EBs, or a closure fetched in one
   * go). `txs[i]` must match `refs[i]`.
   *
   * @example `await ebStore.putClosure({ bytes, refs, rbHash, slot }, txs)`
   */
  async putClosure(input: EbInput, txs: readonly Uint8Array[]): Promise<ClosureState> {
    const hash = this.checkEb(input);
    if (txs.length !== input.refs.length) {
      throw new StorageError('invalid', `closure has ${txs.length} txs for ${input.refs.length} references`);
    }
    for (let i = 0; i < txs.length; i++) verifyTx(hash, i, input.refs[i]!, txs[i]!);
    await this.checkStaleBound(input, hash);
    const txBytes = input.refs.reduce((s, r) => s + r.size, 0);
    const completed = await retrying(() =>
      this.database.transaction(async (tx) => {
        await tx.query(LOCK_SHARED);
        const inserted = await tx.db
          .insert(ebs)
          .values({ hash, bytes: input.bytes, rbHash: input.rbHash, slot: input.slot, txCount: txs.length, txBytes, receivedAt: this.now() })
          .onConflictDoNothing()
          .returning({ hash: ebs.hash });
        if (inserted.length > 0) await this.insertRefs(tx, hash, input.refs);
        await this.insertTxs(
          tx,
          txs.map((bytes, i) => ({ hash: input.refs[i]!.hash, bytes })),
        );
        // Every reference is present now: this transaction stored each verified tx or found it
        // stored, and the shared lock keeps pruning from deleting any before the commit. So the
        // flag is set without re-checking 40,000 references.
        const flipped = await tx.query('update ebs set complete = true where hash = $1 and not complete returning hash', [hash]);
        return flipped.length > 0;
      }),
    );
    if (completed) this.emit(hash);
    await this.refreshCompleteness(input.refs.map((r) => r.hash));
    const st = await this.state(hash);
    if (!st) throw new Error(`EB ${hashHex(hash)} vanished after insert`);
    return st;
  }

  /**
   * Store an EB, its references and whichever of its closure txs the database lacks, inside the
   * caller's transaction `tx` (own EBs: the producer writes RB, EB and closure in one transaction
   * and only then announces them, issue 4 item 5). `txs[i]` is the tx of `refs[i]`; only the txs
   * actually written are hashed against their references (most are already stored by the tx
   * cache). The EB is complete when `tx` commits. Listeners are told through `notify()`, which the
   * caller runs after the commit (never for a rolled-back write).
   *
   * @example
   * ```ts
   * const r = await database.transaction(async (tx) => {
   *   const r = await ebStore.putWithClosure(eb, txs, tx);
   *   await chainDb.switchFork(tip.hash, [block], tx);
   *   return r;
   * });
   * await r.notify();
   * ```
   */
  async putWithClosure(input: EbInput, txs: readonly Uint8Array[], tx: TxContext): Promise<{ hash: Hash32; written: number; notify: () => Promise<void> }> {
    const hash = this.checkEb(input);
    if (txs.length !== input.refs.length) {
      throw new StorageError('invalid', `closure has ${txs.length} txs for ${input.refs.length} references`);
    }
    await tx.query(LOCK_SHARED);
    const txBytes = input.refs.reduce((s, r) => s + r.size, 0);
    const inserted = await tx.db
      .insert(ebs)
      .values({ hash, bytes: input.bytes, rbHash: input.rbHash, slot: input.slot, txCount: txs.length, txBytes, receivedAt: this.now() })
      .onConflictDoNothing()
      .returning({ hash: ebs.hash });
    if (inserted.length > 0) await this.insertRefs(tx, hash, input.refs);
    const absent = await tx.query<{ idx: number }>(
      `select l.idx from eb_txs l where l.eb_hash = $1
          and not exists (select 1 from txs t where t.hash = l.tx_hash) order by l.idx`,
      [hash],
    );
    const rows = absent.map(({ idx }) => {
      const i = Number(idx);
      const ref = input.refs[i];
      const bytes = txs[i];
      if (!ref || !bytes) throw new StorageError('invalid', `index ${i} is outside EB ${hashHex(hash)}`);
      verifyTx(hash, i, ref, bytes);
      return { hash: ref.hash, bytes };
    });
    await this.insertTxs(tx, rows);
    // every reference is present now (stored here or found stored under the shared lock)
    const flipped = await tx.query('update ebs set complete = true where hash = $1 and not complete returning hash', [hash]);
    return {
      hash,
      written: rows.length,
      notify: async () => {
        if (flipped.length > 0) this.emit(hash);
        await this.refreshCompleteness(rows.map((r) => r.hash));
      },
    };
  }

  /**
   * Mark complete every incomplete EB that references one of `txHashes` (all incomplete EBs when
   * omitted) and whose references are now all present. Call after txs arrive by another path
   * (tx cache) and at start-up. Returns the EBs that became complete (listeners are told too).
   *
   * @example `await ebStore.refreshCompleteness()`
   */
  async refreshCompleteness(txHashes?: readonly Hash32[]): Promise<Hash32[]> {
    const done: Hash32[] = [];
    let candidates: Uint8Array[];
    if (txHashes === undefined) {
      const rows = await this.database.raw.query<{ hash: Uint8Array }>('select hash from ebs where not complete');
      candidates = rows.map((r) => r.hash);
    } else {
      if (txHashes.length === 0) return done;
      // Common case: nothing else is waiting, so skip the join over all the new tx hashes.
      const any = await this.database.raw.query('select 1 from ebs where not complete limit 1');
      if (any.length === 0) return done;
      const rows = await this.database.raw.query<{ eb_hash: Uint8Array }>(
        `select distinct l.eb_hash from eb_txs l join ebs e on e.hash = l.eb_hash and not e.complete
         where l.tx_hash in (select substring($1::bytea from (i * 32 + 1)::int4 for 32) from generate_series(0, $2::int4 - 1) i)`,
        [packHashes(txHashes), txHashes.length],
      );
      candidates = rows.map((r) => r.eb_hash);
    }
    for (const h of candidates) {
      if (await this.markCompleteIfPresent(this.database.raw, h)) {
        done.push(h as Hash32);
        this.emit(h as Hash32);
      }
    }
    return done;
  }

  /** Closure state, or undefined if the EB is not stored. @example `await ebStore.state(h)` */
  async state(ebHash: Hash32): Promise<ClosureState | undefined> {
    const [r] = await this.database.db
      .select({ txCount: ebs.txCount, complete: ebs.complete })
      .from(ebs)
      .where(eq(ebs.hash, ebHash));
    if (!r) return undefined;
    let missing = 0;
    if (!r.complete) {
      const [m] = await this.database.raw.query<{ n: unknown }>(
        `select count(*) as n from eb_txs l where l.eb_hash = $1
           and not exists (select 1 from txs t where t.hash = l.tx_hash)`,
        [ebHash],
      );
      missing = toNumber(m?.n);
    }
    return { hash: ebHash, txCount: r.txCount, missing, complete: r.complete };
  }

  /** Whether the closure is complete. @example `await ebStore.isComplete(h)` */
  async isComplete(ebHash: Hash32): Promise<boolean> {
    const [r] = await this.database.db.select({ c: ebs.complete }).from(ebs).where(eq(ebs.hash, ebHash));
    return r?.c === true;
  }

  /** Indices of references not yet present, ascending (what the node must fetch). @example `await ebStore.missing(h)` */
  async missing(ebHash: Hash32): Promise<number[]> {
    const rows = await this.database.raw.query<{ idx: number }>(
      `select l.idx from eb_txs l where l.eb_hash = $1
         and not exists (select 1 from txs t where t.hash = l.tx_hash) order by l.idx`,
      [ebHash],
    );
    return rows.map((r) => r.idx);
  }

  /** A stored EB. @example `const eb = await ebStore.getEb(h)` */
  async getEb(ebHash: Hash32): Promise<StoredEb | undefined> {
    const [r] = await this.database.db.select().from(ebs).where(eq(ebs.hash, ebHash));
    if (!r) return undefined;
    return {
      hash: r.hash as Hash32,
      bytes: r.bytes,
      rbHash: r.rbHash as Hash32,
      slot: r.slot as Slot,
      txCount: r.txCount,
      txBytes: r.txBytes,
      complete: r.complete,
      immutable: r.immutable,
      receivedAt: r.receivedAt,
    };
  }

  /** The EB's references in order. @example `const refs = await ebStore.refs(h)` */
  async refs(ebHash: Hash32): Promise<EbRef[]> {
    const rows = await this.database.raw.query<{ tx_hash: Uint8Array; tx_size: number }>(
      'select tx_hash, tx_size from eb_txs where eb_hash = $1 order by idx',
      [ebHash],
    );
    return rows.map((r) => ({ hash: r.tx_hash as Hash32, size: r.tx_size }));
  }

  /**
   * The whole closure in reference order (exact received tx bytes). Throws `not-found` if the EB
   * is unknown or its closure incomplete.
   *
   * @example `const txs = await ebStore.getClosure(h)`
   */
  async getClosure(ebHash: Hash32): Promise<Uint8Array[]> {
    const [eb] = await this.database.db.select({ n: ebs.txCount }).from(ebs).where(eq(ebs.hash, ebHash));
    if (!eb) throw new StorageError('not-found', `EB ${hashHex(ebHash)} is not stored`, { eb: hashHex(ebHash) });
    const raw = this.database.raw;
    // No ORDER BY: rows are placed by their index instead (sorting 12 MB spills to disk).
    let out: Uint8Array[];
    if (raw.copyOut) {
      out = decodeCopyBinaryIndexed(
        await raw.copyOut(
          `copy (select l.idx, t.bytes from eb_txs l join txs t on t.hash = l.tx_hash
                 where l.eb_hash = ${byteaLiteral(ebHash)}) to stdout with (format binary)`,
        ),
      );
    } else {
      const rows = await raw.query<{ idx: number; bytes: Uint8Array }>(
        'select l.idx, t.bytes from eb_txs l join txs t on t.hash = l.tx_hash where l.eb_hash = $1',
        [ebHash],
      );
      out = [];
      for (const r of rows) out[r.idx] = r.bytes;
    }
    let present = 0;
    for (const t of out) if (t !== undefined) present++;
    if (present !== eb.n || out.length !== eb.n) {
      throw new StorageError('not-found', `closure of EB ${hashHex(ebHash)} is incomplete (${present}/${eb.n} txs)`, {
        eb: hashHex(ebHash),
      });
    }
    return out;
  }

  /**
   * Txs at the given positions, for serving BlockTxs (§10.3); `undefined` where not present.
   *
   * @example `const txs = await ebStore.getTxsAt(h, [0, 5, 9])`
   */
  async getTxsAt(ebHash: Hash32, indices: readonly number[]): Promise<(Uint8Array | undefined)[]> {
    if (indices.length === 0) return [];
    const rows = await this.database.raw.query<{ idx: number; bytes: Uint8Array }>(
      `select l.idx, t.bytes from eb_txs l join txs t on t.hash = l.tx_hash
        where l.eb_hash = $1 and l.idx = any($2::int4[])`,
      [ebHash, [...indices]],
    );
    const byIdx = new Map(rows.map((r) => [r.idx, r.bytes]));
    return indices.map((i) => byIdx.get(i));
  }

  /** A tx by reference hash, from any closure or the tx cache. @example `await ebStore.getTx(h)` */
  async getTx(txHash: Hash32): Promise<Uint8Array | undefined> {
    const [r] = await this.database.raw.query<{ bytes: Uint8Array }>('select bytes from txs where hash = $1', [txHash]);
    return r?.bytes;
  }

  /**
   * Promote to immutable every EB certified by a selected-chain RB at or below the immutable tip
   * (PROTOCOL.md §10: certified closures are kept forever). Idempotent; returns the promoted EBs.
   * One statement (the immutable tip is read inside it), so it can join the caller's transaction
   * (`outer`): the node moves its ledger checkpoint in the same one.
   *
   * @example `await ebStore.promoteImmutable()`
   */
  async promoteImmutable(outer?: TxContext): Promise<Hash32[]> {
    const rows = await (outer ?? this.database.raw).query<{ hash: Uint8Array }>(
      `update ebs e set immutable = true
        where not e.immutable and exists (
          select 1 from rb_headers p
            join rb_headers h on h.prev_hash = p.hash and h.certified_eb
            join chain c on c.hash = h.hash
           where p.eb_hash = e.hash and c.block_no <= (select max(block_no) from chain) - $1::int8)
        returning e.hash`,
      [this.chainDb.k],
    );
    return rows.map((r) => r.hash as Hash32);
  }

  /**
   * Delete uncertified EBs announced before the immutable tip and received more than the
   * retention period ago, with the txs no other EB and not the tx cache holds. Works in batches;
   * returns how many EBs and txs went.
   *
   * @example `await ebStore.prune()`
   */
  async prune(): Promise<{ ebs: number; txs: number }> {
    const imm = await this.chainDb.immutableTip();
    if (!imm) return { ebs: 0, txs: 0 };
    const cutoff = this.now() - this.retentionMs;
    let nEbs = 0;
    let nTxs = 0;
    for (;;) {
      const batch = await this.database.transaction(async (tx) => {
        await tx.query(LOCK_EXCLUSIVE);
        const victims = await tx.query<{ hash: Uint8Array }>(
          'select hash from ebs where not immutable and slot < $1 and received_at < $2 limit $3',
          [imm.slot, cutoff, PRUNE_BATCH],
        );
        let txCount = 0;
        for (const v of victims) {
          const gone = await tx.query<{ hash: Uint8Array }>(
            `delete from txs t using eb_txs l
              where l.eb_hash = $1 and t.hash = l.tx_hash and t.cached_at is null
                and not exists (select 1 from eb_txs o where o.tx_hash = t.hash and o.eb_hash <> $1)
              returning t.hash`,
            [v.hash],
          );
          txCount += gone.length;
          await tx.query('delete from eb_txs where eb_hash = $1', [v.hash]);
          await tx.query('delete from ebs where hash = $1', [v.hash]);
        }
        return { ebs: victims.length, txs: txCount };
      });
      nEbs += batch.ebs;
      nTxs += batch.txs;
      if (batch.ebs < PRUNE_BATCH) break;
    }
    return { ebs: nEbs, txs: nTxs };
  }

  /**
   * Retained EB storage: count and bytes (EB + stated closure bytes), volatile and stale.
   *
   * @example `const u = await ebStore.usage()`
   */
  async usage(): Promise<{ ebs: number; bytes: number; staleEbs: number; staleBytes: number }> {
    const imm = await this.chainDb.immutableTip();
    const [r] = await this.database.raw.query<Record<string, unknown>>(
      `select count(*) as n, coalesce(sum(length(bytes) + tx_bytes), 0) as b,
              count(*) filter (where slot < $1) as sn,
              coalesce(sum(length(bytes) + tx_bytes) filter (where slot < $1), 0) as sb
         from ebs where not immutable`,
      [imm?.slot ?? -1],
    );
    return { ebs: toNumber(r?.n), bytes: toNumber(r?.b), staleEbs: toNumber(r?.sn), staleBytes: toNumber(r?.sb) };
  }

  private async checkStaleBound(input: EbInput, hash: Hash32): Promise<void> {
    const imm = await this.chainDb.immutableTip();
    if (!imm || input.slot >= imm.slot) return;
    const { staleBytes } = await this.usage();
    const adding = input.bytes.length + input.refs.reduce((s, r) => s + r.size, 0);
    if (staleBytes + adding > this.maxStaleBytes) {
      throw new StorageError(
        'storage-full',
        `refusing stale EB ${hashHex(hash)} (slot ${input.slot} < immutable tip slot ${imm.slot}): ` +
          `${staleBytes} + ${adding} bytes exceeds the stale-EB bound of ${this.maxStaleBytes}`,
        { eb: hashHex(hash), staleBytes, adding, bound: this.maxStaleBytes },
      );
    }
  }

  private emit(ebHash: Hash32): void {
    for (const l of this.listeners) l(ebHash);
  }

  /** Set `complete` iff every reference is present; true if this call flipped it. */
  private async markCompleteIfPresent(q: RawExecutor, ebHash: Uint8Array): Promise<boolean> {
    const rows = await q.query(
      `update ebs set complete = true where hash = $1 and not complete
          and not exists (select 1 from eb_txs l where l.eb_hash = $1
                            and not exists (select 1 from txs t where t.hash = l.tx_hash))
        returning hash`,
      [ebHash],
    );
    return rows.length > 0;
  }

  private async refsAt(q: RawExecutor, ebHash: Hash32, indices: readonly number[], count: number): Promise<Map<number, EbRef>> {
    for (const i of indices) {
      if (!Number.isSafeInteger(i) || i < 0 || i >= count) {
        throw new StorageError('invalid', `index ${i} is outside EB ${hashHex(ebHash)} (${count} references)`, { index: i });
      }
    }
    const rows = await q.query<{ idx: number; tx_hash: Uint8Array; tx_size: number }>(
      'select idx, tx_hash, tx_size from eb_txs where eb_hash = $1 and idx = any($2::int4[])',
      [ebHash, [...new Set(indices)]],
    );
    return new Map(rows.map((r) => [r.idx, { hash: r.tx_hash as Hash32, size: r.tx_size }]));
  }

  private async insertRefs(tx: TxContext, ebHash: Hash32, refs: readonly EbRef[]): Promise<void> {
    if (tx.copyIn && refs.length >= COPY_THRESHOLD) {
      // Cannot conflict: only the transaction whose `ebs` insert went through writes the refs.
      const eb: CopyField = { t: 'bytes', v: ebHash };
      const rows = refs.map((r, i): CopyField[] => [eb, { t: 'int4', v: i }, { t: 'bytes', v: r.hash }, { t: 'int4', v: r.size }]);
      await tx.copyIn('copy eb_txs (eb_hash, idx, tx_hash, tx_size) from stdin with (format binary)', encodeCopyBinary(4, rows));
      return;
    }
    await tx.query(
      `insert into eb_txs (eb_hash, idx, tx_hash, tx_size)
       select $1, (ord - 1)::int4, substring($2::bytea from ((ord - 1) * 32 + 1)::int4 for 32), size
         from unnest($3::int4[]) with ordinality as u(size, ord)`,
      [ebHash, packHashes(refs.map((r) => r.hash)), refs.map((r) => r.size)],
    );
  }

  /** Insert verified txs, skipping those already stored (shared with other EBs or the cache). */
  private async insertTxs(tx: TxContext, rows: readonly { hash: Hash32; bytes: Uint8Array }[]): Promise<void> {
    if (rows.length === 0) return;
    if (tx.copyIn && rows.length >= COPY_THRESHOLD) {
      // COPY cannot skip conflicts (and postgres.js loses a server error raised by one): copy
      // into a constraint-free per-transaction staging table, then insert with ON CONFLICT DO
      // NOTHING, which also waits out a concurrent insert of the same tx.
      await tx.query('create temp table if not exists txs_in (hash bytea, size int4, bytes bytea) on commit delete rows');
      const copyRows = rows.map((r): CopyField[] => [{ t: 'bytes', v: r.hash }, { t: 'int4', v: r.bytes.length }, { t: 'bytes', v: r.bytes }]);
      await tx.copyIn('copy txs_in (hash, size, bytes) from stdin with (format binary)', encodeCopyBinary(3, copyRows));
      await tx.query('insert into txs (hash, size, bytes) select hash, size, bytes from txs_in on conflict (hash) do nothing');
      return;
    }
    await tx.query(
      `insert into txs (hash, size, bytes)
       select substring($1::bytea from ((ord - 1) * 32 + 1)::int4 for 32), size,
              substring($2::bytea from (off + 1)::int4 for size)
         from (select size, ord, sum(size) over (order by ord) - size as off
                 from unnest($3::int4[]) with ordinality as u(size, ord)) s
       on conflict (hash) do nothing`,
      [packHashes(rows.map((r) => r.hash)), packBlobs(rows.map((r) => r.bytes)), rows.map((r) => r.bytes.length)],
    );
  }
}

/**
 * Run a write transaction, retrying (up to 3 times) when it lost a race on a unique key (a
 * defence in depth: the statements that can meet a concurrent writer use ON CONFLICT).
 */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code ?? (e as { cause?: { code?: unknown } }).cause?.code;
      if (code !== '23505' || attempt >= 3) throw e;
    }
  }
}

/** PROTOCOL.md §4.3: a tx must match its reference's hash and stated size. */
function verifyTx(ebHash: Hash32, index: number, ref: EbRef, bytes: Uint8Array): void {
  if (bytes.length !== ref.size) {
    throw new StorageError(
      'size-mismatch',
      `tx ${index} of EB ${hashHex(ebHash)} has ${bytes.length} bytes, the EB states ${ref.size}`,
      { eb: hashHex(ebHash), index },
    );
  }
  if (!bytesEqual(blake2b256(bytes), ref.hash)) {
    throw new StorageError('hash-mismatch', `tx ${index} of EB ${hashHex(ebHash)} does not hash to its reference`, {
      eb: hashHex(ebHash),
      index,
    });
  }
}
