/**
 * ChainDB: RB headers and bodies (exact received bytes) and the node's selected chain.
 *
 * Primer: the storage node keeps every valid header it learns of (`rb_headers`, including forks,
 * so votes and equivocation checks can find them) and one selected chain (`chain`: block number →
 * hash, contiguous from 1). The last `k` blocks of the selected chain are the *volatile suffix*;
 * the block `k` below the tip is the *immutable tip* and nothing at or below it is ever rolled
 * back (PROTOCOL.md §7.4). Chain selection itself is node logic: this store only appends blocks
 * that extend the tip, rolls the volatile suffix back, or does both atomically (`switchFork`).
 *
 * Crash safety (DESIGN.md §5): a block's header, body and chain row are written in one database
 * transaction, so after a crash the chain has no torn block and its tip is a block whose bytes
 * are all stored. Input is checked before any write: the header hash is recomputed from the
 * received bytes and the body must match the header's body_hash and body_size (PROTOCOL.md §1.3,
 * §4.2); failures are {@link StorageError}s and write nothing.
 *
 * The caller decodes headers (shared/src/protocol/rb) and passes the fields this store indexes
 * together with the received bytes; the store never re-encodes.
 *
 * @module
 */
import type { BlockNo, Hash32, PoolId, Slot } from '@leios/shared/types';
import { bytesEqual } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { hashHex } from '@leios/shared/types';
import { and, asc, desc, eq, gt } from 'drizzle-orm';
import type { Database, Db, TxContext } from '../../db/index';
import { chain, rbBodies, rbHeaders } from '../../db/schema';
import { StorageError } from '../../errors/index';

/** Serialises writers of the selected chain (advisory lock key: ASCII "LeiosCha"). */
const LOCK_CHAIN = 'select pg_advisory_xact_lock(5504922046926383201)';

/** Decoded header fields the store indexes, plus the exact received header bytes. */
export interface RbHeaderInput {
  /** The exact received header bytes; the RB hash is `H256` of these (PROTOCOL.md §2.1). */
  readonly bytes: Uint8Array;
  readonly slot: Slot;
  readonly blockNo: BlockNo;
  readonly prevHash: Hash32 | null;
  readonly issuer: PoolId;
  readonly bodyHash: Hash32;
  readonly bodySize: number;
  readonly certifiedEb: boolean;
  readonly ebAnnouncement: { readonly hash: Hash32; readonly size: number } | null;
}

/**
 * The fields of {@link RbHeaderInput}, picked out of a decoded header that carries more (signature,
 * VRF proof, signed bytes): what a caller hands the store, and keeps alive in a block it queues for
 * the store, is only what the store indexes.
 *
 * @example
 * ```ts
 * await chainDb.putHeader(rbHeaderInput(decodeHeader(bytes, maxHeaderSize)));
 * ```
 */
export function rbHeaderInput(h: RbHeaderInput): RbHeaderInput {
  const { bytes, slot, blockNo, prevHash, issuer, bodyHash, bodySize, certifiedEb, ebAnnouncement } = h;
  return { bytes, slot, blockNo, prevHash, issuer, bodyHash, bodySize, certifiedEb, ebAnnouncement };
}

/** A full block: header fields and bytes, and the received body bytes. */
export interface RbBlockInput {
  readonly header: RbHeaderInput;
  readonly body: Uint8Array;
}

/** A point on the selected chain. */
export interface ChainPoint {
  readonly hash: Hash32;
  readonly slot: Slot;
  readonly blockNo: BlockNo;
}

/** A stored header with its indexed fields. */
export interface StoredHeader extends ChainPoint {
  readonly bytes: Uint8Array;
  readonly prevHash: Hash32 | null;
  readonly issuer: PoolId;
  readonly bodyHash: Hash32;
  readonly bodySize: number;
  readonly certifiedEb: boolean;
  readonly ebAnnouncement: { readonly hash: Hash32; readonly size: number } | null;
  readonly receivedAt: number;
}

/** A stored block: header and body bytes as received. */
export interface StoredBlock {
  readonly header: StoredHeader;
  readonly body: Uint8Array;
}

/** ChainDB parameters. */
export interface ChainDbOptions {
  /** Security parameter k: length of the volatile suffix (PROTOCOL.md §15; devnet 10). */
  readonly k: number;
  /** Clock for `received_at` (Unix ms). */
  readonly now?: () => number;
}

