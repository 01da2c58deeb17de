/**
 * The Leios node: slot clock, ledger, mempool, block producer, voter and chain selection over the
 * storage node's database (PROTOCOL.md §3–§7).
 *
 * Primer: a {@link LeiosNode} is driven by two things only — the start of each slot (from its
 * {@link SlotClock}) and what its peers send it (`receiveHeader`, `receiveBlock`, `receiveEb`,
 * `receiveTxs`, `receiveVotes`, `submitTx`). The network layer (storage-node/src/net) calls those
 * methods and listens to the node's events (`header`, `block`, `tip`, `eb`, `eb-txs`, `votes`,
 * `tx`, `need-eb-txs`, `need-closure`, …) to announce and serve what the node holds over the
 * mini-protocols. Everything that changes state runs one at a time (an internal queue), so a
 * block arriving while the node produces never interleaves with it.
 *
 * - Chain selection (§7.4): a tree of recent blocks ({@link BlockTree}); the longest valid chain
 *   wins, ties keep the current one; a switch undoes the ledger block by block (exact undo deltas)
 *   and applies the new blocks; the mempool is then re-validated at the reapply level. A CertRB is
 *   adopted only after its certificate verifies (§6.5) and its closure is local (until then it
 *   is staged: `need-closure` asks the network for it at Praos priority); its EB's txs are then
 *   applied at no-validate, before the next block (§5.4).
 * - Producer (§7.3): a VRF-won slot yields a CertRB when the tip's EB has a quorum, the §7.2
 *   timing allows and the closure is held, else a TxRB; an EB carries the mempool txs that did not
 *   fit. The EB closure is stored before the block is adopted, and events fire after both.
 * - Voter (§6.4): for each seat the node holds, a vote once every rule holds: header on time, no
 *   equivocation by `T(s + 3·L_hdr)`, the RB is the tip, its EB's txs apply on the state after it,
 *   inside `[T(s + 3·L_hdr), T(s + 3·L_hdr + L_vote))`.
 * - Epochs (§3.3–3.5, §6.1): nonces ride on each block; committees come from {@link EpochState}.
 *
 * Recovery: the database holds the selected chain, every certified closure and a ledger
 * checkpoint at or below the immutable tip (stores/utxo: UTxO set, key registrations, nonces,
 * checked against its stored state hash), so a restarted node loads the checkpoint and replays
 * (no-validate) only the blocks above it. Store maintenance moves the checkpoint up to the
 * blocks that left the volatile suffix, in the transaction that promotes their closures.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { bytesEqual, fromHex, toHex } from '@leios/shared/bytes';
import type { CborReader } from '@leios/shared/cbor';
import { blake2b256, blsSign, vrfVerify, voteMessage } from '@leios/shared/crypto';
import { CertificateError, TxInvalidError } from '@leios/shared/errors';
import { BlockTxError, type LedgerParams, type LedgerVerifiers, poolLookup, readOpaqueTx, readTx, type UtxoEntry } from '@leios/shared/ledger';
import {
  buildCertificate,
  canCertify,
  decodeEb,
  encodeEb,
  type EbView,
  leiosWindows,
  mempoolCapacity,
  type PoolInput,
  type ProtocolParams,
  stabilityWindow,
  voteArrivalInWindow,
  verifyCertificate,
} from '@leios/shared/protocol';
import type { Epoch, Hash32, PoolId, Slot } from '@leios/shared/types';
import type { Database, TxContext } from '../db/index';
import { isStorageError } from '../errors/index';
import { ChainDb, type RbBlockInput, rbHeaderInput } from '../stores/chain-db/index';
import { EbStore } from '../stores/eb-store/index';
import { NodeMeta } from '../stores/node-meta/index';
import { TxCache } from '../stores/tx-cache/index';
import { GENESIS_POINT, type LedgerCheckpoint, UtxoStore } from '../stores/utxo/index';
import { type VoteInput, VoteStore } from '../stores/vote-store/index';
import {
  type BodyInfo,
  decodeBody,
  decodeHeader,
  decodeVote,
  encodeBlock,
  encodeBody,
  encodeHeader,
  encodeVote,
  type HeaderInfo,
  headerSignatureOk,
  splitBlock,
} from './blocks';
import { BlockTree, type TreeEntry } from './chain/index';
import { SlotClock, type TimeSource } from './clock/index';
import { childNonceState, EpochState, genesisNonceState, type NonceState, rollToEpoch, type StakeScheduleEntry } from './epoch/index';
import { BlockRejectedError, EbRejectedError, MempoolRejectedError, NodeStateError } from './errors';
import { type AnyTx, type AppliedBlock, type ImmutableBlock, ImmutableLedger, LedgerState } from './ledger/index';
import { Mempool, type MempoolEntry } from './mempool/index';
import { AnnounceCostModel, selectTxs } from './producer';
import { type ReceiveVotesResult, VotePool } from './votes/index';

export * from './errors';

/** What the node needs from genesis (PROTOCOL.md §3.1), already parsed and validated. */
export interface NodeGenesis {
  readonly systemStartMs: number;
  readonly networkMagic: number;
  readonly params: ProtocolParams;
  readonly initialNonce: Hash32;
  readonly pools: readonly PoolInput[];
  readonly stakeSchedule?: readonly StakeScheduleEntry[];
  readonly initialUtxo: readonly UtxoEntry[];
}

/** The secret keys of a pool this node runs. */
export interface PoolKeys {
  readonly poolId: PoolId;
  /** Ed25519 cold key seed (32 bytes). */
  readonly coldSeed: Uint8Array;
  readonly coldVk: Uint8Array;
  /** BLS VRF secret key. */
  readonly vrfSecretKey: Uint8Array;
  /** BLS vote secret key (null: the pool never votes). */
  readonly voteSecretKey: Uint8Array | null;
  /** Its public key, to recognise our seat's registered key. */
  readonly votePublicKey: Uint8Array | null;
}

/** A trace event (PROTOCOL.md §14.1). */
export interface TraceEvent {
  readonly time_s: number;
  readonly message: { readonly type: string } & Record<string, unknown>;
}

/** Options of {@link LeiosNode.create}. */
export interface LeiosNodeOptions {
  /** Node name (traces, logs). */
  readonly name: string;
  readonly genesis: NodeGenesis;
  readonly database: Database;
  readonly time: TimeSource;
  /** Pools this node produces and votes for (none: a passive node). */
  readonly pools?: readonly PoolKeys[];
  /** Mempool capacity in bytes (default `2·(S_RB + S_EB_tx)`). */
  readonly mempoolCapacityBytes?: number;
  /** Produce blocks for the pools (default true; false: vote only). */
  readonly produce?: boolean;
  /**
   * Time from the slot start by which a produced RB is announced, in ms (default half a slot).
   * The EB is cut to what fits: selection stops when the time spent plus the learned cost of
   * writing and announcing the EB so far would pass it (see producer.ts AnnounceCostModel).
   */
  readonly ebBudgetMs?: number;
  /**
   * EB work (its part of selection plus its write) the budget never cuts below, in ms (default a
   * quarter of `ebBudgetMs`): a late slot still carries an EB of that size.
   */
  readonly minEbMs?: number;
  /** Trace sink (§14.1). */
  readonly trace?: (e: TraceEvent) => void;
  /** Faster signature verifiers for the ledger (storage-node/src/crypto-backends); default noble. */
  readonly ledgerVerifiers?: LedgerVerifiers;
  /**
   * `H256(genesis file bytes)` (§3.1): recorded in the database at the first start; a database
   * recorded for another genesis is refused (`NodeStateError` `genesis-mismatch`).
   */
  readonly genesisHash?: Hash32;
  /** Run store maintenance (promotion, pruning, tx-cache and vote eviction) every this many slots (default 10). */
  readonly maintenanceEverySlots?: number;
}

/** Events of a node, for the network layer and observers. */
export interface LeiosNodeEvents {
  /** A valid header was added (any chain). */
  header: [h: HeaderInfo];
  /** A block (header + body) was stored; `bytes` is the rb_block. */
  block: [h: HeaderInfo, bytes: Uint8Array];
  /** The selected chain changed: `rolledBack` blocks undone, `adopted` applied (oldest first). */
  tip: [change: { tip: HeaderInfo | null; rolledBack: HeaderInfo[]; adopted: HeaderInfo[] }];
  /** An EB body is held and verified (BlockOffer). */
  eb: [info: { ebHash: Hash32; rbHash: Hash32; slot: number; size: number }];
  /** An EB's closure is complete (BlockTxsOffer). */
  'eb-txs': [info: { ebHash: Hash32; rbHash: Hash32; slot: number }];
  /** Votes to diffuse (own or newly accepted). */
  votes: [bytes: Uint8Array[]];
  /** A tx entered the mempool. */
  tx: [e: { refHash: Hash32; txId: Hash32; size: number; bytes: Uint8Array }];
  /** An announced EB body is wanted. */
  'need-eb': [info: { ebHash: Hash32; rbHash: Hash32; slot: number; size: number }];
  /** Closure txs of an EB are wanted (indices into the EB). */
  'need-eb-txs': [info: { ebHash: Hash32; slot: number; indices: number[] }];
  /** A CertRB waits for its closure: fetch it at Praos priority (§7.2, §13.1). */
  'need-closure': [info: { ebHash: Hash32; certRb: Hash32; slot: number }];
  /** Two headers for one (slot, issuer) (§7.4). */
  equivocation: [a: HeaderInfo, b: HeaderInfo];
  /** An RB's votes reached quorum. */
  quorum: [rbHash: Hash32];
  /** A block this node produced (already adopted). */
  produced: [
    h: HeaderInfo,
    info: {
      kind: 'tx' | 'cert';
      txs: number;
      ebTxs: number;
      /** The EB was cut by the announcement budget, not by the caps or the mempool. */
      ebTruncated: boolean;
      /** Real ms from the start of this production to the announcement. */
      announceMs: number;
      timings: { selectMs: number; buildMs: number; storeMs: number; adoptMs: number };
    },
  ];
  /** A problem the node handled but an operator should see. */
  warning: [w: { what: string; detail: string }];
}

