/**
 * UtxoStore: the ledger state at one point of the selected chain, at or below the immutable tip
 * (PROTOCOL.md §5, §7.4), so a restarted node starts from it instead of replaying from genesis.
 *
 * Primer: a *ledger checkpoint* is everything the node derives from the blocks up to a point P
 * and cannot get otherwise without replaying them: the UTxO set (ledger mode `utxo`) or the set
 * of tx ids on the chain (mode `opaque`, §5.6), the vote-key registrations carried so far
 * (§3.3a), the nonce state after P and after each epoch's last block (§3.4), and the tx count.
 * One `ledger_checkpoint` row names P (block number, hash, slot; block 0 = genesis), the state
 * hash of the set and its size. Blocks at or below the immutable tip are never rolled back, so
 * a checkpoint there never has to be undone; the volatile suffix above it stays in the node's
 * memory as undo data and is replayed from the chain after a restart.
 *
 * {@link UtxoStore.write} moves the checkpoint from P to a later P' in ONE transaction: the net
 * change of the blocks between (entries deleted and inserted, ids and registrations added,
 * nonces upserted) and the new row. It refuses, changing nothing, when the stored checkpoint is
 * not P (two writers, or a caller that lost track), when a deleted entry is not stored exactly
 * as given, when an inserted one is already there, or when the counts do not add up. A crash
 * therefore leaves either P or P', never a mix. {@link UtxoStore.load} reads the checkpoint
 * back in one snapshot and checks the row count; the caller recomputes the state hash (the
 * store knows no ledger rules) and compares it with the stored one.
 *
 * Tables come from migration `drizzle/0002_ledger_state.sql` (src/db/schema.ts, `ledger_*`).
 * Bulk rows travel as one concatenated bytea blob per column plus int/text arrays, split in SQL,
 * which both drivers accept (src/db `RawExecutor`).
 *
 * @module
 */
import type { TxOutput, UtxoEntry } from '@leios/shared/ledger';
import { hashHex, type Address, type Hash32, type Lovelace, type PoolId } from '@leios/shared/types';
import { bytesEqual } from '@leios/shared/bytes';
import type { Database, RawExecutor, TxContext } from '../../db/index';
import { StorageError } from '../../errors/index';

/** A point of the selected chain; block 0 with no hash and no slot is genesis. */
export interface LedgerPoint {
  readonly blockNo: number;
  readonly hash: Hash32 | null;
  readonly slot: number | null;
}

/** Genesis: the point before block 1. */
export const GENESIS_POINT: LedgerPoint = Object.freeze({ blockNo: 0, hash: null, slot: null });

/** A nonce state (§3.4): the epoch it belongs to, η and the evolving accumulator. */
export interface NonceRecord {
  readonly epoch: number;
  readonly eta: Hash32;
  readonly acc: Hash32;
}

/** A vote-key registration (§3.3a) with the block that carried it. */
export interface KeyRegRecord {
  readonly blockNo: number;
  /** Order within the block. */
  readonly position: number;
  /** Epoch of the carrying block. */
  readonly epoch: number;
  readonly poolId: PoolId;
  readonly voteKey: { readonly vk: Uint8Array; readonly pop: Uint8Array };
}

/** The checkpoint row. */
export interface LedgerCheckpoint {
  readonly mode: 'utxo' | 'opaque';
  readonly point: LedgerPoint;
  /** The state hash of the set at `point` (computed by the caller, node/ledger). */
  readonly stateHash: Hash32;
  /** UTxO entries (mode utxo) or tx ids (mode opaque). */
  readonly size: number;
  /** Txs applied from genesis to `point`. */
  readonly txCount: number;
  /** Nonce state after the block at `point`. */
  readonly nonce: NonceRecord;
}

/** A move of the checkpoint: the new row and the net change since the previous one. */
export interface LedgerCheckpointWrite {
  readonly checkpoint: LedgerCheckpoint;
  /** Entries to delete (mode utxo): each must be stored exactly as given. */
  readonly consumed?: readonly UtxoEntry[];
  /** Entries to insert (mode utxo). */
  readonly produced?: readonly UtxoEntry[];
  /** Tx ids to add (mode opaque). */
  readonly ids?: readonly Hash32[];
  /** Registrations carried by the blocks since the previous checkpoint. */
  readonly keyRegs?: readonly KeyRegRecord[];
  /** Nonce state after the last block of each epoch touched (upserted by epoch). */
  readonly nonces?: readonly NonceRecord[];
}