type HeaderRow = typeof rbHeaders.$inferSelect;

function toHeader(r: HeaderRow): StoredHeader {
  return {
    hash: r.hash as Hash32,
    slot: r.slot as Slot,
    blockNo: r.blockNo as BlockNo,
    bytes: r.header,
    prevHash: (r.prevHash ?? null) as Hash32 | null,
    issuer: r.issuer as PoolId,
    bodyHash: r.bodyHash as Hash32,
    bodySize: r.bodySize,
    certifiedEb: r.certifiedEb,
    ebAnnouncement:
      r.ebHash && r.ebSize !== null ? { hash: r.ebHash as Hash32, size: r.ebSize } : null,
    receivedAt: r.receivedAt,
  };
}

/**
 * The chain store.
 *
 * @example
 * ```ts
 * const chainDb = new ChainDb(database, { k: 10 });
 * await chainDb.rollForward({ header, body });
 * const tip = await chainDb.tip();             // { hash, slot, blockNo } | null
 * const imm = await chainDb.immutableTip();    // block k below the tip, or null
 * await chainDb.rollBack(intersectionHash);   // at most k blocks
 * ```
 */
export class ChainDb {
  readonly k: number;
  private readonly now: () => number;

  constructor(
    private readonly database: Database,
    opts: ChainDbOptions,
  ) {
    if (!Number.isSafeInteger(opts.k) || opts.k < 1) throw new RangeError(`k must be an integer >= 1, got ${opts.k}`);
    this.k = opts.k;
    this.now = opts.now ?? Date.now;
  }

  /** Check a header's bytes against its claimed fields; returns the RB hash. */
  static headerHash(h: RbHeaderInput): Hash32 {
    if ((h.prevHash === null) !== (h.blockNo === 1)) {
      throw new StorageError('invalid', `prev_hash must be null iff block_number = 1 (block ${h.blockNo})`);
    }
    if (h.ebAnnouncement && (h.ebAnnouncement.size < 1 || h.ebAnnouncement.size > 0xffffffff)) {
      throw new StorageError('invalid', `eb_size ${h.ebAnnouncement.size} out of range`);
    }
    return blake2b256(h.bytes);
  }

  /** Check a body against its header (PROTOCOL.md §4.2: `H256(body) = body_hash`, `len = body_size`). */
  static checkBody(h: RbHeaderInput, body: Uint8Array, rbHash: Hash32): void {
    if (body.length !== h.bodySize) {
      throw new StorageError('size-mismatch', `body of ${hashHex(rbHash)} has ${body.length} bytes, header says ${h.bodySize}`, {
        rb: hashHex(rbHash),
      });
    }
    if (!bytesEqual(blake2b256(body), h.bodyHash)) {
      throw new StorageError('hash-mismatch', `body of ${hashHex(rbHash)} does not hash to body_hash`, { rb: hashHex(rbHash) });
    }
  }

  /**
   * Store a header (idempotent); it becomes a *known header* for votes and chain selection.
   * Returns its hash.
   *
   * @example `const rbHash = await chainDb.putHeader(header)`
   */
  async putHeader(h: RbHeaderInput, outer?: TxContext): Promise<Hash32> {
    const hash = ChainDb.headerHash(h);
    await insertHeader(outer?.db ?? this.database.db, hash, h, this.now());
    return hash;
  }

  /**
   * Append a block to the selected chain: it must extend the current tip (parent hash and
   * block number), or be block 1 on an empty chain. Header, body and chain row are written in one
   * transaction. Returns the new tip.
   *
   * @example `const tip = await chainDb.rollForward({ header, body })`
   */
  async rollForward(block: RbBlockInput): Promise<ChainPoint> {
    const hash = ChainDb.headerHash(block.header);
    ChainDb.checkBody(block.header, block.body, hash);
    return this.database.transaction(async (tx) => {
      await tx.query(LOCK_CHAIN);
      const tip = await tipOf(tx.db);
      return this.append(tx.db, tip, hash, block);
    });
  }

  /**
   * Roll the selected chain back so that `to` is the tip (`null` = origin). Refuses to remove
   * more than k blocks (`rollback-too-deep`) or to roll back to a block not on the chain
   * (`not-found`). Returns the new tip.
   *
   * @example `await chainDb.rollBack(intersection.hash)`
   */
  async rollBack(to: Hash32 | null): Promise<ChainPoint | null> {
    return this.database.transaction(async (tx) => {
      await tx.query(LOCK_CHAIN);
      return this.truncate(tx.db, to);
    });
  }