interface BlockData {
  readonly header: HeaderInfo;
  /** Nonce bookkeeping after this block. */
  readonly nonce: NonceState;
  readonly receivedAt: number;
  body?: { readonly bytes: Uint8Array; readonly info: BodyInfo<AnyTx>; readonly blockBytes: Uint8Array };
  /** Produced here: its txs were checked at admission, so they apply at reapply. */
  trusted: boolean;
  closureRequested?: boolean;
}

interface EbState {
  readonly hash: Hash32;
  readonly rbHash: Hash32;
  readonly slot: number;
  readonly size: number;
  readonly announcedAt: number;
  view?: EbView;
  indexByRef?: Map<string, number>;
  complete: boolean;
  /** Set when the EB is known bad (size mismatch, malformed, bad tx): never voted on, never offered. */
  invalid?: string;
  /**
   * Held and complete, past its vote window: the decoded view and reference index were released
   * (§13.3: Leios buffers stay bounded; the EB and its closure are in the database).
   */
  released?: boolean;
  /** Decoded closure in reference order, once loaded. */
  txs?: AnyTx[];
  /** Voting done or impossible (per EB, §6.4: at most once). */
  voteDone: boolean;
  /**
   * The closure was checked (§6.4 rule 4) on the state after its RB and applies. Checked as soon
   * as the closure is complete and the RB is the tip, so the vote itself costs nothing at
   * `T(s + 3·L_hdr)`; the state after the RB does not depend on when it is checked.
   */
  closureOk?: boolean;
  closureAt?: number;
}

type Entry = TreeEntry<BlockData>;

/** A produced block's extra writes (its EB and closure), stored in the transaction that adopts it. */
interface OwnWrite {
  readonly entry: Entry;
  write(tx: TxContext): Promise<void>;
  /** After the commit. */
  committed(): Promise<void>;
}

/**
 * A Leios node.
 *
 * @example
 * ```ts
 * const node = await LeiosNode.create({ name: 'n1', genesis, database, time: new SystemTime(), pools: [keys] });
 * node.on('header', (h) => relay.announce(h.bytes));
 * node.start();
 * await node.submitTx(txBytes);
 * ```
 */
export class LeiosNode extends EventEmitter<LeiosNodeEvents> {
  readonly name: string;
  readonly params: ProtocolParams;
  readonly clock: SlotClock;
  readonly chainDb: ChainDb;
  readonly ebStore: EbStore;
  /**
   * Admitted txs, written to the database in the background, so that an EB's closure is mostly
   * present before the EB exists (peers' EBs complete without fetching; our own EB stores only
   * its references at production time).
   */
  readonly txCache: TxCache;
  readonly ledger: LedgerState;
  /** The ledger checkpoint in the database (stores/utxo), written by store maintenance. */
  readonly utxoStore: UtxoStore;
  /** The stored checkpoint and the immutable blocks not yet written to it (set at start-up). */
  private immutableLedger!: ImmutableLedger;
  /** What the last start-up did: the checkpoint it loaded and the blocks it replayed above it. */
  readonly recoveryStats = { checkpointBlockNo: 0, replayedBlocks: 0 };
  readonly mempool: Mempool<AnyTx>;
  readonly epochs: EpochState;
  readonly votes: VotePool;
  /**
   * Verified votes, persisted (issue 3 item 5) so that a restarted producer still holds the votes
   * of RBs it may yet certify; evicted after VOTE_RETENTION.
   */
  readonly voteStore: VoteStore;
  readonly tree: BlockTree<BlockData>;
  private readonly pools: readonly PoolKeys[];
  private readonly ebs = new Map<string, EbState>();
  private readonly genesisNonce: NonceState;
  /** Nonce state of the tree's anchor (the block below the oldest one in memory). */
  private anchorNonce: NonceState;
  private readonly nonceParams: { epochLength: number; stabilityWindow: number };
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly ledgerParams: LedgerParams;
  /** Nonce state after the last selected-chain block of each epoch (for η of past epochs). */
  private readonly lastNonceByEpoch = new Map<number, NonceState>();
  /**
   * Reference hashes of txs whose exact bytes passed the *apply* level here (mempool admission, or
   * an earlier closure check): their signatures hold, since witnesses depend only on the tx
   * bytes, so the voter re-checks them at *reapply* (UTxO, balance, TTL still run). Bounded,
   * oldest forgotten first (a forgotten tx is merely checked in full again).
   */
  private readonly sigChecked = new Set<string>();
  private static readonly SIG_CHECKED_MAX = 1 << 18;
  /** Equivocations seen: key `slot:issuer` → first time seen. */
  private readonly equivocationSeen = new Map<string, number>();
  /** Counters for tests, benchmarks and the dashboard. */
  readonly stats = { produced: 0, certified: 0, ebsProduced: 0, votesCast: 0, rollbacks: 0, switches: 0 };

  private constructor(
    private readonly opts: LeiosNodeOptions,
    readonly genesis: NodeGenesis,
  ) {
    super();
    this.name = opts.name;
    this.params = genesis.params;
    const p = this.params;
    this.ledgerParams = { maxTxSize: p.maxTxSize, minFeeA: p.minFeeA, minFeeB: p.minFeeB };
    this.clock = new SlotClock({ systemStartMs: genesis.systemStartMs, slotLengthMs: p.slotLengthMs, epochLength: p.epochLength }, opts.time);
    this.chainDb = new ChainDb(opts.database, { k: p.securityParam, now: () => opts.time.now() });
    this.ebStore = new EbStore(opts.database, this.chainDb, {
      limits: { maxEbSize: p.maxEbSize, maxEbTxBytes: p.maxEbTxBytes, maxTxSize: p.maxTxSize },
      now: () => opts.time.now(),
    });
    this.txCache = new TxCache(opts.database, {
      maxTxSize: p.maxTxSize,
      // the mempool can hold 2·(S_RB + S_EB_tx) bytes: keep the cache at least that large
      maxBytes: Math.max(128 * 2 ** 20, opts.mempoolCapacityBytes ?? mempoolCapacity(p)),
      now: () => opts.time.now(),
      afterFlush: (hashes) => this.ebStore.refreshCompleteness(hashes),
    });
    this.ledger = new LedgerState({
      mode: p.ledgerMode,
      initialUtxo: genesis.initialUtxo,
      params: this.ledgerParams,
      pools: poolLookup(genesis.pools),
      ...(opts.ledgerVerifiers ? { verifiers: opts.ledgerVerifiers } : {}),
    });
    this.utxoStore = new UtxoStore(opts.database, { now: () => opts.time.now() });
    this.mempool = new Mempool(this.ledger.mempoolLedger(), { capacityBytes: opts.mempoolCapacityBytes ?? mempoolCapacity(p) });
    this.epochs = new EpochState({ pools: genesis.pools, stakeSchedule: genesis.stakeSchedule ?? [], params: p });
    this.tree = new BlockTree(p.securityParam);
    this.pools = opts.pools ?? [];
    this.genesisNonce = genesisNonceState(genesis.initialNonce);
    this.anchorNonce = this.genesisNonce;
    this.nonceParams = { epochLength: p.epochLength, stabilityWindow: stabilityWindow(p) };
    this.votes = new VotePool({
      decode: decodeVote,
      rb: (h) => {
        const e = this.tree.get(h);
        return e ? { slot: e.header.slot, announcesEb: e.data.header.ebAnnouncement !== null } : undefined;
      },
      committeeForSlot: (slot) => this.epochs.committee(this.clock.epochOf(slot)),
      inWindow: (slot, now) => voteArrivalInWindow(this.genesisClock(), slot, now, p),
      bufferTtlMs: p.lVote * p.slotLengthMs,
    });
    this.voteStore = new VoteStore(opts.database, {
      weightOf: (_rb, slot) => {
        const c = this.epochs.committee(this.clock.epochOf(slot));
        return { seatWeight: (seat) => c.seat(seat)?.stake, totalStake: c.totalStake, quorum: c.quorum };
      },
      now: () => opts.time.now(),
    });
    this.ebStore.onClosureComplete((h) => {
      void this.serial(() => this.closureComplete(h)).catch((e) => this.warn('closure', String(e)));
    });
    this.mempool.onAdded((e) => {
      this.noteSigChecked(toHex(e.refHash));
      this.txCache.insert(e.bytes);
      this.emit('tx', { refHash: e.refHash, txId: e.txId, size: e.size, bytes: e.bytes });
    });
    this.clock.onSlot((s) => this.serial(() => this.onSlot(s)));
  }