/** A checkpoint as loaded: the row and everything it describes. */
export interface StoredLedger {
  readonly checkpoint: LedgerCheckpoint;
  /** Mode utxo: the UTxO set (empty in mode opaque). */
  readonly entries: UtxoEntry[];
  /** Mode opaque: the tx ids (empty in mode utxo). */
  readonly ids: Hash32[];
  /** Registrations in chain order. */
  readonly keyRegs: KeyRegRecord[];
  /** Nonce states by epoch, ascending. */
  readonly nonces: NonceRecord[];
}

/** Store options. */
export interface UtxoStoreOptions {
  /** Clock for `written_at` (Unix ms). */
  readonly now?: () => number;
  /** Rows per bulk statement and per page when loading (default 4096). */
  readonly batch?: number;
}

/** Serialises checkpoint writers (advisory lock key: ASCII "LeiosLdg"). */
const LOCK_LEDGER = 'select pg_advisory_xact_lock(5504922046926267495)';
const U64_MAX = (1n << 64n) - 1n;
const DEFAULT_BATCH = 4096;

type CheckpointRow = {
  mode: string;
  block_no: unknown;
  hash: Uint8Array | null;
  slot: unknown;
  state_hash: Uint8Array;
  size: unknown;
  tx_count: unknown;
  nonce_epoch: unknown;
  nonce_eta: Uint8Array;
  nonce_acc: Uint8Array;
};