  /**
   * Switch to a fork atomically: roll back to `intersection` (at most k blocks) and append
   * `blocks` in order. Either all of it happens or nothing does. With `outer`, the writes join
   * that transaction instead (e.g. a produced RB together with its EB and closure, so that they
   * are stored, or not, as one: issue 4 item 5); a throw then rolls the caller's writes back too.
   *
   * @example
   * ```ts
   * await chainDb.switchFork(intersection.hash, forkBlocks);
   * await database.transaction(async (tx) => {
   *   await ebStore.putWithClosure(eb, txs, tx);
   *   await chainDb.switchFork(tip.hash, [block], tx);
   * });
   * ```
   */
  async switchFork(intersection: Hash32 | null, blocks: readonly RbBlockInput[], outer?: TxContext): Promise<ChainPoint | null> {
    const checked = blocks.map((b) => {
      const hash = ChainDb.headerHash(b.header);
      ChainDb.checkBody(b.header, b.body, hash);
      return { hash, block: b };
    });
    const run = async (tx: TxContext): Promise<ChainPoint | null> => {
      await tx.query(LOCK_CHAIN);
      let tip = await this.truncate(tx.db, intersection);
      for (const { hash, block } of checked) tip = await this.append(tx.db, tip, hash, block);
      return tip;
    };
    return outer ? run(outer) : this.database.transaction(run);
  }

  /** The tip of the selected chain, or null at origin. @example `await chainDb.tip()` */
  async tip(): Promise<ChainPoint | null> {
    return tipOf(this.database.db);
  }

  /**
   * The immutable tip: the block k below the tip (PROTOCOL.md §7.4), or null while the chain
   * has at most k blocks.
   *
   * @example `const imm = await chainDb.immutableTip()`
   */
  async immutableTip(): Promise<ChainPoint | null> {
    const tip = await this.tip();
    if (!tip || tip.blockNo <= this.k) return null;
    return (await this.pointAt(tip.blockNo - this.k)) ?? null;
  }

  /** The volatile suffix: the chain points above the immutable tip, oldest first. @example `await chainDb.volatileSuffix()` */
  async volatileSuffix(): Promise<ChainPoint[]> {
    const tip = await this.tip();
    if (!tip) return [];
    const rows = await this.database.db
      .select()
      .from(chain)
      .where(gt(chain.blockNo, tip.blockNo - this.k))
      .orderBy(asc(chain.blockNo));
    return rows.map((r) => ({ hash: r.hash as Hash32, slot: r.slot as Slot, blockNo: r.blockNo as BlockNo }));
  }

  /** The chain point at a block number, if on the selected chain. @example `await chainDb.pointAt(5)` */
  async pointAt(blockNo: number): Promise<ChainPoint | undefined> {
    const [r] = await this.database.db.select().from(chain).where(eq(chain.blockNo, blockNo));
    return r ? { hash: r.hash as Hash32, slot: r.slot as Slot, blockNo: r.blockNo as BlockNo } : undefined;
  }

  /** The selected-chain block at a slot, if any. @example `await chainDb.blockAtSlot(slot)` */
  async blockAtSlot(slot: number): Promise<StoredBlock | undefined> {
    const [r] = await this.database.db.select({ hash: chain.hash }).from(chain).where(eq(chain.slot, slot));
    return r ? this.getBlock(r.hash as Hash32) : undefined;
  }

  /** The selected-chain block at a height, if any. @example `await chainDb.blockAtHeight(1)` */
  async blockAtHeight(blockNo: number): Promise<StoredBlock | undefined> {
    const p = await this.pointAt(blockNo);
    return p ? this.getBlock(p.hash) : undefined;
  }

  /** Whether a hash is on the selected chain. @example `await chainDb.isOnChain(h)` */
  async isOnChain(hash: Hash32): Promise<boolean> {
    const r = await this.database.db.select({ n: chain.blockNo }).from(chain).where(eq(chain.hash, hash));
    return r.length > 0;
  }

  /** A known header by hash (on the chain or not). @example `await chainDb.getHeader(h)` */
  async getHeader(hash: Hash32): Promise<StoredHeader | undefined> {
    const [r] = await this.database.db.select().from(rbHeaders).where(eq(rbHeaders.hash, hash));
    return r ? toHeader(r) : undefined;
  }

