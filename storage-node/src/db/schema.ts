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
  customType,
  index,
  integer,
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