/** int8 columns come back as strings on Postgres and numbers on PGlite. */
function int(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function toCheckpoint(r: CheckpointRow): LedgerCheckpoint {
  const blockNo = int(r.block_no);
  return {
    mode: r.mode === 'opaque' ? 'opaque' : 'utxo',
    point: { blockNo, hash: (r.hash ?? null) as Hash32 | null, slot: r.slot === null ? null : int(r.slot) },
    stateHash: r.state_hash as Hash32,
    size: int(r.size),
    txCount: int(r.tx_count),
    nonce: { epoch: int(r.nonce_epoch), eta: r.nonce_eta as Hash32, acc: r.nonce_acc as Hash32 },
  };
}

function describe(p: LedgerPoint | null): string {
  if (p === null) return 'none';
  return p.blockNo === 0 || !p.hash ? 'genesis' : `block ${p.blockNo} (${hashHex(p.hash)})`;
}

function samePoint(a: LedgerPoint, b: LedgerPoint): boolean {
  if (a.blockNo !== b.blockNo) return false;
  if (a.hash === null || b.hash === null) return a.hash === b.hash;
  return bytesEqual(a.hash, b.hash);
}

function fixed(what: string, b: Uint8Array, len: number): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    throw new StorageError('invalid', `${what} must have ${len} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
}

function concat(parts: readonly Uint8Array[], len: number): Uint8Array {
  const out = new Uint8Array(parts.length * len);
  for (let i = 0; i < parts.length; i++) out.set(parts[i]!, i * len);
  return out;
}

function checkWrite(w: LedgerCheckpointWrite): void {
  const c = w.checkpoint;
  const p = c.point;
  if (c.mode !== 'utxo' && c.mode !== 'opaque') throw new StorageError('invalid', `ledger mode ${String(c.mode)}`);
  if (!Number.isSafeInteger(p.blockNo) || p.blockNo < 0) throw new StorageError('invalid', `block number ${p.blockNo}`);
  if ((p.blockNo === 0) !== (p.hash === null) || (p.hash === null) !== (p.slot === null)) {
    throw new StorageError('invalid', 'a checkpoint point has a hash and a slot iff its block number is not 0');
  }
  if (p.hash) fixed('checkpoint hash', p.hash, 32);
  fixed('state hash', c.stateHash, 32);
  fixed('nonce eta', c.nonce.eta, 32);
  fixed('nonce acc', c.nonce.acc, 32);
  for (const n of [c.size, c.txCount, c.nonce.epoch]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new StorageError('invalid', `checkpoint count ${n} is not a non-negative integer`);
  }
  for (const e of [...(w.consumed ?? []), ...(w.produced ?? [])]) {
    fixed('UTxO tx id', e.ref.txId, 32);
    fixed('UTxO address', e.output.address, 28);
    if (!Number.isSafeInteger(e.ref.index) || e.ref.index < 0 || e.ref.index > 0x7fffffff) {
      throw new StorageError('invalid', `UTxO index ${e.ref.index} out of range`);
    }
    if (e.output.amount < 0n || e.output.amount > U64_MAX) throw new StorageError('invalid', `UTxO amount ${e.output.amount} is not a uint64`);
  }
  for (const id of w.ids ?? []) fixed('tx id', id, 32);
  for (const r of w.keyRegs ?? []) {
    fixed('key_reg pool id', r.poolId, 28);
    fixed('key_reg vote key', r.voteKey.vk, 96);
    fixed('key_reg PoP', r.voteKey.pop, 48);
  }
  for (const n of w.nonces ?? []) {
    fixed('nonce eta', n.eta, 32);
    fixed('nonce acc', n.acc, 32);
  }
  if (c.mode === 'opaque' && ((w.consumed?.length ?? 0) > 0 || (w.produced?.length ?? 0) > 0)) {
    throw new StorageError('invalid', 'UTxO entries in ledger mode opaque');
  }
  if (c.mode === 'utxo' && (w.ids?.length ?? 0) > 0) throw new StorageError('invalid', 'tx ids in ledger mode utxo');
}

/**
 * The ledger checkpoint store.
 *
 * @example
 * ```ts
 * const store = new UtxoStore(database);
 * if (!(await store.checkpoint())) await store.write(null, { checkpoint: genesisCheckpoint, produced: genesisUtxo });
 * await store.write(GENESIS_POINT, { checkpoint: atBlock5, consumed, produced, keyRegs, nonces });
 * const loaded = await store.load(); // { checkpoint, entries, ids, keyRegs, nonces }
 * ```
 */
export class UtxoStore {
  private readonly now: () => number;
  private readonly batch: number;

  constructor(
    private readonly database: Database,
    opts: UtxoStoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.batch = opts.batch ?? DEFAULT_BATCH;
    if (!Number.isSafeInteger(this.batch) || this.batch < 1) throw new RangeError(`batch must be an integer >= 1, got ${this.batch}`);
  }

  /** The stored checkpoint row, or null on a database that has none yet. @example `await store.checkpoint()` */
  async checkpoint(): Promise<LedgerCheckpoint | null> {
    return readCheckpoint(this.database.raw, false);
  }

  /**
   * Move the checkpoint from `from` (null: there is none yet, this is the first) to
   * `w.checkpoint`, with the net change in between, in one transaction (or inside `outer`).
   * Throws {@link StorageError} and changes nothing: `not-connected` when the stored checkpoint
   * is not `from` or the new point is not above it, `not-found` when a consumed entry is not
   * stored as given, `invalid` for malformed input, an output or id already stored, another
   * ledger mode, or counts that do not add up.
   *
   * @example `await store.write(previous.point, { checkpoint, consumed, produced })`
   */
  async write(from: LedgerPoint | null, w: LedgerCheckpointWrite, outer?: TxContext): Promise<void> {
    checkWrite(w);
    const run = async (tx: TxContext): Promise<void> => {
      await tx.query(LOCK_LEDGER);
      const stored = await readCheckpoint(tx, true);
      const c = w.checkpoint;
      const consumed = w.consumed ?? [];
      const produced = w.produced ?? [];
      const ids = w.ids ?? [];
      if (from === null) {
        if (stored) throw new StorageError('not-connected', `a ledger checkpoint exists already (${describe(stored.point)})`);
        const [any] = await tx.query('select 1 from ledger_utxo union all select 1 from ledger_tx_ids limit 1');
        if (any) throw new StorageError('invalid', 'ledger tables hold rows without a checkpoint row');
        if (consumed.length > 0) throw new StorageError('invalid', 'the first checkpoint cannot consume entries');
      } else {
        if (!stored || !samePoint(stored.point, from)) {
          throw new StorageError('not-connected', `the stored ledger checkpoint is ${describe(stored?.point ?? null)}, not ${describe(from)}`);
        }
        if (stored.mode !== c.mode) throw new StorageError('invalid', `the stored checkpoint is in ledger mode ${stored.mode}, not ${c.mode}`);
        if (c.point.blockNo <= stored.point.blockNo) {
          throw new StorageError('not-connected', `checkpoint ${describe(c.point)} is not above the stored ${describe(stored.point)}`);
        }
        if (c.txCount < stored.txCount) throw new StorageError('invalid', `tx count ${c.txCount} below the stored ${stored.txCount}`);
      }
      const before = stored?.size ?? 0;
      const expected = c.mode === 'utxo' ? before - consumed.length + produced.length : before + ids.length;
      if (c.size !== expected) {
        throw new StorageError('invalid', `checkpoint size ${c.size} != ${before} stored - ${consumed.length} + ${c.mode === 'utxo' ? produced.length : ids.length}`);
      }
      for (let i = 0; i < consumed.length; i += this.batch) await deleteEntries(tx, consumed.slice(i, i + this.batch));
      for (let i = 0; i < produced.length; i += this.batch) await insertEntries(tx, produced.slice(i, i + this.batch));
      for (let i = 0; i < ids.length; i += this.batch) await insertIds(tx, ids.slice(i, i + this.batch));
      for (const r of w.keyRegs ?? []) {
        const [ok] = await tx.query(
          `insert into ledger_key_regs (block_no, position, epoch, pool_id, vote_vk, vote_pop) values ($1, $2, $3, $4, $5, $6)
             on conflict do nothing returning 1 as ok`,
          [r.blockNo, r.position, r.epoch, r.poolId, r.voteKey.vk, r.voteKey.pop],
        );
        if (!ok) throw new StorageError('invalid', `key registration ${r.position} of block ${r.blockNo} is already stored`);
      }
      for (const n of w.nonces ?? []) {
        await tx.query(
          `insert into ledger_nonces (epoch, eta, acc) values ($1, $2, $3)
             on conflict (epoch) do update set eta = excluded.eta, acc = excluded.acc`,
          [n.epoch, n.eta, n.acc],
        );
      }
      const p = c.point;
      const values = [c.mode, p.blockNo, p.hash, p.slot, c.stateHash, c.size, c.txCount, c.nonce.epoch, c.nonce.eta, c.nonce.acc, this.now()];
      if (stored) {
        await tx.query(
          `update ledger_checkpoint set mode = $1, block_no = $2, hash = $3, slot = $4, state_hash = $5, size = $6, tx_count = $7,
             nonce_epoch = $8, nonce_eta = $9, nonce_acc = $10, written_at = $11 where id = 1`,
          values,
        );
      } else {
        await tx.query(
          `insert into ledger_checkpoint (id, mode, block_no, hash, slot, state_hash, size, tx_count, nonce_epoch, nonce_eta, nonce_acc, written_at)
             values (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          values,
        );
      }
    };
    return outer ? run(outer) : this.database.transaction(run);
  }

  /**
   * The checkpoint and everything it describes, read in one snapshot, or null if there is none.
   * Throws {@link StorageError} `size-mismatch` when the stored set does not have the size the
   * checkpoint row states. (The caller checks the state hash: the store knows no ledger rules.)
   *
   * @example `const loaded = await store.load()`
   */
  async load(): Promise<StoredLedger | null> {
    return this.database.transaction(async (tx) => {
      // one snapshot for all the statements below (on Postgres; PGlite has one connection anyway)
      await tx.query('set transaction isolation level repeatable read');
      const checkpoint = await readCheckpoint(tx, false);
      if (!checkpoint) return null;
      const entries: UtxoEntry[] = [];
      const ids: Hash32[] = [];
      if (checkpoint.mode === 'utxo') {
        let last: { txId: Uint8Array; idx: number } | undefined;
        for (;;) {
          const rows = await tx.query<{ tx_id: Uint8Array; idx: number; address: Uint8Array; amount: string }>(
            last
              ? 'select tx_id, idx, address, amount::text as amount from ledger_utxo where (tx_id, idx) > ($1, $2) order by tx_id, idx limit $3'
              : 'select tx_id, idx, address, amount::text as amount from ledger_utxo order by tx_id, idx limit $1',
            last ? [last.txId, last.idx, this.batch] : [this.batch],
          );
          for (const r of rows) {
            const output: TxOutput = { address: r.address as Address, amount: BigInt(r.amount) as Lovelace };
            entries.push({ ref: { txId: r.tx_id as Hash32, index: r.idx }, output });
          }
          if (rows.length < this.batch) break;
          const l = rows[rows.length - 1]!;
          last = { txId: l.tx_id, idx: l.idx };
        }
      } else {
        let last: Uint8Array | undefined;
        for (;;) {
          const rows = await tx.query<{ id: Uint8Array }>(
            last ? 'select id from ledger_tx_ids where id > $1 order by id limit $2' : 'select id from ledger_tx_ids order by id limit $1',
            last ? [last, this.batch] : [this.batch],
          );
          for (const r of rows) ids.push(r.id as Hash32);
          if (rows.length < this.batch) break;
          last = rows[rows.length - 1]!.id;
        }
      }
      const n = checkpoint.mode === 'utxo' ? entries.length : ids.length;
      if (n !== checkpoint.size) {
        throw new StorageError('size-mismatch', `the ledger checkpoint at ${describe(checkpoint.point)} states ${checkpoint.size} entries, ${n} are stored`);
      }
      const regRows = await tx.query<{ block_no: unknown; position: number; epoch: unknown; pool_id: Uint8Array; vote_vk: Uint8Array; vote_pop: Uint8Array }>(
        'select block_no, position, epoch, pool_id, vote_vk, vote_pop from ledger_key_regs order by block_no, position',
      );
      const nonceRows = await tx.query<{ epoch: unknown; eta: Uint8Array; acc: Uint8Array }>('select epoch, eta, acc from ledger_nonces order by epoch');
      return {
        checkpoint,
        entries,
        ids,
        keyRegs: regRows.map((r) => ({
          blockNo: int(r.block_no),
          position: r.position,
          epoch: int(r.epoch),
          poolId: r.pool_id as PoolId,
          voteKey: { vk: r.vote_vk, pop: r.vote_pop },
        })),
        nonces: nonceRows.map((r) => ({ epoch: int(r.epoch), eta: r.eta as Hash32, acc: r.acc as Hash32 })),
      };
    });
  }
}

