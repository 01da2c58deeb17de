/**
 * The relay core: what one edge relay knows and how it decides what to pass on (PROTOCOL.md §10.4,
 * §13.4, §6.3, §6.5; docs/session-roles.md). Runs inside the RelayHub Durable Object; one
 * {@link RelaySession} per peer connection feeds it and is fed by it.
 *
 * Primer — the relaying rules, in the order data arrives:
 * - *Headers* (chain-sync RollForward or LeiosNotify BlockAnnouncement) are decoded, checked with
 *   the §4.1 stateless rules against the pool snapshot of `epoch(slot)` (signature, VRF, leader
 *   threshold, sizes, issuer, not from the future), against their parent when it is held, and
 *   counted per (slot, issuer): the first and one equivocating header pass, a third is dropped and
 *   its sender penalised (§16 case 33). Valid headers join the {@link HeaderTree}; chain-sync
 *   serves its best chain. A header announcing an EB is forwarded as a BlockAnnouncement (P0) only
 *   within `3·L_hdr` slots of its slot.
 * - *Blocks* are fetched by block-fetch from a peer that served the header, checked (body hash and
 *   size, `certified_eb` ⇔ certificate, a CertRB's certificate verified against the committee of
 *   its parent's epoch) and only then served. A bad block is dropped, its header invalidated and
 *   the sender penalised.
 * - *EBs*: after a peer's BlockOffer for an EB announced by a held header, the bytes are fetched
 *   from that peer (LeiosFetch checks `H256 = eb_hash`), checked against the announced size and
 *   §4.3, held, and offered to the other peers; after a BlockTxsOffer the missing closure txs are
 *   fetched by bitmap (each checked against its reference hash and size by the driver) and, once
 *   all are held, a BlockTxsOffer goes out. Offers that arrive before their header wait (bounded).
 * - *Votes* are checked per §6.3 (RB known and announcing an EB, seat < N, not keyless, arrival
 *   window), de-duplicated per (RB, seat), and batch-verified per RB with one pairing check
 *   (bisection names the bad ones); a second, different signature for a held (RB, seat) is
 *   checked alone (§2.3 caveat). Only verified votes are re-diffused. Votes for an epoch whose
 *   committee is still being built wait (bounded) and are checked, with their arrival time, once
 *   it is ready.
 * - *Committees* (§6.1) are built in slices off the hot path (./committee): from the first
 *   header announcing an EB in the epoch, and for epoch e+1 as soon as a header's slot is past
 *   `start(e) + E − W`, when the storage nodes may serve its pools (§12).
 * - *Txs* pulled by tx-submission (or admitted via `POST /v1/tx`) enter a bounded recent-tx
 *   buffer that every other peer can pull.
 * - *Readers* (anonymous sessions, issue 5 item 6) are peers that are never an upstream: they are
 *   notified and served like any peer, and may hand over txs, but a header, block, offer or vote
 *   from one is refused with the full penalty (their sessions run no client that could receive
 *   such input, so this is the core's own statement of the rule, not the first line of defence).
 *
 * Every egress item carries its §13.1 class (P0 headers / blocks / certified closures, P1 votes
 * then fresh EB items freshest first, P2 stale); the per-connection LeiosNotify queue applies the
 * §13.4 drop-and-re-offer rule. Everything is bounded (see {@link RELAY_BOUNDS}).
 *
 * @module
 */
import { blake2b256, bytesEqual, DecodeError, fromHex, toHex, ValidationError } from '@leios/shared';
import { type G1Point, decodeSignature, resolveDuplicateVote, type SignedVote, verifyVoteBatch, voteMessage } from '@leios/shared/crypto';
import { CertificateError, CryptoError, type WireProtocolName } from '@leios/shared/errors';
import { decodeOpaqueTx, decodeTx } from '@leios/shared/ledger';
import {
  announcementForwardable,
  type Committee,
  decodeEb,
  decodeRbBlock,
  decodeRbHeader,
  decodeVote,
  type EbView,
  epochOfSlot,
  type ProtocolParams,
  type RbHeader,
  type SlotClock,
  slotAtMs,
  stabilityWindow,
  validateBody,
  validateHeaderAgainstParent,
  validateHeaderStateless,
  verifyCertificate,
  voteArrivalInWindow,
  voteWindowMs,
} from '@leios/shared/protocol';
import { leiosPriority, PRAOS, type Priority, VOTES } from '@leios/shared/sched';
import type { Slot } from '@leios/shared/types';
import type { EbPoint } from '@leios/shared/wire';
import { HeaderTree } from './chain/index';
import { EpochCache, type EpochData, type EpochLoader } from './epochs/index';
import { TxBuffer } from './txs/index';

export { HeaderTree } from './chain/index';
export { EpochCache } from './epochs/index';
export { TxBuffer } from './txs/index';

/** Memory and queue bounds (a Durable Object has 128 MB in total). */
export const RELAY_BOUNDS = {
  headers: 2_048,
  blockBytes: 12 * 2 ** 20,
  ebRecords: 4_096,
  ebBytes: 24 * 2 ** 20,
  txBytes: 40 * 2 ** 20,
  recentTxs: 4_096,
  pendingOffers: 1_024,
  /** §6.3: votes for a not-yet-known RB (≤ 4,096, ≤ L_vote slots). */
  bufferedVotes: 4_096,
  /** Votes waiting for their epoch's committee build (one epoch's worth for a few RBs). */
  committeeWaitVotes: 4_096,
  voteRbs: 512,
  /** How long a block-fetch request for a header whose block is on its way waits for it. */
  blockWaitMs: 5_000,
  /** An epoch no storage node served is asked for again after this long (§12: 404 until η is fixed). */
  epochMissingTtlMs: 10_000,
  /** A follower re-intersects after a deferred header: first wait, doubling up to the max. */
  deferredHeaderFirstWaitMs: 1_000,
  deferredHeaderMaxWaitMs: 10_000,
  offerTtlMs: 30_000,
} as const;

/** Penalty points per offence; a session at {@link PENALTY_LIMIT} is closed (1008 `<proto>:refused`). */
export const PENALTY_LIMIT = 30;
export const PENALTY = { invalidHeader: 10, thirdHeader: 10, invalidBlock: 10, invalidEb: 10, badOffer: 5, badVote: 1, badTx: 2, notUpstream: PENALTY_LIMIT } as const;

