/**
 * Drizzle schema of the storage node database (source of the committed SQL migrations under
 * storage-node/drizzle/, generated with `npx drizzle-kit generate`, never `push`).
 *
 * Primer on the layout:
 * - `rb_headers` holds every valid RB header the node knows (selected chain and candidate forks),
 *   as the exact received bytes plus the decoded fields the stores query on. Votes are accepted
 *   only for headers in this table that announce an EB (PROTOCOL.md §6.3).
 * - `rb_bodies` holds block bodies; `chain` is the selected chain, one row per block number, so
 *   the tip is its highest row and a rollback deletes its highest rows (PROTOCOL.md §7.4).
 * - `ebs` holds EB bytes (PROTOCOL.md §4.3) and closure state; `eb_txs` its references in order.
 *   Tx bodies live once in `txs`, keyed by reference hash, shared by every EB that references them
 *   and by the tx cache (`cached_at`). A reference is *present* when its hash is in `txs`; presence
 *   is never stored separately, so it cannot drift from the data.
 * - `votes` keeps the raw vote bytes per (RB hash, seat) (PROTOCOL.md §6.2).
 * - `ledger_*` hold the ledger state at a point of the selected chain at or below the immutable
 *   tip (PROTOCOL.md §5, §7.4): the UTxO set (`ledger_utxo`, ledger mode `utxo`) or the tx ids on
 *   the chain (`ledger_tx_ids`, mode `opaque`, §5.6), the vote-key registrations carried so far
 *   (§3.3a), the nonce state after each epoch's last block, and one `ledger_checkpoint` row naming
 *   the point, its state hash and counts. All of them change together, in one transaction
 *   (stores/utxo), so they always describe one point.
 *
 * Times are Unix milliseconds in `bigint` columns (mode number) so both drivers agree exactly.
 * drizzle-orm 0.45 has no bytea column type: {@link bytea} is a customType; both drivers hand
 * back `Buffer` (a Uint8Array).
 *
 * @module
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  numeric,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** A Postgres `bytea` column holding exact received bytes. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
});

/** Every known RB header (selected chain and forks), with its received bytes (PROTOCOL.md §4.1). */
export const rbHeaders = pgTable(
  'rb_headers',
  {
    hash: bytea('hash').primaryKey(),
    slot: bigint('slot', { mode: 'number' }).notNull(),
    blockNo: bigint('block_no', { mode: 'number' }).notNull(),
    prevHash: bytea('prev_hash'),
    issuer: bytea('issuer').notNull(),
    bodyHash: bytea('body_hash').notNull(),
    bodySize: integer('body_size').notNull(),
    certifiedEb: boolean('certified_eb').notNull(),
    ebHash: bytea('eb_hash'),
    ebSize: integer('eb_size'),
    header: bytea('header').notNull(),
    receivedAt: bigint('received_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('rb_headers_slot_idx').on(t.slot, t.issuer),
    index('rb_headers_prev_idx').on(t.prevHash),
    index('rb_headers_eb_idx').on(t.ebHash),
  ],
);

/** RB bodies with their received bytes (PROTOCOL.md §4.2). */
export const rbBodies = pgTable('rb_bodies', {
  hash: bytea('hash')
    .primaryKey()
    .references(() => rbHeaders.hash, { onDelete: 'cascade' }),
  body: bytea('body').notNull(),
});

/** The selected chain: block number → hash. Contiguous from 1 to the tip. */
export const chain = pgTable(
  'chain',
  {
    blockNo: bigint('block_no', { mode: 'number' }).primaryKey(),
    hash: bytea('hash')
      .notNull()
      .references(() => rbHeaders.hash),
    slot: bigint('slot', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('chain_hash_idx').on(t.hash), index('chain_slot_idx').on(t.slot)],
);

/** Endorser blocks (received bytes) and their closure state (PROTOCOL.md §4.3, §10). */
export const ebs = pgTable(
  'ebs',
  {
    hash: bytea('hash').primaryKey(),
    bytes: bytea('bytes').notNull(),
    /** Announcing RB hash and slot (the EB's age for pruning). */
    rbHash: bytea('rb_hash').notNull(),
    slot: bigint('slot', { mode: 'number' }).notNull(),
    txCount: integer('tx_count').notNull(),
    /** Σ of the referenced tx sizes as stated in the EB (≤ S_EB_tx). */
    txBytes: bigint('tx_bytes', { mode: 'number' }).notNull(),
    /** Set only by a statement that checked every reference is present in `txs`. */
    complete: boolean('complete').notNull().default(false),
    /** Certified by an RB that is at or below the immutable tip: kept forever (PROTOCOL.md §10). */
    immutable: boolean('immutable').notNull().default(false),
    receivedAt: bigint('received_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('ebs_volatile_idx')
      .on(t.slot)
      .where(sql`not ${t.immutable}`),
  ],
);

/** The references of an EB in insertion (= application) order. */
export const ebTxs = pgTable(
  'eb_txs',
  {
    // No foreign key to ebs: a per-row FK check costs more than the rest of a 40,000-row
    // closure insert; EbStore deletes an EB's rows together with the EB.
    ebHash: bytea('eb_hash').notNull(),
    idx: integer('idx').notNull(),
    txHash: bytea('tx_hash').notNull(),
    txSize: integer('tx_size').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ebHash, t.idx] }), index('eb_txs_tx_idx').on(t.txHash)],
);