async function readCheckpoint(q: RawExecutor, forUpdate: boolean): Promise<LedgerCheckpoint | null> {
  const [r] = await q.query<CheckpointRow>(
    `select mode, block_no, hash, slot, state_hash, size, tx_count, nonce_epoch, nonce_eta, nonce_acc
       from ledger_checkpoint where id = 1${forUpdate ? ' for update' : ''}`,
  );
  return r ? toCheckpoint(r) : null;
}

/** The entry columns of a batch as blobs and arrays (split again in SQL by `ENTRY_ROWS`). */
function entryParams(es: readonly UtxoEntry[]): unknown[] {
  return [
    concat(
      es.map((e) => e.ref.txId),
      32,
    ),
    concat(
      es.map((e) => e.output.address),
      28,
    ),
    es.map((e) => e.ref.index),
    es.map((e) => e.output.amount.toString()),
  ];
}

const ENTRY_ROWS = `select substring($1::bytea from ((ord - 1) * 32 + 1)::int4 for 32) as tx_id, idx,
         substring($2::bytea from ((ord - 1) * 28 + 1)::int4 for 28) as address, amount::numeric(20, 0) as amount
    from unnest($3::int4[], $4::text[]) with ordinality as u(idx, amount, ord)`;

async function deleteEntries(tx: TxContext, es: readonly UtxoEntry[]): Promise<void> {
  const [r] = await tx.query<{ n: number }>(
    `with d as (${ENTRY_ROWS}),
          gone as (delete from ledger_utxo l using d
                    where l.tx_id = d.tx_id and l.idx = d.idx and l.address = d.address and l.amount = d.amount
                    returning 1)
     select count(*)::int4 as n from gone`,
    entryParams(es),
  );
  if (r?.n !== es.length) {
    throw new StorageError('not-found', `${es.length - (r?.n ?? 0)} of ${es.length} consumed UTxO entries are not stored as given`);
  }
}

async function insertEntries(tx: TxContext, es: readonly UtxoEntry[]): Promise<void> {
  const [r] = await tx.query<{ n: number }>(
    `with ins as (insert into ledger_utxo (tx_id, idx, address, amount) ${ENTRY_ROWS} on conflict do nothing returning 1)
     select count(*)::int4 as n from ins`,
    entryParams(es),
  );
  if (r?.n !== es.length) throw new StorageError('invalid', `${es.length - (r?.n ?? 0)} of ${es.length} produced UTxO entries are stored already (or repeated)`);
}

async function insertIds(tx: TxContext, ids: readonly Hash32[]): Promise<void> {
  const [r] = await tx.query<{ n: number }>(
    `with ins as (insert into ledger_tx_ids (id)
                  select substring($1::bytea from (i * 32 + 1)::int4 for 32) from generate_series(0, $2::int4 - 1) i
                  on conflict do nothing returning 1)
     select count(*)::int4 as n from ins`,
    [concat(ids, 32), ids.length],
  );
  if (r?.n !== ids.length) throw new StorageError('invalid', `${ids.length - (r?.n ?? 0)} of ${ids.length} tx ids are stored already (or repeated)`);
}