/** What the core needs from a peer session (implemented by ./session). */
export interface RelayPeer {
  readonly id: string;
  readonly open: boolean;
  /**
   * Whether this peer may feed the relay headers, blocks, EB offers and votes (an authenticated
   * storage node or relay); false for a reader (an anonymous session), which may only read and
   * hand over txs.
   */
  readonly upstream: boolean;
  /** Queue a LeiosNotify notification for this peer (§13 order). */
  notify(n: PeerNotification, priority: Priority): void;
  /** Record an offence; closes the session at the limit. */
  penalise(proto: WireProtocolName, points: number, detail: string): void;
  /** Fetch one block by block-fetch (null: NoBlocks). */
  fetchBlock(point: { slot: Slot; hash: Uint8Array }): Promise<Uint8Array | null>;
  /** Fetch EB bytes (hash checked by the driver). */
  fetchEb(point: EbPoint, priority: Priority): Promise<Uint8Array>;
  /** Fetch txs by index (each checked against `refs` by the driver). */
  fetchTxs(point: EbPoint, indices: readonly number[], refs: readonly { hash: Uint8Array; size: number }[], priority: Priority): Promise<readonly Uint8Array[]>;
}

/** A notification for one peer (the LeiosNotify server's items). */
export type PeerNotification =
  | { type: 'BlockAnnouncement'; header: Uint8Array }
  | { type: 'BlockOffer'; point: EbPoint; ebSize: number }
  | { type: 'BlockTxsOffer'; point: EbPoint }
  | { type: 'Vote'; vote: Uint8Array };

/** Fallbacks to the storage nodes for bytes the relay offered but no longer holds. */
export interface RelayUpstream {
  eb(hex: string): Promise<Uint8Array | null>;
  ebTxs(hex: string, bitmapBytes: Uint8Array): Promise<Uint8Array[] | null>;
}

/** Options of a {@link Relay}. */
export interface RelayOptions {
  params: ProtocolParams;
  systemStartMs: number;
  loadEpoch: EpochLoader;
  upstream?: RelayUpstream;
  /** Wall clock (ms since the Unix epoch). */
  now?: () => number;
  log?: (fields: Record<string, unknown>) => void;
  /**
   * How long an epoch the storage nodes did not serve stays "unknown" before it is asked for
   * again, and how long a chain-sync follower waits before it re-intersects to have a header of
   * such an epoch sent again (first wait, then doubling up to the max). Defaults:
   * {@link RELAY_BOUNDS}.
   */
  epochRetry?: { missingTtlMs: number; firstWaitMs: number; maxWaitMs: number };
}

/**
 * What became of a delivered header: held (valid, in the tree), refused (invalid, a third for its
 * slot and issuer, or from a reader: the sender was penalised), or deferred (its epoch's pools are
 * not available yet, §12 404, or no storage node answered: it could not be checked, nobody is at
 * fault, and it must be delivered again later).
 */
export type HeaderOutcome = 'held' | 'refused' | 'deferred';

/** One EB the relay knows of (from a held header's announcement). */
export interface EbRecord {
  readonly hex: string;
  readonly point: EbPoint;
  readonly rbHex: string;
  readonly size: number;
  view: EbView | undefined;
  txsComplete: boolean;
  invalid: boolean;
  fetching: boolean;
  fetchingTxs: boolean;
  readonly offeredBy: Set<RelayPeer>;
  readonly txsOfferedBy: Set<RelayPeer>;
}

/** The §12 verdict on one submitted vote. */
export type VoteOutcome =
  | { kind: 'accepted' }
  | { kind: 'duplicate' }
  | { kind: 'buffered' }
  | { kind: 'rejected'; type: 'unknown-rb' | 'no-eb' | 'unknown-seat' | 'keyless-seat' | 'bad-signature' | 'outside-window' | 'conflict' | 'malformed' };

interface HeldVote {
  readonly sig: Uint8Array;
  readonly raw: Uint8Array;
  readonly from: RelayPeer | null;
}

/** Votes of one message waiting for their epoch's committee. */
interface CommitteeWait {
  readonly raws: Uint8Array[];
  readonly from: RelayPeer | null;
  readonly atMs: number;
}

interface BufferedVote {
  readonly raw: Uint8Array;
  readonly from: RelayPeer | null;
  readonly atMs: number;
}

/** Counters for tests, logs and metrics. */
export interface RelayStats {
  headersAccepted: number;
  headersRejected: number;
  thirdHeaders: number;
  blocksAccepted: number;
  blocksRejected: number;
  certificatesVerified: number;
  certificatesRejected: number;
  ebsAccepted: number;
  ebsRejected: number;
  votesVerified: number;
  votesRejected: number;
  voteBatches: number;
  txsAccepted: number;
  /** Headers, blocks, offers or votes refused because their sender is not an upstream. */
  notUpstream: number;
}

/**
 * The relay state shared by all sessions of one hub.
 *
 * @example
 * ```ts
 * const relay = new Relay({ params, systemStartMs, loadEpoch: (e) => loadPools(e) });
 * relay.attach(session); // a RelayPeer
 * await relay.ingestHeader(bytes, session, { root: false });
 * ```
 */
export class Relay {
  readonly params: ProtocolParams;
  readonly clock: SlotClock;
  readonly tree: HeaderTree;
  readonly epochs: EpochCache;
  readonly txs = new TxBuffer(RELAY_BOUNDS.txBytes, RELAY_BOUNDS.recentTxs);
  readonly peers = new Set<RelayPeer>();
  readonly stats: RelayStats = {
    headersAccepted: 0,
    headersRejected: 0,
    thirdHeaders: 0,
    blocksAccepted: 0,
    blocksRejected: 0,
    certificatesVerified: 0,
    certificatesRejected: 0,
    ebsAccepted: 0,
    ebsRejected: 0,
    votesVerified: 0,
    votesRejected: 0,
    voteBatches: 0,
    txsAccepted: 0,
    notUpstream: 0,
  };
  private readonly now: () => number;
  private readonly log: (fields: Record<string, unknown>) => void;
  private readonly upstream: RelayUpstream | undefined;
  private readonly inflightHeaders = new Map<string, Promise<HeaderOutcome>>();
  /** Peers that served each header (block-fetch sources), bounded with the tree. */
  private readonly headerSources = new Map<string, Set<RelayPeer>>();
  private readonly blocks = new Map<string, Uint8Array>();
  private blockBytes = 0;
  private readonly badBlocks = new Set<string>();
  private readonly blockFetches = new Map<string, Promise<void>>();
  private readonly blockWaiters = new Map<string, Set<() => void>>();
  private readonly ebs = new Map<string, EbRecord>();
  private ebViewBytes = 0;
  /** EB hashes certified by a verified CertRB (their closure is P0, §13.1). */
  private readonly certified = new Set<string>();
  private readonly pendingOffers = new Map<string, { peer: RelayPeer; point: EbPoint; ebSize: number | null; atMs: number }[]>();
  private readonly votes = new Map<string, { slot: number; seats: Map<number, HeldVote> }>();
  private readonly bufferedVotes = new Map<string, BufferedVote[]>();
  private bufferedVoteCount = 0;
  /** Votes (as received, grouped per message) waiting for their epoch's committee. */
  private readonly committeeWaits = new Map<number, CommitteeWait[]>();
  private committeeWaitCount = 0;