  /**
   * Create a node over its database, recovering the selected chain, ledger state, nonces and key
   * registrations from it (no-validate replay of the stored blocks and certified closures).
   */
  static async create(opts: LeiosNodeOptions): Promise<LeiosNode> {
    if (opts.genesisHash) {
      const r = await new NodeMeta(opts.database).checkGenesis(opts.genesisHash);
      if (r.status === 'mismatch') {
        throw new NodeStateError(
          'genesis-mismatch',
          `database ${opts.database.location} was created for genesis ${toHex(r.stored)}, not ${toHex(opts.genesisHash)}`,
        );
      }
    }
    const node = new LeiosNode(opts, opts.genesis);
    // after a crash: closures completed by txs that landed without flipping the flag, and the
    // tx cache's index (DESIGN.md §5)
    await node.ebStore.refreshCompleteness();
    await node.txCache.load();
    await node.recover();
    await node.restoreVotes();
    return node;
  }

  /** Start the slot clock. */
  start(): void {
    this.stopped = false;
    this.clock.start();
  }

  /**
   * Stop the clock, wait for queued work, write the blocks that left the volatile suffix since
   * the last maintenance into the ledger checkpoint (so a restart replays fewer) and flush the
   * tx cache.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.stop();
    await this.queue.catch(() => undefined);
    await this.maintenance;
    await this.promoteAndCheckpoint().catch((err: unknown) => this.warn('maintenance', String(err)));
    await this.txCache.close();
  }

  /** The ledger checkpoint the database holds (as far as this node wrote or loaded it). */
  ledgerCheckpoint(): LedgerCheckpoint {
    return this.immutableLedger.checkpoint;
  }

  /** Wait until all queued work is done. */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue;
      await q.catch(() => undefined);
      if (q === this.queue) return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  /** The selected tip header, or null at origin. */
  tipHeader(): HeaderInfo | null {
    return this.tree.tip()?.data.header ?? null;
  }

  /** The ledger state hash of the selected tip. */
  stateHash(): Hash32 {
    return this.ledger.stateHash();
  }

  /** The current wall-clock slot. */
  currentSlot(): Slot {
    return this.clock.currentSlot();
  }

  /** η of `epoch` as seen from the selected chain (past epochs included). */
  nonceForEpoch(epoch: number): Hash32 {
    const t = this.tree.tip();
    const tipState = t ? t.data.nonce : this.anchorNonce;
    if (epoch >= tipState.epoch) return rollToEpoch(tipState, epoch).eta;
    // the state after the last block of the latest epoch <= `epoch` that had blocks
    let best: NonceState = this.genesisNonce;
    for (const [e, st] of this.lastNonceByEpoch) if (e <= epoch && e >= best.epoch) best = st;
    return rollToEpoch(best, epoch).eta;
  }

  /** A known header (in memory or stored). */
  header(hash: Uint8Array): HeaderInfo | undefined {
    return this.tree.get(hash)?.data.header;
  }

  /** Exact `rb_block` bytes of a block held in memory or stored. */
  async blockBytes(hash: Hash32): Promise<Uint8Array | undefined> {
    const e = this.tree.get(hash);
    if (e?.data.body) return e.data.body.blockBytes;
    const b = await this.chainDb.getBlock(hash);
    return b ? encodeBlock(b.header.bytes, b.body) : undefined;
  }

  /** State of an EB known to the node. */
  ebInfo(ebHash: Uint8Array): { rbHash: Hash32; slot: number; size: number; held: boolean; complete: boolean; invalid?: string } | undefined {
    const s = this.ebs.get(toHex(ebHash));
    if (!s) return undefined;
    return { rbHash: s.rbHash, slot: s.slot, size: s.size, held: s.view !== undefined || s.released === true, complete: s.complete, ...(s.invalid ? { invalid: s.invalid } : {}) };
  }

  // -------------------------------------------------------------------------------------------
  // Inputs

  /** Submit a tx (HTTP or tx-submission). Throws {@link MempoolRejectedError}. */
  submitTx(bytes: Uint8Array): Promise<MempoolEntry<AnyTx>> {
    return this.serial(async () => this.mempool.add(bytes, this.clock.currentSlot()));
  }

  /**
   * A header from a peer (chain-sync RollForward, LeiosNotify BlockAnnouncement). Validates §4.1
   * against its parent; returns `'new'` or `'known'`. Throws {@link BlockRejectedError}
   * (`unknown-parent` when the caller should fetch more of that chain).
   */
  receiveHeader(bytes: Uint8Array): Promise<'new' | 'known'> {
    return this.serial(() => this.addHeader(bytes));
  }

  /** A block from a peer (block-fetch). Throws {@link BlockRejectedError}. */
  receiveBlock(bytes: Uint8Array): Promise<void> {
    return this.serial(async () => {
      const { header, body } = this.guardDecode(() => splitBlock(bytes, this.params.maxHeaderSize, this.params.maxRbBodySize));
      await this.addHeader(header);
      const hash = blake2b256(header);
      await this.addBody(hash, body, bytes, false);
      const failures = await this.select();
      const mine = failures.find((f) => bytesEqual(f.hash, hash));
      if (mine) throw mine.error;
    });
  }

  /**
   * An EB body from a peer (LeiosFetch Block); `sender` (the peer's node name, when known) goes
   * into the `EBReceived` trace (§14.1). Throws {@link EbRejectedError}.
   */
  receiveEb(bytes: Uint8Array, sender?: string): Promise<void> {
    return this.serial(() => this.addEb(bytes, sender));
  }

  /**
   * Closure txs of an EB from a peer (LeiosFetch BlockTxs); `sender` names the peer in the
   * rejection of a bad batch. Throws {@link EbRejectedError}.
   */
  receiveTxs(ebHash: Hash32, txs: readonly Uint8Array[], sender?: string): Promise<void> {
    return this.serial(async () => {
      try {
        await this.addEbTxs(ebHash, txs);
      } catch (err) {
        if (sender !== undefined && err instanceof EbRejectedError) {
          throw new EbRejectedError(err.code, `${err.detail} (from ${sender})`, { cause: err });
        }
        throw err;
      }
    });
  }