  /** A block (header + body) by hash, if its body is stored. @example `await chainDb.getBlock(h)` */
  async getBlock(hash: Hash32): Promise<StoredBlock | undefined> {
    const [r] = await this.database.db
      .select({ h: rbHeaders, body: rbBodies.body })
      .from(rbHeaders)
      .innerJoin(rbBodies, eq(rbBodies.hash, rbHeaders.hash))
      .where(eq(rbHeaders.hash, hash));
    return r ? { header: toHeader(r.h), body: r.body } : undefined;
  }

  /** Known headers at a slot, e.g. to detect equivocation (PROTOCOL.md §7.4). @example `await chainDb.headersAtSlot(s)` */
  async headersAtSlot(slot: number, issuer?: PoolId): Promise<StoredHeader[]> {
    const where = issuer ? and(eq(rbHeaders.slot, slot), eq(rbHeaders.issuer, issuer)) : eq(rbHeaders.slot, slot);
    const rows = await this.database.db.select().from(rbHeaders).where(where);
    return rows.map(toHeader);
  }

  private async append(db: Db, tip: ChainPoint | null, hash: Hash32, block: RbBlockInput): Promise<ChainPoint> {
    const h = block.header;
    const expectedNo = (tip?.blockNo ?? 0) + 1;
    const connected =
      h.blockNo === expectedNo && (tip ? h.prevHash !== null && bytesEqual(h.prevHash, tip.hash) : h.prevHash === null);
    if (!connected) {
      throw new StorageError(
        'not-connected',
        `block ${hashHex(hash)} (no ${h.blockNo}) does not extend tip ${tip ? `${hashHex(tip.hash)} (no ${tip.blockNo})` : 'origin'}`,
        { rb: hashHex(hash), blockNo: h.blockNo },
      );
    }
    if (tip && h.slot <= tip.slot) {
      throw new StorageError('invalid', `block ${hashHex(hash)} slot ${h.slot} is not after its parent's ${tip.slot}`);
    }
    await insertHeader(db, hash, h, this.now());
    await db.insert(rbBodies).values({ hash, body: block.body }).onConflictDoNothing();
    await db.insert(chain).values({ blockNo: h.blockNo, hash, slot: h.slot });
    return { hash, slot: h.slot, blockNo: h.blockNo };
  }

  private async truncate(db: Db, to: Hash32 | null): Promise<ChainPoint | null> {
    const tip = await tipOf(db);
    if (!tip) {
      if (to === null) return null;
      throw new StorageError('not-found', `rollback target ${hashHex(to)} is not on the selected chain`);
    }
    let target: ChainPoint | null = null;
    if (to !== null) {
      const [r] = await db.select().from(chain).where(eq(chain.hash, to));
      if (!r) throw new StorageError('not-found', `rollback target ${hashHex(to)} is not on the selected chain`, { rb: hashHex(to) });
      target = { hash: r.hash as Hash32, slot: r.slot as Slot, blockNo: r.blockNo as BlockNo };
    }
    const depth = tip.blockNo - (target?.blockNo ?? 0);
    if (depth > this.k) {
      throw new StorageError('rollback-too-deep', `rollback of ${depth} blocks exceeds k = ${this.k}`, { depth, k: this.k });
    }
    await db.delete(chain).where(gt(chain.blockNo, target?.blockNo ?? 0));
    return target;
  }
}

async function tipOf(db: Db): Promise<ChainPoint | null> {
  const [r] = await db.select().from(chain).orderBy(desc(chain.blockNo)).limit(1);
  return r ? { hash: r.hash as Hash32, slot: r.slot as Slot, blockNo: r.blockNo as BlockNo } : null;
}

async function insertHeader(db: Db, hash: Hash32, h: RbHeaderInput, now: number): Promise<void> {
  await db
    .insert(rbHeaders)
    .values({
      hash,
      slot: h.slot,
      blockNo: h.blockNo,
      prevHash: h.prevHash,
      issuer: h.issuer,
      bodyHash: h.bodyHash,
      bodySize: h.bodySize,
      certifiedEb: h.certifiedEb,
      ebHash: h.ebAnnouncement?.hash ?? null,
      ebSize: h.ebAnnouncement?.size ?? null,
      header: h.bytes,
      receivedAt: now,
    })
    .onConflictDoNothing();
}