  constructor(opts: RelayOptions) {
    this.params = opts.params;
    this.clock = { systemStartMs: opts.systemStartMs, slotLengthMs: opts.params.slotLengthMs };
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => undefined);
    this.upstream = opts.upstream;
    this.tree = new HeaderTree(RELAY_BOUNDS.headers);
    this.epochRetry = opts.epochRetry ?? {
      missingTtlMs: RELAY_BOUNDS.epochMissingTtlMs,
      firstWaitMs: RELAY_BOUNDS.deferredHeaderFirstWaitMs,
      maxWaitMs: RELAY_BOUNDS.deferredHeaderMaxWaitMs,
    };
    this.epochs = new EpochCache(opts.loadEpoch, opts.params, {
      missingTtlMs: this.epochRetry.missingTtlMs,
      onBuild: (epoch, s) => this.log({ event: 'committee-built', epoch, keys: s.keys, slices: s.slices, maxSliceMs: Math.round(s.maxSliceMs), finalMs: Math.round(s.finalMs) }),
    });
    this.stabilityWindow = stabilityWindow(opts.params);
  }

  private readonly stabilityWindow: number;
  /** See {@link RelayOptions.epochRetry}. */
  readonly epochRetry: { readonly missingTtlMs: number; readonly firstWaitMs: number; readonly maxWaitMs: number };

  /** Epochs whose committee build this relay has started (each logged once if it fails). */
  private readonly preparing = new WeakSet<EpochData>();

  /** Build an epoch's committee in the background (slices), logging a refused pools document. */
  private prepareCommittee(data: EpochData): void {
    if (data.built !== undefined || this.preparing.has(data)) return;
    this.preparing.add(data);
    data.committee().catch((e: unknown) => this.log({ event: 'committee-failed', epoch: data.epoch, error: String(e) }));
  }

  /**
   * §12: the pools of epoch e+1 are served once the tip's slot is past `start(e) + E − W`; from
   * then on, load them and build the next committee ahead of its first vote. An epoch the storage
   * nodes do not serve yet is retried after the epoch cache's missing-TTL.
   */
  private prefetchNextEpoch(slot: number): void {
    const E = this.params.epochLength;
    const epoch = epochOfSlot(slot, E);
    if (slot - epoch * E <= E - this.stabilityWindow) return;
    const next = this.epochs.peek(epoch + 1);
    if (next?.built !== undefined) return;
    this.epochs
      .get(epoch + 1)
      .then((d) => {
        if (d !== null) this.prepareCommittee(d);
      })
      .catch((e: unknown) => this.log({ event: 'epoch-prefetch-failed', epoch: epoch + 1, error: String(e) }));
  }

  /** The wall-clock slot (§3.2). */
  currentSlot(): number {
    return slotAtMs(this.clock, this.now());
  }

  attach(peer: RelayPeer): void {
    this.peers.add(peer);
  }

  detach(peer: RelayPeer): void {
    this.peers.delete(peer);
    for (const r of this.ebs.values()) {
      r.offeredBy.delete(peer);
      r.txsOfferedBy.delete(peer);
    }
    for (const s of this.headerSources.values()) s.delete(peer);
  }

  private broadcast(n: PeerNotification, priority: Priority, except: RelayPeer | null): void {
    for (const p of this.peers) if (p !== except && p.open) p.notify(n, priority);
  }

  /** True (and the sender penalised to the limit) when `from` is a reader offering upstream input. */
  private fromReader(from: RelayPeer | null, proto: WireProtocolName, what: string): boolean {
    if (from === null || from.upstream) return false;
    this.stats.notUpstream++;
    from.penalise(proto, PENALTY.notUpstream, `${what} from a session that is not an upstream (anonymous)`);
    return true;
  }

  /** §13.1 class of an item about `rec`. */
  ebPriority(rec: Pick<EbRecord, 'hex' | 'point'>): Priority {
    return leiosPriority({ ebSlot: rec.point.slot, currentSlot: this.currentSlot(), params: this.params, certifiedOnBestChain: this.certified.has(rec.hex) });
  }

  // ------------------------------------------------------------------------------------------
  // Headers

  /**
   * Validate and hold a header a peer delivered; `root`: it may anchor the tree without its parent
   * (the first chain-sync header after an intersection). Resolves to whether it is held.
   */
  ingestHeader(bytes: Uint8Array, from: RelayPeer | null, opts: { root: boolean; proto: WireProtocolName }): Promise<boolean> {
    return this.ingestHeaderOutcome(bytes, from, opts).then((o) => o === 'held');
  }

  /** {@link Relay.ingestHeader}, saying why a header is not held (a chain-sync follower must redo a deferred one). */
  ingestHeaderOutcome(bytes: Uint8Array, from: RelayPeer | null, opts: { root: boolean; proto: WireProtocolName }): Promise<HeaderOutcome> {
    if (this.fromReader(from, opts.proto, 'a header')) return Promise.resolve('refused');
    let hash: Uint8Array;
    let header: RbHeader;
    try {
      header = decodeRbHeader(bytes, this.params.maxHeaderSize);
      hash = header.hash;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.stats.headersRejected++;
      from?.penalise(opts.proto, PENALTY.invalidHeader, `undecodable header: ${e.message}`);
      return Promise.resolve('refused');
    }
    const hex = toHex(hash);
    if (from !== null) this.noteSource(hex, from);
    const held = this.tree.get(hex);
    if (held !== undefined) {
      if (opts.root && !held.anchored) this.tree.insert(header, { root: true });
      if (from !== null) this.wantBlock(hex, header);
      return Promise.resolve(held.invalid ? 'refused' : 'held');
    }
    let p = this.inflightHeaders.get(hex);
    if (p === undefined) {
      p = this.admitHeader(header, hex, from, opts).finally(() => this.inflightHeaders.delete(hex));
      this.inflightHeaders.set(hex, p);
    }
    return p;
  }

  private noteSource(hex: string, from: RelayPeer): void {
    let s = this.headerSources.get(hex);
    if (s === undefined) {
      s = new Set();
      this.headerSources.set(hex, s);
      if (this.headerSources.size > RELAY_BOUNDS.headers) this.headerSources.delete(this.headerSources.keys().next().value as string);
    }
    if (s.size < 8) s.add(from);
  }

  private async admitHeader(h: RbHeader, hex: string, from: RelayPeer | null, opts: { root: boolean; proto: WireProtocolName }): Promise<HeaderOutcome> {
    const epoch = epochOfSlot(h.slot, this.params.epochLength);
    const data = await this.epochs.get(epoch);
    if (data === null) {
      // The storage nodes do not know this epoch yet (§12: nonce not fixed) or did not answer:
      // nothing to check with. Deferred, not refused: the sender broke no rule.
      this.log({ event: 'header-deferred', rb: hex, reason: `epoch ${epoch} unknown` });
      return 'deferred';
    }
    try {
      validateHeaderStateless(h, { snapshot: data.snapshot, params: this.params, clock: this.clock, nowMs: this.now() });
      const parent = h.prevHash === null ? null : this.tree.get(toHex(h.prevHash));
      if (h.prevHash === null || parent !== undefined) {
        validateHeaderAgainstParent(h, parent?.header ?? null, this.params);
        if (parent?.invalid) throw new ValidationError('rb_header.prev_hash', 'the parent block is invalid');
      }
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      this.stats.headersRejected++;
      from?.penalise(opts.proto, PENALTY.invalidHeader, `invalid header: ${e.message}`);
      this.log({ event: 'header-rejected', rb: hex, reason: e.message });
      return 'refused';
    }
    const admission = this.tree.admit(h);
    if (admission === 'third') {
      // §10.4, §16 case 33: at most two distinct headers per (slot, issuer).
      this.stats.thirdHeaders++;
      from?.penalise(opts.proto, PENALTY.thirdHeader, `a third header for slot ${h.slot} and one issuer`);
      return 'refused';
    }
    if (admission === 'equivocation') this.log({ event: 'equivocation', slot: h.slot, issuer: toHex(h.issuerPoolId) });
    this.tree.insert(h, { root: opts.root });
    this.stats.headersAccepted++;
    this.prefetchNextEpoch(h.slot);
    const ann = h.ebAnnouncement;
    if (ann !== null) {
      const ebHex = toHex(ann.ebHash);
      if (!this.ebs.has(ebHex)) this.addEbRecord({ hex: ebHex, point: { slot: h.slot, hash: ann.ebHash }, rbHex: hex, size: ann.ebSize });
      if (announcementForwardable(h.slot, this.currentSlot(), this.params)) {
        this.broadcast({ type: 'BlockAnnouncement', header: h.bytes }, PRAOS, from);
      }
      this.replayOffers(ebHex);
      // Votes follow within 3·L_hdr slots: have the committee ready by then (sliced, ./committee).
      // Not for an RB whose vote window has closed (a stale chain being synced): its certificate,
      // if any, builds the committee when it is checked.
      if (this.now() < voteWindowMs(this.clock, h.slot, this.params).endMs) this.prepareCommittee(data);
    }
    this.replayVotes(hex);
    if (from !== null) this.wantBlock(hex, h);
    return 'held';
  }

  // ------------------------------------------------------------------------------------------
  // Blocks

  /** The block bytes of a held, verified RB. */
  block(hex: string): Uint8Array | undefined {
    return this.blocks.get(hex);
  }

  /** A verified block, waiting up to `waitMs` when its header is held and its fetch is under way. */
  async blockOrWait(hex: string, waitMs: number = RELAY_BOUNDS.blockWaitMs): Promise<Uint8Array | null> {
    const b = this.blocks.get(hex);
    if (b !== undefined) return b;
    const entry = this.tree.get(hex);
    if (entry === undefined || entry.invalid || this.badBlocks.has(hex)) return null;
    await new Promise<void>((resolve) => {
      let set = this.blockWaiters.get(hex);
      if (set === undefined) {
        set = new Set();
        this.blockWaiters.set(hex, set);
      }
      const done = () => {
        clearTimeout(t);
        set?.delete(done);
        resolve();
      };
      const t = setTimeout(done, waitMs);
      set.add(done);
    });
    return this.blocks.get(hex) ?? null;
  }

  private wakeBlock(hex: string): void {
    const ws = this.blockWaiters.get(hex);
    this.blockWaiters.delete(hex);
    for (const w of ws ?? []) w();
  }

  private wantBlock(hex: string, h: RbHeader): void {
    if (this.blocks.has(hex) || this.badBlocks.has(hex) || this.blockFetches.has(hex)) return;
    const p = this.fetchBlockFromSources(hex, h).finally(() => {
      this.blockFetches.delete(hex);
      this.wakeBlock(hex);
    });
    this.blockFetches.set(hex, p);
  }

  private async fetchBlockFromSources(hex: string, h: RbHeader): Promise<void> {
    const tried = new Set<RelayPeer>();
    for (;;) {
      const peer = [...(this.headerSources.get(hex) ?? [])].find((p) => p.open && !tried.has(p));
      if (peer === undefined) return;
      tried.add(peer);
      let bytes: Uint8Array | null;
      try {
        bytes = await peer.fetchBlock({ slot: h.slot, hash: h.hash });
      } catch {
        continue; // the session closed or timed out (the driver reported it): ask another source
      }
      if (bytes === null) continue;
      await this.ingestBlock(bytes, peer, hex);
      return;
    }
  }

  /** Check a block and hold it (§4.2, §6.5 for a CertRB); a bad one is dropped, its sender penalised. */
  async ingestBlock(bytes: Uint8Array, from: RelayPeer | null, expectedHex: string): Promise<boolean> {
    if (this.fromReader(from, 'block-fetch', 'a block')) return false;
    const reject = (detail: string, cert = false): false => {
      this.stats.blocksRejected++;
      if (cert) this.stats.certificatesRejected++;
      this.badBlocks.add(expectedHex);
      if (this.badBlocks.size > RELAY_BOUNDS.headers) this.badBlocks.delete(this.badBlocks.values().next().value as string);
      this.tree.invalidate(expectedHex);
      from?.penalise('block-fetch', PENALTY.invalidBlock, detail);
      this.log({ event: 'block-rejected', rb: expectedHex, reason: detail });
      return false;
    };
    let block: ReturnType<typeof decodeRbBlock>;
    try {
      block = decodeRbBlock(bytes, this.params);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.stats.blocksRejected++;
      from?.penalise('block-fetch', PENALTY.invalidBlock, `undecodable block: ${e.message}`);
      return false;
    }
    if (toHex(block.header.hash) !== expectedHex) {
      this.stats.blocksRejected++;
      from?.penalise('block-fetch', PENALTY.invalidBlock, 'a block other than the one requested');
      return false;
    }
    try {
      validateBody(block.header, block.body);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return reject(`invalid body: ${e.message}`);
    }
    const cert = block.body.topStakeCertificate;
    if (block.header.certifiedEb) {
      if (cert === null || block.header.prevHash === null) return reject('a CertRB without a top-stake certificate');
      // §6.5: the committee of epoch(slot of the announcing RB), the CertRB's parent.
      const parent = this.tree.get(toHex(block.header.prevHash));
      const epoch = epochOfSlot(parent?.header.slot ?? block.header.slot, this.params.epochLength);
      const data = await this.epochs.get(epoch);
      if (data === null) {
        this.log({ event: 'block-unchecked', rb: expectedHex, reason: `epoch ${epoch} unknown` });
        return false;
      }
      let committee: Committee;
      try {
        committee = await data.committee();
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        this.log({ event: 'block-unchecked', rb: expectedHex, reason: `epoch ${epoch} committee: ${e.message}` });
        return false;
      }
      try {
        verifyCertificate(cert, committee, block.header.prevHash);
      } catch (e) {
        if (!(e instanceof CertificateError)) throw e;
        return reject(`certificate ${e.error}: ${e.detail}`, true);
      }
      this.stats.certificatesVerified++;
      const ann = parent?.header.ebAnnouncement;
      if (ann) {
        this.certified.add(toHex(ann.ebHash));
        if (this.certified.size > RELAY_BOUNDS.ebRecords) this.certified.delete(this.certified.values().next().value as string);
      }
    }
    this.putBlock(expectedHex, bytes);
    this.stats.blocksAccepted++;
    return true;
  }

  private putBlock(hex: string, bytes: Uint8Array): void {
    if (this.blocks.has(hex)) return;
    this.blocks.set(hex, bytes);
    this.blockBytes += bytes.length;
    for (const [k, v] of this.blocks) {
      if (this.blockBytes <= RELAY_BOUNDS.blockBytes) break;
      this.blocks.delete(k);
      this.blockBytes -= v.length;
    }
    this.wakeBlock(hex);
  }

  // ------------------------------------------------------------------------------------------
  // EBs

  /** The EB record for an EB hash, if a held header announced it. */
  eb(hex: string): EbRecord | undefined {
    return this.ebs.get(hex);
  }

  private addEbRecord(r: Pick<EbRecord, 'hex' | 'point' | 'rbHex' | 'size'>): EbRecord {
    const rec: EbRecord = { ...r, view: undefined, txsComplete: false, invalid: false, fetching: false, fetchingTxs: false, offeredBy: new Set(), txsOfferedBy: new Set() };
    this.ebs.set(r.hex, rec);
    for (const [k, v] of this.ebs) {
      if (this.ebs.size <= RELAY_BOUNDS.ebRecords) break;
      this.ebs.delete(k);
      if (v.view) this.ebViewBytes -= v.view.bytes.length;
    }
    return rec;
  }

  /** A peer offered EB bytes (LeiosNotify BlockOffer). */
  offerBlock(from: RelayPeer, point: EbPoint, ebSize: number): void {
    if (this.fromReader(from, 'leios-notify', 'a BlockOffer')) return;
    const hex = toHex(point.hash);
    const rec = this.ebs.get(hex);
    if (rec === undefined) {
      this.pendOffer(hex, { peer: from, point, ebSize, atMs: this.now() });
      return;
    }
    if (rec.point.slot !== point.slot || rec.size !== ebSize) {
      from.penalise('leios-notify', PENALTY.badOffer, 'BlockOffer disagrees with the announcing header');
      return;
    }
    if (rec.invalid || rec.view !== undefined) return;
    rec.offeredBy.add(from);
    if (!rec.fetching) void this.fetchEb(rec);
  }

  /** A peer offered the EB's txs (LeiosNotify BlockTxsOffer). */
  offerTxs(from: RelayPeer, point: EbPoint): void {
    if (this.fromReader(from, 'leios-notify', 'a BlockTxsOffer')) return;
    const hex = toHex(point.hash);
    const rec = this.ebs.get(hex);
    if (rec === undefined) {
      this.pendOffer(hex, { peer: from, point, ebSize: null, atMs: this.now() });
      return;
    }
    if (rec.invalid || rec.txsComplete) return;
    rec.txsOfferedBy.add(from);
    if (rec.view !== undefined && !rec.fetchingTxs) void this.fetchEbTxs(rec);
  }

  private pendOffer(hex: string, o: { peer: RelayPeer; point: EbPoint; ebSize: number | null; atMs: number }): void {
    const now = this.now();
    for (const [k, list] of this.pendingOffers) {
      if (list[0] !== undefined && now - list[0].atMs > RELAY_BOUNDS.offerTtlMs) this.pendingOffers.delete(k);
      else break;
    }
    let list = this.pendingOffers.get(hex);
    if (list === undefined) {
      if (this.pendingOffers.size >= RELAY_BOUNDS.pendingOffers) return; // full: the peer re-offers on reconnect; nothing is owed
      list = [];
      this.pendingOffers.set(hex, list);
    }
    if (list.length < 16) list.push(o);
  }

  private replayOffers(ebHex: string): void {
    const list = this.pendingOffers.get(ebHex);
    if (list === undefined) return;
    this.pendingOffers.delete(ebHex);
    for (const o of list) {
      if (!o.peer.open) continue;
      if (o.ebSize === null) this.offerTxs(o.peer, o.point);
      else this.offerBlock(o.peer, o.point, o.ebSize);
    }
  }

  private async fetchEb(rec: EbRecord): Promise<void> {
    rec.fetching = true;
    try {
      const tried = new Set<RelayPeer>();
      for (;;) {
        const peer = [...rec.offeredBy].find((p) => p.open && !tried.has(p));
        if (peer === undefined || rec.view !== undefined || rec.invalid) return;
        tried.add(peer);
        let bytes: Uint8Array;
        try {
          bytes = await peer.fetchEb(rec.point, this.ebPriority(rec));
        } catch {
          continue;
        }
        // The driver checked H256(bytes) = eb_hash; §4.3 and the announced size remain.
        let view: EbView;
        try {
          if (bytes.length !== rec.size) throw new ValidationError('eb', `${bytes.length} bytes, the header announced ${rec.size}`);
          view = decodeEb(bytes, this.params);
        } catch (e) {
          if (!(e instanceof DecodeError) && !(e instanceof ValidationError)) throw e;
          // The bytes hash to the announced EB: the EB itself is invalid (no offer, §4.3).
          rec.invalid = true;
          this.stats.ebsRejected++;
          peer.penalise('leios-fetch', PENALTY.invalidEb, `invalid EB: ${e.message}`);
          return;
        }
        this.holdView(rec, view);
        this.stats.ebsAccepted++;
        this.broadcast({ type: 'BlockOffer', point: rec.point, ebSize: rec.size }, this.ebPriority(rec), peer);
        if (rec.txsOfferedBy.size > 0 && !rec.fetchingTxs) void this.fetchEbTxs(rec);
        return;
      }
    } finally {
      rec.fetching = false;
    }
  }

  private holdView(rec: EbRecord, view: EbView): void {
    rec.view = view;
    this.ebViewBytes += view.bytes.length;
    for (const v of this.ebs.values()) {
      if (this.ebViewBytes <= RELAY_BOUNDS.ebBytes) break;
      if (v === rec || v.view === undefined) continue;
      // Evicted bytes are re-read from a storage node if a peer asks (RelayUpstream).
      this.ebViewBytes -= v.view.bytes.length;
      v.view = undefined;
    }
  }

  /** Tx indices of the EB not held (by reference hash). */
  private missingTxs(view: EbView): number[] {
    const out: number[] = [];
    for (let i = 0; i < view.count; i++) if (!this.txs.has(toHex(view.hashAt(i)))) out.push(i);
    return out;
  }

  private async fetchEbTxs(rec: EbRecord): Promise<void> {
    rec.fetchingTxs = true;
    try {
      const tried = new Set<RelayPeer>();
      for (;;) {
        const view = rec.view;
        if (view === undefined || rec.invalid || rec.txsComplete) return;
        let missing = this.missingTxs(view);
        if (missing.length > 0) {
          const peer = [...rec.txsOfferedBy].find((p) => p.open && !tried.has(p));
          if (peer === undefined) return;
          tried.add(peer);
          try {
            // §10.3: each request selects ≤ MAX_REPLY_TXS txs of ≤ MAX_REPLY_BYTES stated bytes.
            while (missing.length > 0) {
              const chunk: number[] = [];
              let bytes = 0;
              for (const i of missing) {
                const s = view.sizeAt(i);
                if (chunk.length > 0 && (chunk.length >= this.params.maxReplyTxs || bytes + s > this.params.maxReplyBytes)) break;
                chunk.push(i);
                bytes += s;
              }
              const refs = chunk.map((i) => ({ hash: view.hashAt(i), size: view.sizeAt(i) }));
              const txs = await peer.fetchTxs(rec.point, chunk, refs, this.ebPriority(rec));
              txs.forEach((t, j) => {
                const ref = refs[j]!;
                this.txs.put(toHex(ref.hash), ref.hash, t, null, false);
              });
              missing = missing.slice(chunk.length);
            }
          } catch {
            continue; // closed / timed out / failed a reference check (the driver closed it): try another
          }
          missing = this.missingTxs(view);
          if (missing.length > 0) continue; // evicted meanwhile (memory bound): fetch again
        }
        rec.txsComplete = true;
        this.broadcast({ type: 'BlockTxsOffer', point: rec.point }, this.ebPriority(rec), null);
        return;
      }
    } finally {
      rec.fetchingTxs = false;
    }
  }

  /** EB bytes to serve (LeiosFetch Block): held, else from a storage node (checked). */
  async ebBytes(rec: EbRecord): Promise<Uint8Array | null> {
    if (rec.view !== undefined) return rec.view.bytes;
    const bytes = await this.upstream?.eb(rec.hex);
    if (!bytes || bytes.length !== rec.size || !bytesEqual(blake2b256(bytes), rec.point.hash)) return null;
    try {
      this.holdView(rec, decodeEb(bytes, this.params));
    } catch (e) {
      if (e instanceof DecodeError) return null;
      throw e;
    }
    return bytes;
  }

  /** The txs at `indices` of an EB (LeiosFetch BlockTxs): held ones, the rest from a storage node. */
  async ebTxs(rec: EbRecord, indices: readonly number[], bitmapBytes: Uint8Array): Promise<Uint8Array[] | null> {
    const view = rec.view;
    if (view === undefined) return null;
    const out: Uint8Array[] = [];
    for (const i of indices) {
      const t = this.txs.get(toHex(view.hashAt(i)));
      if (t === undefined) break;
      out.push(t);
    }
    if (out.length === indices.length) return out;
    const got = await this.upstream?.ebTxs(rec.hex, bitmapBytes);
    if (!got || got.length !== indices.length) return null;
    for (let j = 0; j < got.length; j++) {
      const i = indices[j]!;
      const t = got[j]!;
      if (t.length !== view.sizeAt(i) || !bytesEqual(blake2b256(t), view.hashAt(i))) return null;
    }
    return got;
  }

  /** Offers owed to a newly opened session (§10.1): every held EB and complete closure, headers in window. */
  offersForNewPeer(peer: RelayPeer): void {
    const cur = this.currentSlot();
    for (const rec of this.ebs.values()) {
      if (rec.invalid) continue;
      const rb = this.tree.get(rec.rbHex);
      if (rb && announcementForwardable(rb.header.slot, cur, this.params)) peer.notify({ type: 'BlockAnnouncement', header: rb.header.bytes }, PRAOS);
      if (rec.view === undefined) continue;
      const prio = this.ebPriority(rec);
      peer.notify({ type: 'BlockOffer', point: rec.point, ebSize: rec.size }, prio);
      if (rec.txsComplete) peer.notify({ type: 'BlockTxsOffer', point: rec.point }, prio);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Votes

  /**
   * §6.3 checks, de-duplication and one batch verification per RB; verified votes are re-diffused
   * to every peer but the sender. One outcome per input vote, in order.
   */
  async ingestVotes(raws: readonly Uint8Array[], from: RelayPeer | null, arrivedAtMs?: number): Promise<VoteOutcome[]> {
    // (The outcomes matter to POST /v1/votes only, whose sender is null, never a reader.)
    if (this.fromReader(from, 'leios-notify', 'votes')) return raws.map(() => ({ kind: 'rejected', type: 'malformed' }));
    const out: VoteOutcome[] = new Array(raws.length);
    const batches = new Map<string, { committee: Committee; items: { idx: number; seat: number; sig: G1Point; raw: Uint8Array; sigBytes: Uint8Array }[]; seats: Map<number, Uint8Array> }>();
    const conflicts: { idx: number; rbHex: string; seat: number; raw: Uint8Array; sigBytes: Uint8Array }[] = [];
    const reject = (i: number, type: Extract<VoteOutcome, { kind: 'rejected' }>['type'], penalise: boolean): void => {
      out[i] = { kind: 'rejected', type };
      this.stats.votesRejected++;
      if (penalise) from?.penalise('leios-notify', PENALTY.badVote, `vote rejected: ${type}`);
    };
    // The arrival time of the whole message (§6.3 window), not of the moment each vote is checked.
    const arrivedMs = arrivedAtMs ?? this.now();
    const waiting = new Map<EpochData, Uint8Array[]>();
    let waitingCount = 0;
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i]!;
      let vote: ReturnType<typeof decodeVote>;
      try {
        vote = decodeVote(raw);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        reject(i, 'malformed', true);
        continue;
      }
      const rbHex = toHex(vote.rbHash);
      const rb = this.tree.get(rbHex);
      if (rb === undefined) {
        out[i] = this.bufferVote(rbHex, raw, from) ? { kind: 'buffered' } : { kind: 'rejected', type: 'unknown-rb' };
        continue;
      }
      if (rb.header.ebAnnouncement === null) {
        reject(i, 'no-eb', true);
        continue;
      }
      if (!voteArrivalInWindow(this.clock, rb.header.slot, arrivedMs, this.params)) {
        reject(i, 'outside-window', false);
        continue;
      }
      let batch = batches.get(rbHex);
      if (batch === undefined) {
        const data = await this.epochs.get(epochOfSlot(rb.header.slot, this.params.epochLength));
        if (data === null) {
          reject(i, 'unknown-rb', false);
          continue;
        }
        const committee = data.built;
        if (committee === undefined) {
          // The committee is still being built (in slices): the vote waits for it, bounded.
          if (this.committeeWaitCount + waitingCount >= RELAY_BOUNDS.committeeWaitVotes) {
            reject(i, 'unknown-rb', false);
          } else {
            const l = waiting.get(data) ?? [];
            l.push(raw);
            waiting.set(data, l);
            waitingCount++;
            out[i] = { kind: 'buffered' };
          }
          continue;
        }
        batch = { committee, items: [], seats: new Map() };
        batches.set(rbHex, batch);
      }
      const seat = vote.voterId;
      if (seat >= batch.committee.size) {
        reject(i, 'unknown-seat', true);
        continue;
      }
      if (!batch.committee.canSign(seat)) {
        reject(i, 'keyless-seat', true);
        continue;
      }
      const held = this.votes.get(rbHex)?.seats.get(seat);
      const pending = batch.seats.get(seat);
      const same = held?.sig ?? pending;
      if (same !== undefined) {
        if (bytesEqual(same, vote.signature)) out[i] = { kind: 'duplicate' };
        else conflicts.push({ idx: i, rbHex, seat, raw: vote.bytes, sigBytes: vote.signature });
        continue;
      }
      let sig: G1Point;
      try {
        sig = decodeSignature(vote.signature, 'vote.signature');
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
        reject(i, 'bad-signature', true);
        continue;
      }
      batch.seats.set(seat, vote.signature);
      batch.items.push({ idx: i, seat, sig, raw: vote.bytes, sigBytes: vote.signature });
    }
    for (const [rbHex, batch] of batches) {
      if (batch.items.length === 0) continue;
      const rb = this.tree.get(rbHex);
      const msg = voteMessage(fromHex(rbHex));
      const signed: SignedVote[] = batch.items.map((it) => ({ pk: batch.committee.seat(it.seat)!.voteKey!, sig: it.sig }));
      // §2.3: one pairing check for the whole batch; bisection names the bad votes.
      const { invalid } = verifyVoteBatch(msg, signed);
      this.stats.voteBatches++;
      const bad = new Set(invalid);
      batch.items.forEach((it, j) => {
        if (bad.has(j)) {
          reject(it.idx, 'bad-signature', true);
          return;
        }
        this.holdVote(rbHex, rb?.header.slot ?? 0, it.seat, { sig: it.sigBytes, raw: it.raw, from });
        out[it.idx] = { kind: 'accepted' };
        this.stats.votesVerified++;
        this.broadcast({ type: 'Vote', vote: it.raw }, VOTES, from);
      });
    }
    for (const c of conflicts) out[c.idx] = this.resolveConflict(c, from, batches.get(c.rbHex)?.committee);
    for (const [data, l] of waiting) this.awaitCommittee(data, l, from, arrivedMs);
    return out;
  }

  /** Hold votes until `data`'s committee is built, then check them as if they arrived at `atMs`. */
  private awaitCommittee(data: EpochData, raws: Uint8Array[], from: RelayPeer | null, atMs: number): void {
    let list = this.committeeWaits.get(data.epoch);
    this.committeeWaitCount += raws.length;
    if (list !== undefined) {
      list.push({ raws, from, atMs });
      return;
    }
    list = [{ raws, from, atMs }];
    this.committeeWaits.set(data.epoch, list);
    const release = (): CommitteeWait[] => {
      const held = this.committeeWaits.get(data.epoch) ?? [];
      this.committeeWaits.delete(data.epoch);
      for (const w of held) this.committeeWaitCount -= w.raws.length;
      return held;
    };
    data.committee().then(
      async () => {
        for (const w of release()) {
          if (w.from !== null && !w.from.open) continue;
          await this.ingestVotes(w.raws, w.from, w.atMs);
        }
      },
      (e: unknown) => {
        const dropped = release().reduce((n, w) => n + w.raws.length, 0);
        this.log({ event: 'votes-dropped', epoch: data.epoch, votes: dropped, reason: `committee: ${String(e)}` });
      },
    ).catch((e: unknown) => this.log({ event: 'vote-replay-failed', error: String(e) }));
  }

  /** Votes waiting for a committee build (tests, diagnostics). */
  get votesAwaitingCommittee(): number {
    return this.committeeWaitCount;
  }

  /** §2.3 caveat: a second, different signature for a held (RB, seat) is checked alone, as is the held one. */
  private resolveConflict(
    c: { rbHex: string; seat: number; raw: Uint8Array; sigBytes: Uint8Array },
    from: RelayPeer | null,
    committee: Committee | undefined,
  ): VoteOutcome {
    const held = this.votes.get(c.rbHex)?.seats.get(c.seat);
    const pk = committee?.seat(c.seat)?.voteKey ?? null;
    if (held === undefined || pk === null) {
      // the first signature of this call was itself rejected by the batch: nothing held to compare
      from?.penalise('leios-notify', PENALTY.badVote, 'conflicting vote');
      this.stats.votesRejected++;
      return { kind: 'rejected', type: 'conflict' };
    }
    let incoming: G1Point;
    let heldSig: G1Point;
    try {
      incoming = decodeSignature(c.sigBytes, 'vote.signature');
      heldSig = decodeSignature(held.sig, 'vote.signature');
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      from?.penalise('leios-notify', PENALTY.badVote, 'undecodable vote signature');
      this.stats.votesRejected++;
      return { kind: 'rejected', type: 'bad-signature' };
    }
    const r = resolveDuplicateVote(pk, voteMessage(fromHex(c.rbHex)), heldSig, incoming);
    if (r.keep === 'incoming') {
      held.from?.penalise('leios-notify', PENALTY.badVote, 'a vote signature that fails alone (§2.3)');
      const slot = this.votes.get(c.rbHex)?.slot ?? 0;
      this.holdVote(c.rbHex, slot, c.seat, { sig: c.sigBytes, raw: c.raw, from }, true);
      this.stats.votesVerified++;
      this.broadcast({ type: 'Vote', vote: c.raw }, VOTES, from);
      return { kind: 'accepted' };
    }
    from?.penalise('leios-notify', PENALTY.badVote, 'a second, different signature for one (RB, seat)');
    this.stats.votesRejected++;
    return { kind: 'rejected', type: 'conflict' };
  }

  private holdVote(rbHex: string, slot: number, seat: number, v: HeldVote, replace = false): void {
    let rec = this.votes.get(rbHex);
    if (rec === undefined) {
      rec = { slot, seats: new Map() };
      this.votes.set(rbHex, rec);
      // Votes are kept VOTE_RETENTION (§6.3); beyond the RB bound the oldest RB's votes go first.
      const oldest = this.currentSlot() - Math.ceil((this.params.voteRetentionS * 1000) / this.params.slotLengthMs);
      for (const [k, r] of this.votes) {
        if (this.votes.size <= RELAY_BOUNDS.voteRbs && r.slot >= oldest) break;
        if (k !== rbHex) this.votes.delete(k);
      }
    }
    if (replace || !rec.seats.has(seat)) rec.seats.set(seat, v);
  }

  /** Verified votes held for an RB (tests, diagnostics). */
  heldVotes(rbHex: string): number {
    return this.votes.get(rbHex)?.seats.size ?? 0;
  }

  private bufferVote(rbHex: string, raw: Uint8Array, from: RelayPeer | null): boolean {
    if (this.bufferedVoteCount >= RELAY_BOUNDS.bufferedVotes) this.expireBufferedVotes();
    if (this.bufferedVoteCount >= RELAY_BOUNDS.bufferedVotes) return false;
    let list = this.bufferedVotes.get(rbHex);
    if (list === undefined) {
      list = [];
      this.bufferedVotes.set(rbHex, list);
    }
    list.push({ raw, from, atMs: this.now() });
    this.bufferedVoteCount++;
    return true;
  }

  /** §6.3: buffered votes live at most L_vote slots. */
  private expireBufferedVotes(): void {
    const horizon = this.now() - this.params.lVote * this.params.slotLengthMs;
    for (const [k, list] of this.bufferedVotes) {
      const keep = list.filter((v) => v.atMs >= horizon);
      this.bufferedVoteCount -= list.length - keep.length;
      if (keep.length === 0) this.bufferedVotes.delete(k);
      else this.bufferedVotes.set(k, keep);
    }
  }

  private replayVotes(rbHex: string): void {
    const list = this.bufferedVotes.get(rbHex);
    if (list === undefined) return;
    this.bufferedVotes.delete(rbHex);
    this.bufferedVoteCount -= list.length;
    const horizon = this.now() - this.params.lVote * this.params.slotLengthMs;
    const bySender = new Map<RelayPeer | null, Uint8Array[]>();
    for (const v of list) {
      if (v.atMs < horizon || (v.from !== null && !v.from.open)) continue;
      const l = bySender.get(v.from) ?? [];
      l.push(v.raw);
      bySender.set(v.from, l);
    }
    for (const [from, raws] of bySender) {
      this.ingestVotes(raws, from).catch((e: unknown) => this.log({ event: 'vote-replay-failed', error: String(e) }));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Txs

  /**
   * Hold a tx for tx-submission (from a peer, or admitted by a storage node via POST /v1/tx).
   * Checks only what needs no ledger: the size and the shape of the ledger mode (§5.1, §5.6).
   */
  addTx(bytes: Uint8Array, from: RelayPeer | null): boolean {
    try {
      if (this.params.ledgerMode === 'opaque') decodeOpaqueTx(bytes, { maxTxSize: this.params.maxTxSize });
      else decodeTx(bytes, { maxTxSize: this.params.maxTxSize });
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      from?.penalise('tx-submission', PENALTY.badTx, `not a ${this.params.ledgerMode} tx: ${e.message}`);
      return false;
    }
    const hash = blake2b256(bytes);
    const added = this.txs.put(toHex(hash), hash, bytes, from?.id ?? null, true);
    if (added) this.stats.txsAccepted++;
    return added;
  }

  /** The best header (for GET /v1/tip). */
  tipInfo(): { slot: number; blockNumber: number; hash: string; epoch: number } | null {
    const t = this.tree.tip;
    if (t === null) return null;
    return { slot: t.header.slot, blockNumber: t.header.blockNumber, hash: t.hex, epoch: epochOfSlot(t.header.slot, this.params.epochLength) };
  }
}