/** Tx bodies by reference hash `H256(full tx bytes)` (PROTOCOL.md §2.1), stored once. */
export const txs = pgTable(
  'txs',
  {
    hash: bytea('hash').primaryKey(),
    size: integer('size').notNull(),
    bytes: bytea('bytes').notNull(),
    /** Insertion time into the tx cache; null when only EB closures hold the tx. */
    cachedAt: bigint('cached_at', { mode: 'number' }),
  },
  (t) => [
    index('txs_cached_idx')
      .on(t.cachedAt)
      .where(sql`${t.cachedAt} is not null`),
  ],
);

/** Votes (PROTOCOL.md §6.2): one per (announcing RB hash, seat), raw bytes kept. */
export const votes = pgTable(
  'votes',
  {
    rbHash: bytea('rb_hash')
      .notNull()
      .references(() => rbHeaders.hash, { onDelete: 'cascade' }),
    seat: integer('seat').notNull(),
    signature: bytea('signature').notNull(),
    bytes: bytea('bytes').notNull(),
    receivedAt: bigint('received_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.rbHash, t.seat] }), index('votes_received_idx').on(t.receivedAt)],
);

/** Node metadata (key → bytes): e.g. the genesis hash the database was created for, so a node
 * refuses to start on a database of another network. */
export const nodeMeta = pgTable('node_meta', {
  key: text('key').primaryKey(),
  value: bytea('value').notNull(),
});

/**
 * The UTxO set at the ledger checkpoint (PROTOCOL.md §5.1): one row per unspent output. Amounts
 * are uint64, beyond `bigint`'s range, hence `numeric(20, 0)`.
 */
export const ledgerUtxo = pgTable(
  'ledger_utxo',
  {
    txId: bytea('tx_id').notNull(),
    idx: integer('idx').notNull(),
    address: bytea('address').notNull(),
    amount: numeric('amount', { precision: 20, scale: 0 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.txId, t.idx] })],
);

/** Ledger mode `opaque` (§5.6): the ids of the txs on the chain up to the ledger checkpoint. */
export const ledgerTxIds = pgTable('ledger_tx_ids', {
  id: bytea('id').primaryKey(),
});

/** Vote-key registrations (§3.3a) carried by blocks up to the ledger checkpoint, in chain order. */
export const ledgerKeyRegs = pgTable(
  'ledger_key_regs',
  {
    blockNo: bigint('block_no', { mode: 'number' }).notNull(),
    /** Order within the block. */
    position: integer('position').notNull(),
    /** Epoch of the carrying block (the key counts from epoch + 2). */
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    poolId: bytea('pool_id').notNull(),
    voteVk: bytea('vote_vk').notNull(),
    votePop: bytea('vote_pop').notNull(),
  },
  (t) => [primaryKey({ columns: [t.blockNo, t.position] })],
);

/** Nonce state (§3.4) after the last block of each epoch, up to the ledger checkpoint. */
export const ledgerNonces = pgTable('ledger_nonces', {
  epoch: bigint('epoch', { mode: 'number' }).primaryKey(),
  eta: bytea('eta').notNull(),
  acc: bytea('acc').notNull(),
});

/**
 * The one ledger checkpoint row: the chain point the `ledger_*` tables describe (block 0 with no
 * hash = genesis), its state hash, entry and tx counts, and the nonce state after that block.
 */
export const ledgerCheckpoint = pgTable(
  'ledger_checkpoint',
  {
    id: integer('id').primaryKey().default(1),
    mode: text('mode').notNull(),
    blockNo: bigint('block_no', { mode: 'number' }).notNull(),
    hash: bytea('hash'),
    slot: bigint('slot', { mode: 'number' }),
    stateHash: bytea('state_hash').notNull(),
    /** UTxO entries (mode utxo) or tx ids (mode opaque). */
    size: bigint('size', { mode: 'number' }).notNull(),
    txCount: bigint('tx_count', { mode: 'number' }).notNull(),
    nonceEpoch: bigint('nonce_epoch', { mode: 'number' }).notNull(),
    nonceEta: bytea('nonce_eta').notNull(),
    nonceAcc: bytea('nonce_acc').notNull(),
    writtenAt: bigint('written_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    check('ledger_checkpoint_one_row', sql`${t.id} = 1`),
    check('ledger_checkpoint_mode', sql`${t.mode} in ('utxo', 'opaque')`),
    check('ledger_checkpoint_origin', sql`(${t.blockNo} = 0) = (${t.hash} is null)`),
  ],
);