  /** Votes from a peer or the HTTP API (§6.3). Accepted votes are re-emitted for diffusion. */
  receiveVotes(bytes: readonly Uint8Array[]): Promise<ReceiveVotesResult> {
    return this.serial(async () => {
      const r = this.votes.receive(bytes, this.opts.time.now());
      await this.persistVotes(r.accepted);
      if (r.accepted.length > 0) this.emit('votes', r.accepted);
      for (const h of r.quorum) this.quorumReached(h);
      return r;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals: serialisation

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    // The mempool is re-validated after the task, i.e. after its announcements went out: a
    // producer's RB must not wait for a pass over a full mempool (§5.5 re-validation still
    // happens before any other input is handled, since tasks never interleave).
    const run = this.queue.then(fn, fn).finally(() => this.settleMempool());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private mempoolDirty = false;
  private settleMempool(): void {
    if (!this.mempoolDirty) return;
    this.mempoolDirty = false;
    this.mempool.revalidate(this.clock.currentSlot());
  }

  private genesisClock(): { systemStartMs: number; slotLengthMs: number } {
    return { systemStartMs: this.genesis.systemStartMs, slotLengthMs: this.params.slotLengthMs };
  }

  private warn(what: string, detail: string): void {
    this.emit('warning', { what, detail });
  }

  private trace(type: string, fields: Record<string, unknown>): void {
    this.opts.trace?.({ time_s: this.clock.timeS(), message: { type, ...fields } });
  }

  private guardDecode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if ((e as { kind?: string }).kind === 'decode') throw new BlockRejectedError('malformed', (e as Error).message, {}, { cause: e });
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Headers (§4.1) and equivocation (§7.4)

  private parentNonce(h: HeaderInfo): NonceState {
    if (h.prevHash === null) return this.genesisNonce;
    return this.tree.get(h.prevHash)?.data.nonce ?? this.anchorNonce;
  }

  /** The §4.1 checks that need no parent state: issuer, VRF, leadership, signature, sizes. */
  private checkHeaderStateless(h: HeaderInfo, nonce: NonceState): void {
    const p = this.params;
    const reject = (detail: string): never => {
      throw new BlockRejectedError('header-invalid', detail, { rb: toHex(h.hash), slot: h.slot });
    };
    if (h.slot > this.clock.slotAt(this.opts.time.now() + p.maxSkewMs)) reject(`slot ${h.slot} is in the future`);
    if (h.bodySize > p.maxRbBodySize) reject(`body_size ${h.bodySize} > S_RB`);
    if (h.ebAnnouncement && (h.ebAnnouncement.size < 1 || h.ebAnnouncement.size > p.maxEbSize)) reject('eb_size outside 1..S_EB');
    const epoch = this.clock.epochOf(h.slot);
    if (epoch < nonce.epoch) reject(`slot ${h.slot} is in an epoch before ${nonce.epoch}`);
    const pool = this.epochs.leaderPool(epoch, h.issuer);
    if (!pool || !bytesEqual(pool.pool.coldVk, h.issuerColdVk)) reject('issuer is not a pool of the epoch snapshot with that cold key');
    if (!headerSignatureOk(h)) reject('bad cold-key signature');
    const eta = rollToEpoch(nonce, epoch).eta;
    if (!pool?.vrfKey || !vrfVerify(pool.vrfKey, eta, h.slot, h.vrfProof, h.vrfOutput)) reject('leader VRF does not verify');
    if (!this.epochs.isLeader(epoch, h.issuer, h.vrfOutput)) reject('issuer is not slot leader');
  }

  private async addHeader(bytes: Uint8Array): Promise<'new' | 'known'> {
    const h = this.guardDecode(() => decodeHeader(bytes, this.params.maxHeaderSize));
    if (this.tree.has(h.hash)) return 'known';
    const now = this.opts.time.now();
    if (!this.tree.parentKnown(h)) {
      // A valid header with an unknown parent is still equivocation evidence (§7.4) if it
      // collides with one we hold. Its nonce comes from a chain we do not have, so a failed
      // check proves nothing against the sender: the answer stays `unknown-parent`.
      try {
        this.checkHeaderStateless(h, this.tree.tip()?.data.nonce ?? this.anchorNonce);
        this.noteEquivocation(h, now);
      } catch (e) {
        if (!(e instanceof BlockRejectedError)) throw e;
      }
      throw new BlockRejectedError('unknown-parent', `parent of ${toHex(h.hash)} is not known`, { rb: toHex(h.hash), slot: h.slot });
    }
    const parent = h.prevHash ? this.tree.get(h.prevHash) : undefined;
    const parentHeader = parent?.data.header;
    // a parent that left memory is the anchor: its number comes from the anchor point
    const parentNo = parentHeader?.blockNo ?? (h.prevHash ? this.anchorBlockNo() : 0);
    const parentSlot = parentHeader?.slot ?? -1;
    if (h.blockNo !== parentNo + 1 || h.slot <= parentSlot) {
      throw new BlockRejectedError('not-connected', `block ${h.blockNo} at slot ${h.slot} does not follow its parent`, { rb: toHex(h.hash) });
    }
    if (h.certifiedEb && parentHeader && !parentHeader.ebAnnouncement) {
      throw new BlockRejectedError('header-invalid', 'certified_eb set but the parent announces no EB', { rb: toHex(h.hash) });
    }
    const nonce = this.parentNonce(h);
    this.checkHeaderStateless(h, nonce);
    const data: BlockData = {
      header: h,
      nonce: childNonceState(nonce, h.slot, h.vrfOutput, this.nonceParams),
      receivedAt: now,
      trusted: false,
    };
    this.tree.add(h, data);
    this.noteEquivocation(h, now);
    await this.chainDb.putHeader(rbHeaderInput(h));
    if (h.ebAnnouncement) {
      const k = toHex(h.ebAnnouncement.hash);
      if (!this.ebs.has(k)) {
        this.ebs.set(k, {
          hash: h.ebAnnouncement.hash,
          rbHash: h.hash,
          slot: h.slot,
          size: h.ebAnnouncement.size,
          announcedAt: now,
          complete: false,
          voteDone: false,
        });
        this.emit('need-eb', { ebHash: h.ebAnnouncement.hash, rbHash: h.hash, slot: h.slot, size: h.ebAnnouncement.size });
      }
      const r = this.votes.onHeader(h.hash, now);
      await this.persistVotes(r.accepted);
      if (r.accepted.length > 0) this.emit('votes', r.accepted);
      for (const q of r.quorum) this.quorumReached(q);
    }
    this.emit('header', h);
    return 'new';
  }

  private anchorBlockNo(): number {
    const chain = this.tree.selectedChain();
    const first = chain[0];
    return first ? first.header.blockNo - 1 : this.tree.tipPoint().blockNo;
  }

  private noteEquivocation(h: HeaderInfo, now: number): void {
    const others = this.tree.equivocations(h);
    if (others.length === 0) return;
    const key = `${h.slot}:${toHex(h.issuer)}`;
    if (!this.equivocationSeen.has(key)) {
      this.equivocationSeen.set(key, now);
      this.trace('EquivocationDetected', { node: this.name, slot: h.slot, issuer: toHex(h.issuer) });
      this.emit('equivocation', others[0]!.data.header, h);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Bodies (§4.2) and certificates (§6.5, §7.2)

  private decodeBodyInfo(body: Uint8Array): BodyInfo<AnyTx> {
    const o = { maxTxSize: this.params.maxTxSize };
    const read =
      this.params.ledgerMode === 'utxo'
        ? (r: CborReader, path: string): AnyTx => readTx(r, path, o)
        : (r: CborReader, path: string): AnyTx => readOpaqueTx(r, path, o);
    return decodeBody(body, read);
  }

  private async addBody(hash: Hash32, body: Uint8Array, blockBytes: Uint8Array | null, trusted: boolean): Promise<void> {
    const e = this.tree.get(hash);
    if (!e) throw new BlockRejectedError('unknown-parent', `header ${toHex(hash)} not known`);
    if (e.data.body) return;
    const h = e.data.header;
    const ctx = { rb: toHex(hash), slot: h.slot };
    if (body.length !== h.bodySize || !bytesEqual(blake2b256(body), h.bodyHash)) {
      throw new BlockRejectedError('body-mismatch', 'body does not match body_hash / body_size', ctx);
    }
    let info: BodyInfo<AnyTx>;
    try {
      info = this.decodeBodyInfo(body);
    } catch (err) {
      this.tree.markInvalid(hash);
      if (err instanceof TxInvalidError) throw new BlockRejectedError('tx-invalid', err.message, ctx, { cause: err });
      throw new BlockRejectedError('malformed', (err as Error).message, ctx, { cause: err });
    }
    if (h.certifiedEb !== (info.certificate !== null) || (info.certificate && info.txs.length > 0)) {
      this.tree.markInvalid(hash);
      throw new BlockRejectedError('body-mismatch', 'certified_eb disagrees with the body, or a CertRB carries txs (§4.2)', ctx);
    }
    if (info.certificate && !trusted) this.checkCertificate(e, info.certificate);
    e.data.body = { bytes: body, info, blockBytes: blockBytes ?? encodeBlock(h.bytes, body) };
    this.emit('block', h, e.data.body.blockBytes);
  }

  private checkCertificate(e: Entry, cert: NonNullable<BodyInfo<AnyTx>['certificate']>): void {
    const h = e.data.header;
    const ctx = { rb: toHex(h.hash), slot: h.slot };
    const parent = h.prevHash ? this.tree.get(h.prevHash) : undefined;
    const ph = parent?.data.header;
    if (!ph?.ebAnnouncement) {
      this.tree.markInvalid(h.hash);
      throw new BlockRejectedError('certificate-invalid', 'parent announces no EB (or is no longer held)', ctx);
    }
    if (!canCertify(ph.slot, h.slot, this.params)) {
      this.tree.markInvalid(h.hash);
      throw new BlockRejectedError('certificate-invalid', `slot ${h.slot} is before ${ph.slot} + 3·L_hdr + L_vote + L_diff (§7.2)`, ctx);
    }
    try {
      verifyCertificate(cert, this.epochs.committee(this.clock.epochOf(ph.slot)), ph.hash);
    } catch (err) {
      if (err instanceof CertificateError) {
        this.tree.markInvalid(h.hash);
        throw new BlockRejectedError('certificate-invalid', `${err.error}: ${err.detail}`, ctx, { cause: err });
      }
      throw err;
    }
  }

  /** Ready to apply: body held and, for a CertRB, the parent's closure local (§7.2). */
  private ready(e: Entry): boolean {
    const b = e.data.body;
    if (!b) return false;
    if (!b.info.certificate) return true;
    const ph = e.header.prevHash ? this.tree.get(e.header.prevHash)?.data.header : undefined;
    const ann = ph?.ebAnnouncement;
    if (!ann) return false;
    const eb = this.ebs.get(toHex(ann.hash));
    if (eb?.complete) return true;
    if (!e.data.closureRequested) {
      e.data.closureRequested = true;
      this.emit('need-closure', { ebHash: ann.hash, certRb: e.header.hash, slot: ph.slot });
    }
    return false;
  }

  private async closureTxs(eb: EbState): Promise<AnyTx[]> {
    if (eb.txs) return eb.txs;
    const raw = await this.ebStore.getClosure(eb.hash);
    eb.txs = raw.map((b) => this.ledger.decodeTx(b.slice()));
    return eb.txs;
  }

  // -------------------------------------------------------------------------------------------
  // Chain selection (§7.4)

  /** Follow the best chain; returns the blocks found invalid on the way. */
  private async select(own?: OwnWrite): Promise<{ hash: Hash32; error: BlockRejectedError }[]> {
    const failures: { hash: Hash32; error: BlockRejectedError }[] = [];
    for (let guard = 0; guard < 64; guard++) {
      const plan = this.tree.plan((e) => this.ready(e));
      if (!plan) return failures;
      const rolledBack: HeaderInfo[] = [];
      for (const e of plan.rollback) {
        this.ledger.undoBlock(e.header.hash);
        this.epochs.rollbackTo(e.header.blockNo - 1);
        rolledBack.push(e.data.header);
      }
      if (plan.rollback.length > 0) this.resetNonceHistory(plan.intersection);
      const applied: Entry[] = [];
      let failed: { e: Entry; err: unknown } | null = null;
      for (const e of plan.forward) {
        try {
          await this.applyToLedger(e, e.data.trusted ? 'reapply' : 'apply');
          applied.push(e);
        } catch (err) {
          failed = { e, err };
          break;
        }
      }
      if (failed) {
        // Restore the previous chain exactly: undo what was applied, redo what was rolled back.
        for (const e of applied.reverse()) {
          this.ledger.undoBlock(e.header.hash);
          this.epochs.rollbackTo(e.header.blockNo - 1);
        }
        if (applied.length > 0) this.resetNonceHistory(plan.intersection);
        for (const e of [...plan.rollback].reverse()) await this.applyToLedger(e, 'noValidate');
        this.tree.markInvalid(failed.e.header.hash);
        if (!(failed.err instanceof BlockRejectedError)) throw failed.err;
        failures.push({ hash: failed.e.header.hash, error: failed.err });
        // an invalid block is no EB drop (§14.1 reasons): operators see it as a warning
        this.warn('block-invalid', `${toHex(failed.e.header.hash)}: ${String(failed.err)}`);
        continue;
      }
      const intersection = plan.intersection?.header.hash ?? this.anchorHash();
      const blocks = plan.forward.map((e) => toBlockInput(e));
      const withOwn = own && plan.forward.includes(own.entry) ? own : undefined;
      if (withOwn) {
        own = undefined;
        await this.opts.database.transaction(async (tx) => {
          await withOwn.write(tx);
          await this.chainDb.switchFork(intersection, blocks, tx);
        });
        await withOwn.committed();
      } else await this.chainDb.switchFork(intersection, blocks);
      this.tree.setSelected(plan);
      if (plan.rollback.length > 0) {
        this.stats.rollbacks += plan.rollback.length;
        this.stats.switches++;
        this.trace('ChainSwitch', {
          node: this.name,
          from: toHex(plan.rollback[0]!.header.hash),
          to: toHex(plan.forward[plan.forward.length - 1]!.header.hash),
          depth: plan.rollback.length,
        });
      }
      for (const e of plan.forward) {
        if (e.data.body?.info.certificate) this.stats.certified++;
        else this.traceDropped(e);
      }
      // §5.5: included txs and double spends leave; the rest is re-checked at reapply (at the
      // end of the current task, see serial())
      this.mempoolDirty = true;
      this.afterTipChange();
      this.emit('tip', { tip: this.tipHeader(), rolledBack, adopted: plan.forward.map((e) => e.data.header) });
      // An EB may now be votable (its RB became the tip). Not while adopting our own block: the
      // vote check (closure validation) must not delay the announcement, and no vote is due
      // before T(s + 3·L_hdr) anyway (§6.4 rule 6); onSlot runs tryVoteAll right after producing.
      if (!withOwn) await this.tryVoteAll();
    }
    return failures;
  }

  /**
   * `e` was adopted without a certificate on top of an RB that announced an EB: that EB can no
   * longer be certified (§7.2). §14.1 reasons: `too-early` (the child came before
   * `s + 3·L_hdr + L_vote + L_diff`), `no-quorum` (in time, but no quorum held here), `superseded`
   * (quorum and time were there, the producer still left it out).
   */
  private traceDropped(e: Entry): void {
    const parent = e.header.prevHash ? this.tree.get(e.header.prevHash) : undefined;
    const ann = parent?.data.header.ebAnnouncement;
    if (!parent || !ann) return;
    const reason = !canCertify(parent.header.slot, e.header.slot, this.params)
      ? 'too-early'
      : !this.votes.hasQuorum(parent.header.hash)
        ? 'no-quorum'
        : 'superseded';
    this.trace('EBDropped', { node: this.name, id: toHex(ann.hash), reason });
  }

  /** After a rollback to `to`: epochs above its epoch have no blocks any more; its epoch ends at it. */
  private resetNonceHistory(to: Entry | null): void {
    const st = to ? to.data.nonce : this.anchorNonce;
    const e = to ? this.clock.epochOf(to.header.slot) : -1;
    for (const k of [...this.lastNonceByEpoch.keys()]) if (k > e) this.lastNonceByEpoch.delete(k);
    if (to) this.lastNonceByEpoch.set(e, st);
  }

  private anchorHash(): Hash32 | null {
    const first = this.tree.selectedChain()[0];
    return first ? first.header.prevHash : this.tree.tipPoint().hash;
  }

  private async applyToLedger(e: Entry, level: 'apply' | 'reapply' | 'noValidate'): Promise<void> {
    const b = e.data.body;
    if (!b) throw new Error(`applyToLedger: no body for ${toHex(e.header.hash)}`);
    let certifiedEb: { txs: AnyTx[]; slot: number } | undefined;
    if (b.info.certificate) {
      const ph = e.header.prevHash ? this.tree.get(e.header.prevHash)?.data.header : undefined;
      const eb = ph?.ebAnnouncement ? this.ebs.get(toHex(ph.ebAnnouncement.hash)) : undefined;
      if (!ph || !eb) throw new Error(`CertRB ${toHex(e.header.hash)} without its parent EB`);
      certifiedEb = { txs: await this.closureTxs(eb), slot: ph.slot };
    }
    try {
      const rec = this.ledger.applyBlock(e.header.hash, {
        slot: e.header.slot,
        txs: b.info.txs,
        level,
        ...(certifiedEb ? { certifiedEb } : {}),
      });
      const epoch = this.clock.epochOf(e.header.slot);
      this.epochs.addRegistrations(
        rec.keyRegs.map((r) => ({ blockNo: e.header.blockNo, epoch, poolId: r.poolId, voteKey: r.voteKey })),
      );
      this.lastNonceByEpoch.set(epoch, e.data.nonce);
    } catch (err) {
      if (err instanceof BlockTxError) {
        const code = err.part === 'eb' ? 'closure-invalid' : 'tx-invalid';
        throw new BlockRejectedError(code, err.message, { rb: toHex(e.header.hash), slot: e.header.slot }, { cause: err });
      }
      throw err;
    }
  }

  private afterTipChange(): void {
    const tip = this.tree.tip();
    if (!tip) return;
    const k = this.params.securityParam;
    const keepFrom = tip.header.blockNo - k;
    if (keepFrom > 1) {
      const chain = this.tree.selectedChain();
      const newAnchor = chain.find((e) => e.header.blockNo === keepFrom - 1);
      if (newAnchor) {
        this.anchorNonce = newAnchor.data.nonce;
        const minSlot = newAnchor.header.slot;
        const leaving = chain.filter((e) => e.header.blockNo < keepFrom);
        this.tree.prune(keepFrom, minSlot);
        // the ledger keeps undo data for the blocks the tree keeps (keepFrom..tip); the blocks
        // that left go to the database checkpoint (written by store maintenance)
        this.queueImmutable(
          this.ledger.trimUndo(k + 1),
          leaving.map((e) => ({ hash: e.header.hash, blockNo: e.header.blockNo, nonce: e.data.nonce })),
        );
        // bounded bookkeeping: nothing older than the immutable tip can be voted on or certified
        for (const [key, eb] of this.ebs) if (eb.slot < minSlot) this.ebs.delete(key);
        for (const key of this.equivocationSeen.keys()) if (Number(key.split(':')[0]) < minSlot) this.equivocationSeen.delete(key);
        for (const key of this.quorumSeen) if (!this.tree.has(fromHex(key))) this.quorumSeen.delete(key);
        this.votes.prune(minSlot, this.opts.time.now());
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // EBs and closures (§4.3, §10)

  private async addEb(bytes: Uint8Array, sender?: string): Promise<void> {
    const hash = blake2b256(bytes);
    const eb = this.ebs.get(toHex(hash));
    if (!eb) throw new EbRejectedError('unannounced', `no known header announces EB ${toHex(hash)}`);
    if (eb.view || eb.released) return;
    if (bytes.length !== eb.size) {
      eb.invalid = 'size-mismatch';
      eb.voteDone = true;
      throw new EbRejectedError('size-mismatch', `EB of ${bytes.length} bytes, announced ${eb.size}`);
    }
    let view: EbView;
    try {
      view = decodeEb(bytes, this.params);
    } catch (err) {
      eb.invalid = 'malformed';
      eb.voteDone = true;
      throw new EbRejectedError('malformed', (err as Error).message, { cause: err });
    }
    eb.view = view;
    eb.indexByRef = new Map(view.refs.map((r, i) => [toHex(r.hash), i]));
    const st = await this.ebStore.putEb({
      bytes,
      refs: view.refs,
      rbHash: eb.rbHash,
      slot: eb.slot as Slot,
      announced: { hash: eb.hash, size: eb.size },
    });
    this.emit('eb', { ebHash: eb.hash, rbHash: eb.rbHash, slot: eb.slot, size: eb.size });
    // §14.1 `sender` is a node name: left out when unknown (the service layer fills in 'unknown')
    this.trace('EBReceived', { ...(sender !== undefined ? { sender } : {}), recipient: this.name, id: toHex(eb.hash), slot: eb.slot });
    if (st.complete) {
      await this.closureComplete(eb.hash);
      return;
    }
    // fill what the mempool holds, then ask the network for the rest
    const missing = await this.ebStore.missing(eb.hash);
    const fromMempool = missing.flatMap((i) => {
      const m = this.mempool.getByRef(view.hashAt(i));
      return m ? [{ index: i, bytes: m.bytes }] : [];
    });
    if (fromMempool.length > 0) {
      const st2 = await this.ebStore.addClosureTxs(eb.hash, fromMempool);
      if (st2.complete) {
        await this.closureComplete(eb.hash);
        return;
      }
    }
    const still = await this.ebStore.missing(eb.hash);
    if (still.length > 0) this.emit('need-eb-txs', { ebHash: eb.hash, slot: eb.slot, indices: still });
  }

  private async addEbTxs(ebHash: Hash32, txs: readonly Uint8Array[]): Promise<void> {
    const eb = this.ebs.get(toHex(ebHash));
    if (eb?.complete) return;
    if (!eb?.view || !eb.indexByRef) throw new EbRejectedError('unannounced', `EB ${toHex(ebHash)} is not held`);
    const items: { index: number; bytes: Uint8Array }[] = [];
    for (const t of txs) {
      const i = eb.indexByRef.get(toHex(blake2b256(t)));
      if (i === undefined) throw new EbRejectedError('tx-mismatch', `a tx of ${t.length} bytes is not referenced by EB ${toHex(ebHash)}`);
      if (eb.view.sizeAt(i) !== t.length) {
        // §4.3: a tx matching its key but not its stated size makes the EB invalid
        eb.invalid = 'tx-size-mismatch';
        eb.voteDone = true;
        throw new EbRejectedError('tx-mismatch', `tx #${i} has ${t.length} bytes, EB states ${eb.view.sizeAt(i)}`);
      }
      items.push({ index: i, bytes: t });
    }
    try {
      const st = await this.ebStore.addClosureTxs(ebHash, items);
      if (st.complete) await this.closureComplete(ebHash);
    } catch (err) {
      if (isStorageError(err)) throw new EbRejectedError('tx-mismatch', err.message, { cause: err });
      throw err;
    }
  }

  private async closureComplete(ebHash: Hash32): Promise<void> {
    const eb = this.ebs.get(toHex(ebHash));
    if (!eb || eb.complete) return;
    eb.complete = true;
    eb.closureAt = this.opts.time.now();
    this.emit('eb-txs', { ebHash, rbHash: eb.rbHash, slot: eb.slot });
    this.trace('EBTxsReceived', {
      node: this.name,
      id: toHex(ebHash),
      slot: eb.slot,
      latency_s: (eb.closureAt - eb.announcedAt) / 1000,
    });
    await this.tryVote(eb);
    await this.select();
    this.releaseView(eb);
  }

  /**
   * Drop the decoded view of a complete EB once no vote on it can be cast any more (§6.4 rule 6):
   * nothing reads it after that (closures and certificates come from the database). Without
   * this, every EB of the last k blocks keeps an object per reference in memory — a 720-EB
   * burst of full EBs would hold gigabytes (§13.3: Leios buffers ≤ LEIOS_MEM_CAP).
   */
  private releaseView(eb: EbState): void {
    if (!eb.complete || !eb.view || eb.invalid) return;
    if (this.opts.time.now() < this.clock.slotStart(leiosWindows(eb.slot, this.params).lastVote)) return;
    eb.view = undefined;
    eb.indexByRef = undefined;
    eb.released = true;
  }

  // -------------------------------------------------------------------------------------------
  // Voting (§6.4)

  private async tryVoteAll(): Promise<void> {
    for (const eb of this.ebs.values()) {
      if (!eb.voteDone) await this.tryVote(eb);
      if (eb.view && eb.complete) this.releaseView(eb);
    }
  }

  private noteSigChecked(refHex: string): void {
    const set = this.sigChecked;
    set.delete(refHex);
    set.add(refHex);
    if (set.size > LeiosNode.SIG_CHECKED_MAX) {
      const oldest = set.values().next();
      if (!oldest.done) set.delete(oldest.value);
    }
  }

  /**
   * §6.4 rule 4 ahead of the vote: the closure's txs apply in order on the state after the RB
   * (which must be the tip). Txs whose bytes already passed *apply* here are checked at
   * *reapply*; the others in full. Sets `closureOk` or `invalid`.
   */
  private async checkClosure(eb: EbState): Promise<void> {
    if (eb.closureOk || eb.invalid || !eb.complete || !eb.view) return;
    const rb = this.tree.get(eb.rbHash);
    if (!rb || this.tree.tip() !== rb) return;
    const txs = await this.closureTxs(eb);
    let full = 0;
    const t0 = performance.now();
    try {
      this.ledger.checkTxs(
        txs,
        (tx) => {
          if (this.sigChecked.has(toHex(tx.hash))) return 'reapply';
          full++;
          return 'apply';
        },
        eb.slot,
        'eb',
      );
    } catch (err) {
      if (err instanceof BlockTxError) {
        eb.invalid = `tx-invalid: ${err.message}`;
        eb.voteDone = true;
        return;
      }
      throw err;
    }
    for (const tx of txs) this.noteSigChecked(toHex(tx.hash));
    eb.closureOk = true;
    this.lastClosureCheck = { ebHash: eb.hash, txs: txs.length, fullChecks: full, ms: performance.now() - t0 };
  }

  /** The last closure check of the voter (benchmarks, dashboard): txs, txs checked in full, time. */
  lastClosureCheck: { ebHash: Hash32; txs: number; fullChecks: number; ms: number } | null = null;

  private async tryVote(eb: EbState): Promise<void> {
    if (eb.voteDone || this.pools.length === 0 || this.stopped) return;
    const now = this.opts.time.now();
    const w = leiosWindows(eb.slot, this.params);
    if (now >= this.clock.slotStart(w.lastVote)) {
      eb.voteDone = true; // §6.4 rule 6: too late
      return;
    }
    const rb = this.tree.get(eb.rbHash);
    // rule 4 is checked as soon as it can be, so that the vote goes out right at T(s + 3·L_hdr)
    await this.checkClosure(eb);
    if (eb.voteDone) return;
    if (now < this.clock.slotStart(w.earliestVote)) return; // rule 6: not yet
    if (!rb) return;
    // rule 1: header by T(s + L_hdr)
    if (rb.data.receivedAt > this.clock.slotStart(w.headerDeadline)) {
      eb.voteDone = true;
      return;
    }
    // rule 2: no equivocation seen by T(s + 3·L_hdr)
    const eq = this.equivocationSeen.get(`${eb.slot}:${toHex(rb.header.issuer)}`);
    if (eq !== undefined && eq <= this.clock.slotStart(w.earliestVote)) {
      eb.voteDone = true;
      return;
    }
    // rule 3: RB is the tip (it may become the tip later within the window)
    if (this.tree.tip() !== rb) return;
    // rules 4, 5: closure held, non-empty, the right size (checked on receipt), txs apply
    if (!eb.complete || eb.invalid || !eb.view || !eb.closureOk) return;
    eb.voteDone = true;
    const epoch = this.clock.epochOf(eb.slot);
    const committee = this.epochs.committee(epoch);
    const msg = voteMessage(eb.rbHash);
    const mine: Uint8Array[] = [];
    for (const p of this.pools) {
      if (!p.voteSecretKey || !p.votePublicKey) continue;
      const seat = committee.seatOfPool(p.poolId);
      if (seat === undefined) continue;
      const s = committee.seat(seat);
      if (!s?.voteKeyBytes || !bytesEqual(s.voteKeyBytes, p.votePublicKey)) continue;
      const sig = blsSign(p.voteSecretKey, msg);
      const bytes = encodeVote(eb.rbHash, seat, sig);
      if (this.votes.addOwn({ rbHash: eb.rbHash, seat, signature: sig, bytes }, now)) {
        mine.push(bytes);
        this.stats.votesCast++;
      }
    }
    if (mine.length > 0) {
      await this.persistVotes(mine);
      this.trace('VTBundleGenerated', { producer: this.name, slot: this.clock.currentSlot(), id: toHex(eb.rbHash), size_bytes: mine.reduce((s, v) => s + v.length, 0), votes: { [toHex(eb.hash)]: mine.length } });
      this.emit('votes', mine);
      if (this.votes.hasQuorum(eb.rbHash)) this.quorumReached(eb.rbHash);
    }
  }

  /**
   * Store verified votes (after the pool accepted them; one statement per batch). A store
   * failure costs only restart-survival of these votes: it is reported, not fatal.
   */
  private async persistVotes(bytes: readonly Uint8Array[]): Promise<void> {
    if (bytes.length === 0) return;
    const votes: VoteInput[] = bytes.map((b) => decodeVote(b));
    try {
      await this.voteStore.addMany(votes);
    } catch (err) {
      if (!isStorageError(err)) throw err;
      this.warn('vote-store', `${votes.length} votes not persisted: ${err.message}`);
    }
  }

  /** Reload the persisted votes of RBs still held (within k of the tip) into the vote pool. */
  private async restoreVotes(): Promise<void> {
    await this.voteStore.load();
    const now = this.opts.time.now();
    const cutoff = now - this.voteStore.retentionMs;
    for (const e of this.tree.selectedChain()) {
      if (!e.data.header.ebAnnouncement) continue;
      const stored = (await this.voteStore.votesFor(e.header.hash)).filter((v) => v.receivedAt >= cutoff);
      if (stored.length === 0) continue;
      this.votes.restore(stored, now);
      if (this.votes.hasQuorum(e.header.hash)) this.quorumSeen.add(toHex(e.header.hash));
    }
  }

  private readonly quorumSeen = new Set<string>();
  private quorumReached(rbHash: Hash32): void {
    const k = toHex(rbHash);
    if (this.quorumSeen.has(k)) return;
    this.quorumSeen.add(k);
    const t = this.votes.tally(rbHash);
    const e = this.tree.get(rbHash);
    this.trace('QuorumReached', {
      node: this.name,
      id: e?.data.header.ebAnnouncement ? toHex(e.data.header.ebAnnouncement.hash) : null,
      rb: k,
      slot: e?.header.slot,
      // §14.1: from the announcing header's arrival
      latency_s: e ? (this.opts.time.now() - e.data.receivedAt) / 1000 : null,
      weight: `${t.weight}/${this.epochs.committee(this.clock.epochOf(e?.header.slot ?? 0)).totalStake}`,
    });
    this.emit('quorum', rbHash);
  }

  // -------------------------------------------------------------------------------------------
  // Slots: production (§7.3) and vote timing

  private async onSlot(slot: Slot): Promise<void> {
    if (this.stopped) return;
    this.trace('Slot', { node: this.name, slot });
    // votes first: they are due at the slot start (§6.4) and cost one BLS signature each, while
    // producing may take up to the EB budget
    await this.tryVoteAll();
    if (this.opts.produce !== false) for (const p of this.pools) await this.tryProduce(slot, p);
    await this.tryVoteAll();
    if (slot % (this.opts.maintenanceEverySlots ?? 10) === 0) this.maintain();
  }

  private maintenance: Promise<void> | null = null;
  /** Counters of the store maintenance (tests, dashboard). */
  readonly maintenanceStats = {
    runs: 0,
    promoted: 0,
    prunedEbs: 0,
    prunedTxs: 0,
    txsEvicted: 0,
    votesEvicted: 0,
    /** Ledger checkpoint moves written, and the blocks they covered. */
    checkpoints: 0,
    checkpointBlocks: 0,
  };

  /**
   * One transaction: closures certified at or below the immutable tip become immutable (§10),
   * and the ledger checkpoint moves up over the blocks that left the volatile suffix since the
   * last move (one composed change, ./ledger/checkpoint). A crash leaves both before or both
   * after; a failed write puts the blocks back in the queue for the next run.
   */
  private async promoteAndCheckpoint(): Promise<void> {
    const st = this.maintenanceStats;
    const f = this.immutableLedger.prepare();
    let promoted: Hash32[];
    try {
      promoted = await this.opts.database.transaction(async (tx) => {
        const p = await this.ebStore.promoteImmutable(tx);
        if (f) await this.utxoStore.write(f.from, f.write, tx);
        return p;
      });
    } catch (err) {
      if (f) this.immutableLedger.failed(f);
      throw err;
    }
    st.promoted += promoted.length;
    if (f) {
      this.immutableLedger.committed(f);
      st.checkpoints++;
      st.checkpointBlocks += f.blocks;
    }
  }

  /** Queue blocks that left the volatile suffix: ledger records paired with their chain data. */
  private queueImmutable(records: readonly AppliedBlock[], blocks: readonly { hash: Hash32; blockNo: number; nonce: NonceState }[]): void {
    const same = records.length === blocks.length && records.every((r, i) => bytesEqual(r.hash, blocks[i]!.hash));
    if (!same) {
      throw new Error(
        `ledger undo data (${records.map((r) => toHex(r.hash).slice(0, 8)).join(',')}) and the blocks leaving the volatile suffix (${blocks.map((b) => toHex(b.hash).slice(0, 8)).join(',')}) disagree`,
      );
    }
    const out: ImmutableBlock[] = records.map((applied, i) => {
      const b = blocks[i]!;
      return { applied, blockNo: b.blockNo, epoch: this.clock.epochOf(applied.slot), nonce: b.nonce };
    });
    this.immutableLedger.enqueue(out);
  }

  /**
   * Store maintenance, off the node's queue (the stores take their own locks) and never two at
   * once: certified closures below the immutable tip become immutable (§10), stale uncertified
   * EBs and old cached txs and votes go. Each step is bounded by the stores (batches, retention).
   */
  private maintain(): void {
    if (this.maintenance || this.stopped) return;
    const st = this.maintenanceStats;
    this.maintenance = (async () => {
      await this.promoteAndCheckpoint();
      const pruned = await this.ebStore.prune();
      st.prunedEbs += pruned.ebs;
      st.prunedTxs += pruned.txs;
      st.txsEvicted += await this.txCache.evict();
      st.votesEvicted += await this.voteStore.evict();
      st.runs++;
    })()
      .catch((err: unknown) => this.warn('maintenance', String(err)))
      .finally(() => {
        this.maintenance = null;
      });
  }

  private async tryProduce(slot: Slot, pool: PoolKeys): Promise<void> {
    const tip = this.tree.tip();
    if (tip && slot <= tip.header.slot) return;
    const parentNonce = tip ? tip.data.nonce : this.anchorNonce;
    const epoch = this.clock.epochOf(slot);
    const eta = rollToEpoch(parentNonce, epoch).eta;
    const win = this.epochs.checkLeader(epoch, eta, slot, pool.poolId, pool.vrfSecretKey);
    if (!win) return;
    await this.produce(slot, pool, win, tip);
  }

  /** Learned cost of the work between selection and announcement (producer.ts); replaceable. */
  announceCost = new AnnounceCostModel();

  private async produce(slot: Slot, pool: PoolKeys, win: { proof: Uint8Array; output: Uint8Array }, tip: Entry | null): Promise<void> {
    const p = this.params;
    const budgetMs = this.opts.ebBudgetMs ?? p.slotLengthMs / 2;
    const slotStart = this.clock.slotStart(slot);
    const tStart = performance.now();
    // CertRB when the tip's EB can be certified now (§7.3)
    let certificate: Uint8Array | null = null;
    let certEb: EbState | undefined;
    let certSigners = 0;
    const ann = tip?.data.header.ebAnnouncement;
    if (tip && ann && canCertify(tip.header.slot, slot, p) && this.votes.hasQuorum(tip.header.hash)) {
      const eb = this.ebs.get(toHex(ann.hash));
      if (eb?.complete && !eb.invalid) {
        const committee = this.epochs.committee(this.clock.epochOf(tip.header.slot));
        const r = buildCertificate(committee, tip.header.hash, this.votes.votesFor(tip.header.hash));
        if (r.ok) {
          try {
            this.ledger.checkTxs(await this.closureTxs(eb), 'noValidate', tip.header.slot, 'eb');
            certificate = r.certificate.bytes;
            certEb = eb;
            certSigners = r.seats.length;
          } catch (err) {
            if (!(err instanceof BlockTxError)) throw err;
            this.warn('certify', `closure of ${toHex(eb.hash)} does not apply: ${err.message}`);
          }
        }
      }
    }
    // Tx selection over one overlay: (closure) → RB txs → EB txs (§7.3, §5.4)
    const tSelect = performance.now();
    const selectStart = this.opts.time.now();
    const minEbMs = this.opts.minEbMs ?? budgetMs / 4;
    const overlay = this.ledger.overlay();
    if (certEb?.txs) {
      for (const tx of certEb.txs) overlay.applyTx({ tx, txId: tx.id, refHash: tx.hash, bytes: tx.bytes }, certEb.slot, 'noValidate');
    }
    const sel = selectTxs(
      this.mempool.entries(),
      overlay,
      slot,
      { rbTxBytes: p.maxRbBodySize - 64, maxEbSize: p.maxEbSize, maxEbTxBytes: p.maxEbTxBytes },
      {
        rbTxs: certificate === null,
        // Cut the EB when the node time already spent in the slot (votes, certificate, closure
        // check, selection so far) plus what an EB of n entries will still cost to write and
        // announce passes the budget (issue 4 item 5) — but never below a minimum EB share: a
        // slot handler that starts late (a loaded machine, fast devnet slots) is not made any
        // earlier by an empty EB, which would only starve Leios throughput.
        deadline: (n) => {
          const now = this.opts.time.now();
          if (now - slotStart + this.announceCost.estimate(n) < budgetMs) return false;
          return now - selectStart + this.announceCost.perRefMs * n >= minEbMs;
        },
      },
    );
    const tBuild = performance.now();
    const rbTxs = sel.rb.map((e) => e.bytes);
    const body = encodeBody(rbTxs, certificate);
    let ebBytes: Uint8Array | null = null;
    let ebHash: Hash32 | null = null;
    if (sel.eb.length > 0) {
      ebBytes = encodeEb(
        sel.eb.map((e) => ({ hash: e.refHash, size: e.size })),
        p,
      );
      ebHash = blake2b256(ebBytes);
    }
    const blockNo = (tip?.header.blockNo ?? this.tree.tipPoint().blockNo) + 1;
    const headerBytes = encodeHeader(
      {
        blockNo,
        slot,
        prevHash: tip?.header.hash ?? this.tree.tipPoint().hash,
        issuerColdVk: pool.coldVk,
        vrfOutput: win.output,
        vrfProof: win.proof,
        bodyHash: blake2b256(body),
        bodySize: body.length,
        certifiedEb: certificate !== null,
        ebAnnouncement: ebHash && ebBytes ? { hash: ebHash, size: ebBytes.length } : null,
      },
      pool.coldSeed,
    );
    const rbHash = blake2b256(headerBytes);
    const tStore = performance.now();
    // Own header: decode it like a received one (same bytes the peers will see).
    const h = decodeHeader(headerBytes, p.maxHeaderSize);
    const nonce = childNonceState(tip ? tip.data.nonce : this.anchorNonce, slot, win.output, this.nonceParams);
    const now = this.opts.time.now();
    const entry = this.tree.add(h, { header: h, nonce, receivedAt: now, trusted: true });
    let ownWrite: OwnWrite | undefined;
    if (ebHash && ebBytes) {
      const view = decodeEb(ebBytes, p);
      const eb: EbState = {
        hash: ebHash,
        rbHash,
        slot,
        size: ebBytes.length,
        announcedAt: now,
        view,
        indexByRef: new Map(view.refs.map((r, i) => [toHex(r.hash), i])),
        complete: false,
        voteDone: false,
        txs: sel.eb.map((e) => e.tx),
      };
      this.ebs.set(toHex(ebHash), eb);
      // RB, EB and closure are written in one transaction, with the block's adoption (issue 4
      // item 5), and announced only after it commits: a crash leaves all or none of them. Most
      // txs are in the database already (tx cache), so usually only the references are written.
      const input = { bytes: ebBytes, refs: view.refs, rbHash, slot, announced: { hash: ebHash, size: ebBytes.length } };
      const txs = sel.eb.map((e) => e.bytes);
      let notify: (() => Promise<void>) | undefined;
      ownWrite = {
        entry,
        write: async (tx) => {
          notify = (await this.ebStore.putWithClosure(input, txs, tx)).notify;
        },
        committed: async () => {
          eb.complete = true;
          eb.closureAt = now;
          await notify?.();
        },
      };
    }
    const tAdopt = performance.now();
    await this.addBody(rbHash, body, null, true);
    await this.select(ownWrite);
    const tEnd = performance.now();
    if (this.tree.tip() !== entry) {
      this.warn('produce', `own block ${toHex(rbHash)} was not adopted`);
      return;
    }
    this.announceCost.observe(sel.eb.length, tEnd - tBuild);
    this.stats.produced++;
    if (ebHash) this.stats.ebsProduced++;
    const tAnnounce = performance.now();
    this.emit('header', h);
    if (certEb && certificate) {
      // §14.1: `id` is the CertRB, so the event goes out once the block exists (and was adopted)
      this.trace('CertGenerated', { producer: this.name, slot, id: toHex(rbHash), eb: toHex(certEb.hash), signers: certSigners, size_bytes: certificate.length });
    }
    this.trace('RBGenerated', {
      producer: this.name,
      slot,
      id: toHex(rbHash),
      size_bytes: headerBytes.length + body.length,
      tx_payload_bytes: rbTxs.reduce((s, t) => s + t.length, 0),
      parent: tip ? { id: toHex(tip.header.hash) } : null,
      endorsement: certEb ? { eb: { id: toHex(certEb.hash) } } : null,
      eb_announced: ebHash ? toHex(ebHash) : null,
    });
    if (ebHash && ebBytes) {
      this.trace('EBGenerated', {
        producer: this.name,
        slot,
        id: toHex(ebHash),
        size_bytes: ebBytes.length,
        tx_count: sel.eb.length,
        tx_payload_bytes: sel.eb.reduce((s, e) => s + e.size, 0),
      });
      this.emit('eb', { ebHash, rbHash, slot, size: ebBytes.length });
      this.emit('eb-txs', { ebHash, rbHash, slot });
    } else this.trace('NoEBGenerated', { node: this.name, slot });
    const r1 = (x: number) => Math.round(x * 10) / 10;
    this.emit('produced', h, {
      kind: certificate ? 'cert' : 'tx',
      txs: rbTxs.length,
      ebTxs: sel.eb.length,
      ebTruncated: sel.truncated,
      announceMs: r1(tAnnounce - tStart),
      timings: { selectMs: r1(tBuild - tSelect), buildMs: r1(tStore - tBuild), storeMs: r1(tAdopt - tStore), adoptMs: r1(tEnd - tAdopt) },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  /**
   * Start from the ledger checkpoint in the database, or write the genesis state as the first
   * one; returns the nonce state after the checkpoint's block.
   */
  private async loadCheckpoint(): Promise<NonceState> {
    const mode = this.params.ledgerMode;
    const stored = await this.utxoStore.load();
    if (!stored) {
      const checkpoint: LedgerCheckpoint = {
        mode,
        point: GENESIS_POINT,
        stateHash: this.ledger.stateHash(),
        size: this.ledger.size,
        txCount: 0,
        nonce: { epoch: this.genesisNonce.epoch, eta: this.genesisNonce.eta, acc: this.genesisNonce.acc },
      };
      await this.utxoStore.write(null, { checkpoint, produced: mode === 'utxo' ? this.genesis.initialUtxo : [] });
      this.immutableLedger = new ImmutableLedger(checkpoint, this.ledger.checkpointState());
      return this.genesisNonce;
    }
    const cp = stored.checkpoint;
    const at = `ledger checkpoint at block ${cp.point.blockNo}`;
    if (cp.mode !== mode) throw new NodeStateError('recovery-failed', `${at} is in ledger mode ${cp.mode}, the genesis says ${mode}`);
    if (cp.point.blockNo === 0 && !bytesEqual(cp.stateHash, this.ledger.stateHash())) {
      throw new NodeStateError('recovery-failed', `${at} (genesis) has state hash ${toHex(cp.stateHash)}, this genesis ${toHex(this.ledger.stateHash())}`);
    }
    if (cp.point.hash) {
      const onChain = await this.chainDb.pointAt(cp.point.blockNo);
      if (!onChain || !bytesEqual(onChain.hash, cp.point.hash)) {
        throw new NodeStateError('recovery-failed', `${at} (${toHex(cp.point.hash)}) is not on the selected chain`);
      }
    }
    this.ledger.restore({ entries: stored.entries, ids: stored.ids, txCount: cp.txCount });
    // the set must be the one the hash was computed for: never continue on a drifted copy
    const h = this.ledger.stateHash();
    if (!bytesEqual(h, cp.stateHash)) {
      throw new NodeStateError('recovery-failed', `${at}: the stored set hashes to ${toHex(h)}, the checkpoint says ${toHex(cp.stateHash)}`);
    }
    this.immutableLedger = new ImmutableLedger(cp, this.ledger.checkpointState());
    this.epochs.addRegistrations(stored.keyRegs.map((r) => ({ blockNo: r.blockNo, epoch: r.epoch, poolId: r.poolId, voteKey: r.voteKey })));
    for (const n of stored.nonces) this.lastNonceByEpoch.set(n.epoch, { epoch: n.epoch as Epoch, eta: n.eta, acc: n.acc });
    this.recoveryStats.checkpointBlockNo = cp.point.blockNo;
    return { epoch: cp.nonce.epoch as Epoch, eta: cp.nonce.eta, acc: cp.nonce.acc };
  }

  private async recover(): Promise<void> {
    let nonce = await this.loadCheckpoint();
    const cp = this.immutableLedger.checkpoint.point;
    const tip = await this.chainDb.tip();
    if (!tip) {
      if (cp.blockNo > 0) throw new NodeStateError('recovery-failed', `ledger checkpoint at block ${cp.blockNo} on an empty chain`);
      return;
    }
    if (tip.blockNo < cp.blockNo) throw new NodeStateError('recovery-failed', `ledger checkpoint at block ${cp.blockNo} above the tip ${tip.blockNo}`);
    const k = this.params.securityParam;
    // the tree holds keepFrom..tip over an anchor (keepFrom − 1); the checkpoint is at most the
    // anchor (it is written from blocks that left the tree), so replay starts above it
    const keepFrom = Math.max(1, tip.blockNo - k, cp.blockNo + 1);
    if (cp.hash && cp.blockNo === keepFrom - 1) {
      this.tree.setAnchor(cp.hash, cp.blockNo);
      this.anchorNonce = nonce;
    }
    const immutable: { hash: Hash32; blockNo: number; nonce: NonceState }[] = [];
    for (let n = cp.blockNo + 1; n <= tip.blockNo; n++) {
      const b = await this.chainDb.blockAtHeight(n);
      if (!b) throw new NodeStateError('recovery-failed', `block ${n} of the selected chain is missing`);
      const h = decodeHeader(b.header.bytes, this.params.maxHeaderSize);
      const info = this.decodeBodyInfo(b.body);
      const childNonce = childNonceState(nonce, h.slot, h.vrfOutput, this.nonceParams);
      let certifiedEb: { txs: AnyTx[]; slot: number } | undefined;
      if (info.certificate) {
        const parent = await this.chainDb.getHeader(h.prevHash as Hash32);
        const ann = parent?.ebAnnouncement;
        if (!parent || !ann) throw new NodeStateError('recovery-failed', `CertRB ${n} without an announcing parent`);
        const raw = await this.ebStore.getClosure(ann.hash);
        certifiedEb = { txs: raw.map((t) => this.ledger.decodeTx(t.slice())), slot: parent.slot };
      }
      const rec = this.ledger.applyBlock(h.hash, { slot: h.slot, txs: info.txs, level: 'noValidate', ...(certifiedEb ? { certifiedEb } : {}) });
      this.recoveryStats.replayedBlocks++;
      const epoch = this.clock.epochOf(h.slot);
      this.epochs.addRegistrations(rec.keyRegs.map((r) => ({ blockNo: h.blockNo, epoch, poolId: r.poolId, voteKey: r.voteKey })));
      this.lastNonceByEpoch.set(epoch, childNonce);
      if (n === keepFrom - 1) {
        this.tree.setAnchor(h.hash, n);
        this.anchorNonce = childNonce;
      }
      if (n < keepFrom) immutable.push({ hash: h.hash, blockNo: n, nonce: childNonce });
      else {
        const e = this.tree.add(h, { header: h, nonce: childNonce, receivedAt: b.header.receivedAt, trusted: true });
        e.data.body = { bytes: b.body, info, blockBytes: encodeBlock(b.header.bytes, b.body) };
        this.tree.setSelected({ rollback: [], forward: [e] });
        if (h.ebAnnouncement) {
          const st = await this.ebStore.state(h.ebAnnouncement.hash);
          this.ebs.set(toHex(h.ebAnnouncement.hash), {
            hash: h.ebAnnouncement.hash,
            rbHash: h.hash,
            slot: h.slot,
            size: h.ebAnnouncement.size,
            announcedAt: b.header.receivedAt,
            complete: st?.complete ?? false,
            voteDone: true,
          });
        }
      }
      nonce = childNonce;
    }
    // undo data for the blocks the tree holds; the older replayed ones wait for the checkpoint
    this.queueImmutable(this.ledger.trimUndo(tip.blockNo - keepFrom + 1), immutable);
  }
}

function toBlockInput(e: Entry): RbBlockInput {
  const b = e.data.body;
  if (!b) throw new Error(`no body for ${toHex(e.header.hash)}`);
  return { header: rbHeaderInput(e.data.header), body: b.bytes };
}

