/**
 * The fetch decision loop of a storage node: which EB bodies and closure txs to request, from
 * which peer, and when (PROTOCOL.md §10.2, §13.1 rule 4, §13.3).
 *
 * Primer: every peer session tells the {@link FetchManager} what its peer offered (LeiosNotify
 * BlockOffer / BlockTxsOffer) and which RBs it served; the node tells it what it wants (an
 * announced EB body, a certified EB's closure). The manager keeps one *item* per EB and, on every
 * change, walks the items in §13.1 order — P0 (closure of a certified EB) before P1 (fresh:
 * `currentSlot − ebSlot ≤ 3·L_hdr + L_vote + L_diff`, freshest first) before P2 (stale, freshest
 * first, fetched in the background) — and issues requests while the bounds allow:
 *
 * - an EB body or a tx is requested from at most 2 peers at once (the second only after the first
 *   has been outstanding for `hedgeAfterMs`), and never twice from one peer (§13.3);
 * - a peer holds at most 2 work-in-progress EBs (requests for at most 2 distinct EBs, §13.3);
 * - per peer at most 1 P2 request, of at most 1 MiB of stated tx bytes; at most 8 MiB of P2 data
 *   in flight overall; P0 fetches go to a peer with no P2 request outstanding when one exists
 *   (§13.1 rule 4);
 * - a peer is asked for an EB only after it offered it, and for txs only after it offered them,
 *   unless the EB is certified by a CertRB that peer served (§10.2);
 * - missing txs are asked for by bitmap only after the node filled what it already holds (its tx
 *   cache and mempool): {@link FetchTarget.missingTxs} returns only what is still missing;
 * - among eligible peers the fastest wins: the observed request latency (EWMA), else the
 *   keep-alive RTT, scaled by the peer's outstanding requests.
 *
 * Everything is bounded: items (default 4,096; unannounced offers expire), the RB→peer map, the
 * per-peer requests (≤ 8 of the 16 LeiosFetch may pipeline), and every wait has the §11 timeout
 * of the LeiosFetch driver (10 s block, 30 s of inactivity for txs) behind it.
 *
 * Background (§13.3: stale EBs are fetched "in the background", Praos keeps < 5% added latency):
 * what a P2 request brings is handed to the node through one background lane — one delivery at a
 * time, each only once the node's queue is idle ({@link FetchTarget.idle}, waited for at most
 * `backgroundYieldMs`, so stale work still progresses under a steady Praos load) — so a header or
 * a block arriving at the node waits behind at most one delivery of stale work, never behind a
 * queue of them (the node target stores P2 deliveries outside the node's queue, see
 * net/peer/node.ts). P2 requests are hedged only after `backgroundHedgeAfterMs`: their delivery
 * may wait for the node. P0 and P1 deliveries go straight to the node.
 *
 * Burst (§13.3): an EB outside the fresh window that is not yet held with its whole closure, and
 * that some peer offered (or that has a request in flight), is *pending*; while more than
 * BURST_THRESHOLD (20, §15) are pending the manager reports a burst (`onBurst`, `stats().burstActive`:
 * the `leios_burst_active` gauge). Stale EBs that no peer offers (announced, bodies withheld) are
 * counted apart as `withheldStale`: there is nothing to fetch until someone offers them.
 *
 * @module
 */
import { toHex } from '@leios/shared/bytes';
import { comparePriority, type Priority } from '@leios/shared/sched';
import type { Hash32 } from '@leios/shared/types';
import {
  bitmapFromIndices,
  type Clock,
  type EbPoint,
  type LeiosFetchClient,
  systemClock,
  type TxBitmap,
  type TxRef,
} from '@leios/shared/wire';

/** One peer as the fetch manager uses it (a LeiosFetch client over one connection). */
export interface FetchPeer {
  /** Unique per connection (a reconnect is a new peer). */
  readonly id: string;
  /** Last keep-alive round-trip time, if measured. */
  rttMs(): number | undefined;
  /** Whether the LeiosFetch pipeline has room. */
  canRequest(): boolean;
  /** EB bytes, checked `H256 = eb_hash` by the driver. */
  requestBlock(point: EbPoint, priority: Priority): Promise<Uint8Array>;
  /** Selected txs in index order, checked against `refs` by the driver. */
  requestTxs(point: EbPoint, bitmap: TxBitmap, refs: readonly TxRef[], priority: Priority): Promise<readonly Uint8Array[]>;
  /** The node refused what this peer delivered (the session scores the peer, see PeerSession). */
  rejected?(what: string, error: unknown): void;
}

/** What the node says about one EB. */
export interface EbStatus {
  readonly slot: number;
  readonly size: number;
  readonly held: boolean;
  readonly complete: boolean;
  readonly invalid?: string;
}

/** The node side of the fetch manager. */
export interface FetchTarget {
  /** The node's view of an EB; undefined when no known header announces it. */
  ebStatus(hash: Hash32): EbStatus | undefined;
  /**
   * Closure entries still missing after the node filled what it holds (tx cache, mempool),
   * ascending index.
   */
  missingTxs(hash: Hash32): Promise<ReadonlyArray<{ readonly index: number; readonly ref: TxRef }>>;
  /** Hand over fetched EB bytes; `priority` is the §13.1 class the request was made in. */
  deliverEb(hash: Hash32, bytes: Uint8Array, priority?: Priority): Promise<void>;
  /** Closure txs; `indices[k]` is the EB position of `txs[k]` (as `missingTxs` listed it). */
  deliverTxs(hash: Hash32, txs: readonly Uint8Array[], priority?: Priority, indices?: readonly number[]): Promise<void>;
  /**
   * Resolves once the node has no queued work (LeiosNode.idle): background (P2) deliveries wait for
   * it, so Praos work is never queued behind stale Leios work. Absent: no waiting.
   */
  idle?(): Promise<void>;
  /** §13.1 class of items about the EB announced at `slot`. */
  priority(slot: number, certified: boolean): Priority;
}

/** Bounds of a {@link FetchManager}; defaults follow §13.1 / §13.3 / §11. */
export interface FetchLimits {
  /** Distinct EBs with requests outstanding at one peer. Default 2 (§13.3). */
  maxWipEbsPerPeer: number;
  /** Requests outstanding at one peer. Default 8 (LeiosFetch pipelines 16). */
  maxRequestsPerPeer: number;
  /** P2 requests outstanding at one peer. Default 1 (§13.1 rule 4). */
  maxP2RequestsPerPeer: number;
  /** Stated tx bytes of one P2 request. Default 1 MiB (§13.1 rule 4). */
  maxP2RequestTxBytes: number;
  /** P2 bytes in flight over all peers. Default 8 MiB (§13.1 rule 4). */
  maxP2InFlightBytes: number;
  /** Peers one EB body or tx is requested from at once. Default 2 (§13.3). */
  maxPeersPerItem: number;
  /** Outstanding time after which a second peer is asked too. Default 1,000 ms. */
  hedgeAfterMs: number;
  /**
   * The same for P2 (background) requests, whose delivery may wait for the node to be idle.
   * Default 30,000 ms (the §11 LeiosFetch inactivity timeout).
   */
  backgroundHedgeAfterMs: number;
  /** Stated tx bytes of one request. Default MAX_REPLY_BYTES = 4 MiB (§10.3). */
  maxRequestTxBytes: number;
  /** Txs of one request. Default MAX_REPLY_TXS = 4,096 (§10.3). */
  maxRequestTxs: number;
  /** EB items tracked. Default 4,096. */
  maxItems: number;
  /** BURST_THRESHOLD (§13.3, §15): a burst is on while more stale EBs than this are pending. Default 20. */
  burstThreshold: number;
  /** An offer for an EB the node does not know is forgotten after this long. Default 60 s. */
  unannouncedTtlMs: number;
  /** Longest wait for the node to be idle before a background delivery goes in anyway. Default 1,000 ms. */
  backgroundYieldMs: number;
  /**
   * Largest share of the thread the background lane may keep busy (0 < duty ≤ 1): after a job that
   * kept the event loop busy for b ms, the next starts `b·(1/duty − 1)` ms later. A job cannot be
   * interrupted when a Praos message arrives, so this bounds how often Praos work finds the node
   * in the middle of stale work. Default 0.2 (the §16 #36 bench with 720 stale EBs on PGlite read
   * the same Praos p95 ratio at 0.1 — 1.092 [1.044, 1.133] against 1.086 [1.038, 1.131] — while
   * the burst took twice as long; docs/decisions/007).
   */
  backgroundDuty: number;
}

/** §13.1 / §13.3 defaults. */
export const DEFAULT_FETCH_LIMITS: Readonly<FetchLimits> = Object.freeze({
  maxWipEbsPerPeer: 2,
  maxRequestsPerPeer: 8,
  maxP2RequestsPerPeer: 1,
  maxP2RequestTxBytes: 1 << 20,
  maxP2InFlightBytes: 8 << 20,
  maxPeersPerItem: 2,
  hedgeAfterMs: 1_000,
  backgroundHedgeAfterMs: 30_000,
  maxRequestTxBytes: 4_194_304,
  maxRequestTxs: 4_096,
  maxItems: 4_096,
  burstThreshold: 20,
  unannouncedTtlMs: 60_000,
  backgroundYieldMs: 1_000,
  backgroundDuty: 0.2,
});

/** §13.3 pending (for a stale EB not complete): offered by some peer, or a request or load in flight. */
function isPending(it: Item): boolean {
  return it.bodyInflight.size > 0 || it.txsInflight.size > 0 || it.loading || it.bodyOffers.size > 0 || it.txsOffers.size > 0;
}

/** Latency assumed for a peer with no measurement yet. */
const DEFAULT_LATENCY_MS = 100;
/** RBs remembered with the peers that served them (for certified closures, §10.2). */
const MAX_RB_SERVERS = 1_024;
/** Attempts to load an EB's missing list before giving up on the item. */
const MAX_LOAD_FAILURES = 3;

interface TxWant {
  readonly key: string;
  readonly ref: TxRef;
  readonly asked: Set<string>;
  /** peer id → request start time */
  readonly inflight: Map<string, number>;
  /** Items (and indices) that miss this tx. */
  readonly holders: Array<{ item: Item; index: number }>;
  delivered: boolean;
}

interface Item {
  readonly hash: Hash32;
  readonly key: string;
  slot: number;
  size: number;
  certified: boolean;
  certRb: string | undefined;
  readonly createdAt: number;
  readonly bodyOffers: Set<string>;
  readonly txsOffers: Set<string>;
  readonly bodyAsked: Set<string>;
  readonly bodyInflight: Map<string, number>;
  /** Peers with a txs request for this EB outstanding (one per peer). */
  readonly txsInflight: Set<string>;
  /** index → want; undefined until loaded from the node. */
  missing: Map<number, TxWant> | undefined;
  loading: boolean;
  loadFailures: number;
  emptyReloads: number;
  done: boolean;
}

interface PeerState {
  readonly peer: FetchPeer;
  requests: number;
  p2Requests: number;
  /** item key → outstanding requests for it. */
  readonly wip: Map<string, number>;
  latencyMs: number | undefined;
}

/** A snapshot for metrics and tests. */
export interface FetchStats {
  readonly items: number;
  /** Items of class P2 not yet complete (offered or not). */
  readonly staleItems: number;
  /** P2 items not yet complete that a peer offered or that have a request in flight (§13.3 "pending"). */
  readonly pendingStale: number;
  /** P2 items not held that no peer offers and nothing is in flight for (announced, withheld). */
  readonly withheldStale: number;
  /** `pendingStale > burstThreshold` (§13.3 `leios_burst_active`). */
  readonly burstActive: boolean;
  readonly requestsInFlight: number;
  /** Stated bytes of all requests in flight (EB sizes, tx sizes), every class. */
  readonly bytesInFlight: number;
  readonly p2BytesInFlight: number;
  readonly peers: number;
}

/** One request as issued (tracing, tests, the burst harness). */
export interface FetchRequestEvent {
  readonly peer: string;
  readonly kind: 'block' | 'txs';
  readonly ebHash: Hash32;
  readonly ebSlot: number;
  /** §13.1 class the request was issued in. */
  readonly cls: 0 | 1 | 2;
  /** Closure indices asked (txs only). */
  readonly indices: readonly number[];
  /** Stated bytes asked (EB size, or Σ tx sizes). */
  readonly bytes: number;
}

/** Options of a {@link FetchManager}. */
export interface FetchManagerOptions {
  target: FetchTarget;
  limits?: Partial<FetchLimits>;
  clock?: Clock;
  /** A problem worth an operator's attention (a rejected delivery, a failed load). */
  onWarning?: (w: { what: string; detail: string; peer?: string }) => void;
  /**
   * The burst state changed (§13.3): `active` while more than `limits.burstThreshold` stale EBs
   * are pending. Set the `leios_burst_active` gauge from it.
   */
  onBurst?: (b: { active: boolean; pending: number }) => void;
  /** Every request as it is issued (tracing; the burst harness checks the §13 bounds with it). */
  onRequest?: (r: FetchRequestEvent) => void;
}

/**
 * Decides and issues EB body and closure tx requests across all peer sessions.
 *
 * @example
 * ```ts
 * const fm = new FetchManager({ target: nodeFetchTarget(node) });
 * fm.addPeer(peer);
 * fm.offerBlock(peer.id, point, ebSize);   // LeiosNotify BlockOffer
 * fm.offerTxs(peer.id, point);             // LeiosNotify BlockTxsOffer
 * node.on('need-closure', (n) => fm.want(n.ebHash, n.slot, { certified: true, certRb: n.certRb }));
 * ```
 */
export class FetchManager {
  readonly limits: Readonly<FetchLimits>;
  private readonly target: FetchTarget;
  private readonly clock: Clock;
  private readonly opts: FetchManagerOptions;
  private readonly items = new Map<string, Item>();
  private readonly txWants = new Map<string, TxWant>();
  private readonly peers = new Map<string, PeerState>();
  private readonly rbServers = new Map<string, Set<string>>();
  private p2Bytes = 0;
  private bytes = 0;
  private requests = 0;
  private burst = { active: false, pending: 0, withheld: 0 };
  private pumpQueued = false;
  /** The background lane: P2 deliveries, one at a time (see the primer). */
  private lane: Promise<unknown> = Promise.resolve();
  /** `performance.now()` before which the lane starts no job (the duty cap). */
  private laneFreeAt = 0;
  private hedgeTimer: unknown;
  private hedgeAt = Number.POSITIVE_INFINITY;
  private closed = false;
  /** What was fetched and accepted by the node (EB bodies, closure txs, their bytes). */
  readonly fetched = { ebs: 0, txs: 0, bytes: 0 };
  /**
   * Background-lane jobs (P2 loads and deliveries): how many, their total and longest wall time,
   * and the thread's busy time during them (ms).
   */
  readonly backgroundStats = { jobs: 0, ms: 0, busyMs: 0, maxMs: 0 };
  /**
   * Decision passes ({@link FetchManager.pump}): how many, their total and longest time. They run
   * on the node's thread outside the background lane, so their cost shows next to the lane's.
   */
  readonly pumpStats = { passes: 0, ms: 0, maxMs: 0 };

  constructor(opts: FetchManagerOptions) {
    this.opts = opts;
    this.target = opts.target;
    this.clock = opts.clock ?? systemClock;
    this.limits = Object.freeze({ ...DEFAULT_FETCH_LIMITS, ...opts.limits });
  }

  // ------------------------------------------------------------------------------------------
  // Inputs

  /** A peer (connection) can now be asked. */
  addPeer(peer: FetchPeer): void {
    if (this.closed) return;
    this.peers.set(peer.id, { peer, requests: 0, p2Requests: 0, wip: new Map(), latencyMs: undefined });
    this.pumpSoon();
  }

  /** A peer's connection ended: forget its offers (its outstanding requests fail on their own). */
  removePeer(id: string): void {
    if (!this.peers.delete(id)) return;
    for (const it of this.items.values()) {
      it.bodyOffers.delete(id);
      it.txsOffers.delete(id);
    }
    for (const s of this.rbServers.values()) s.delete(id);
    this.pumpSoon();
  }

  /** LeiosNotify BlockOffer from `peerId`. */
  offerBlock(peerId: string, point: EbPoint, ebSize: number): void {
    const it = this.ensure(point.hash, point.slot, ebSize);
    if (!it) return;
    it.bodyOffers.add(peerId);
    this.pumpSoon();
  }

  /** LeiosNotify BlockTxsOffer from `peerId`. */
  offerTxs(peerId: string, point: EbPoint): void {
    const it = this.ensure(point.hash, point.slot, 0);
    if (!it) return;
    it.txsOffers.add(peerId);
    this.pumpSoon();
  }

  /**
   * The node wants an EB (announced by a header: `need-eb`; certified by a CertRB waiting for its
   * closure: `need-closure`, fetched at Praos priority from any peer that offered it or served
   * the CertRB).
   */
  want(hash: Hash32, slot: number, opts: { size?: number; certified?: boolean; certRb?: Hash32 } = {}): void {
    const it = this.ensure(hash, slot, opts.size ?? 0);
    if (!it) return;
    if (opts.certified) {
      it.certified = true;
      if (opts.certRb) it.certRb = toHex(opts.certRb);
    }
    this.pumpSoon();
  }

  /** `peerId` served the block (header via chain-sync or body via block-fetch) `rbHash`. */
  noteRbFrom(peerId: string, rbHash: Hash32): void {
    const k = toHex(rbHash);
    let s = this.rbServers.get(k);
    if (!s) {
      if (this.rbServers.size >= MAX_RB_SERVERS) this.rbServers.delete(this.rbServers.keys().next().value as string);
      s = new Set();
      this.rbServers.set(k, s);
    }
    s.add(peerId);
  }

  /** Re-run the decision loop soon (node state changed). */
  pumpSoon(): void {
    if (this.pumpQueued || this.closed) return;
    this.pumpQueued = true;
    // After this turn, not within it: a pass walks every item (hundreds in a §13.2 burst), and
    // what the turn queued — above all the Praos egress of a block just adopted, whose 'tip'
    // event asks for a pass too — goes out first (§13.3: Praos keeps < 5% added latency). The
    // turn's other changes (offers, deliveries, node events) fold into the same pass.
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Stop issuing requests. */
  close(): void {
    this.closed = true;
    if (this.hedgeTimer !== undefined) this.clock.clearTimer(this.hedgeTimer);
    this.hedgeTimer = undefined;
    this.items.clear();
    this.txWants.clear();
    this.peers.clear();
  }

  /** Counters for metrics and tests. */
  stats(): FetchStats {
    let stale = 0;
    for (const it of this.items.values()) if (this.target.priority(it.slot, it.certified).cls === 2) stale++;
    const b = this.countBurst();
    return {
      items: this.items.size,
      staleItems: stale,
      pendingStale: b.pending,
      withheldStale: b.withheld,
      burstActive: b.pending > this.limits.burstThreshold,
      requestsInFlight: this.requests,
      bytesInFlight: this.bytes,
      p2BytesInFlight: this.p2Bytes,
      peers: this.peers.size,
    };
  }

  /** Whether a burst is on (§13.3), as of the last decision pass. */
  get burstActive(): boolean {
    return this.burst.active;
  }

  /**
   * §13.3 pending stale EBs: class P2, not complete, and offered by a peer or in flight. A stale
   * EB nobody offers is withheld, not pending: there is nothing to fetch.
   */
  private countBurst(): { pending: number; withheld: number } {
    let pending = 0;
    let withheld = 0;
    for (const it of this.items.values()) {
      if (it.done || this.target.priority(it.slot, it.certified).cls !== 2) continue;
      const st = this.target.ebStatus(it.hash);
      if (!st || st.complete || st.invalid) continue;
      if (isPending(it)) pending++;
      else if (!st.held) withheld++;
    }
    return { pending, withheld };
  }

  private setBurst(pending: number, withheld: number): void {
    const active = pending > this.limits.burstThreshold;
    const changed = active !== this.burst.active;
    this.burst = { active, pending, withheld };
    if (changed) this.opts.onBurst?.({ active, pending });
  }

  // ------------------------------------------------------------------------------------------
  // Items

  private ensure(hash: Hash32, slot: number, size: number): Item | undefined {
    if (this.closed) return undefined;
    const key = toHex(hash);
    const existing = this.items.get(key);
    if (existing) {
      if (size > 0 && existing.size === 0) existing.size = size;
      return existing;
    }
    const st = this.target.ebStatus(hash);
    if (st?.complete || st?.invalid) return undefined;
    if (this.items.size >= this.limits.maxItems && !this.evictOne()) {
      this.opts.onWarning?.({ what: 'fetch-items-full', detail: `dropping an offer for EB ${key}: ${this.items.size} items tracked` });
      return undefined;
    }
    const it: Item = {
      hash,
      key,
      slot,
      size,
      certified: false,
      certRb: undefined,
      createdAt: this.clock.now(),
      bodyOffers: new Set(),
      txsOffers: new Set(),
      bodyAsked: new Set(),
      bodyInflight: new Map(),
      txsInflight: new Set(),
      missing: undefined,
      loading: false,
      loadFailures: 0,
      emptyReloads: 0,
      done: false,
    };
    this.items.set(key, it);
    return it;
  }

  /**
   * Make room by forgetting the oldest idle offer for an EB the node does not know. Known EBs are
   * never evicted (§13.3: never drop an EB whose header is valid and younger than the immutable
   * tip); with 4,096 items that bound is far above a 12 h burst (§13.2: ≈ 720 EBs).
   */
  private evictOne(): boolean {
    let victim: Item | undefined;
    for (const it of this.items.values()) {
      if (it.bodyInflight.size > 0 || it.txsInflight.size > 0 || it.certified) continue;
      if (this.target.ebStatus(it.hash) !== undefined) continue;
      if (!victim || it.slot < victim.slot) victim = it;
    }
    if (!victim) return false;
    this.drop(victim);
    return true;
  }

  private drop(it: Item): void {
    it.done = true;
    this.items.delete(it.key);
    if (!it.missing) return;
    for (const tw of it.missing.values()) {
      const i = tw.holders.findIndex((h) => h.item === it);
      if (i >= 0) tw.holders.splice(i, 1);
      if (tw.holders.length === 0) this.txWants.delete(tw.key);
    }
  }

  // ------------------------------------------------------------------------------------------
  // The decision loop

  /** One pass over the items in §13.1 order, issuing every request the bounds allow. */
  pump(): void {
    if (this.closed) return;
    const t0 = performance.now();
    try {
      this.pass();
    } finally {
      const ms = performance.now() - t0;
      const st = this.pumpStats;
      st.passes++;
      st.ms += ms;
      st.maxMs = Math.max(st.maxMs, ms);
    }
  }

  private pass(): void {
    const now = this.clock.now();
    const work: Array<{ it: Item; st: EbStatus; prio: Priority }> = [];
    for (const it of [...this.items.values()]) {
      const st = this.target.ebStatus(it.hash);
      if (!st) {
        if (now - it.createdAt > this.limits.unannouncedTtlMs && it.bodyInflight.size === 0) this.drop(it);
        continue;
      }
      if (st.invalid || st.complete) {
        this.drop(it);
        continue;
      }
      it.slot = st.slot;
      it.size = st.size;
      work.push({ it, st, prio: this.target.priority(st.slot, it.certified) });
    }
    // §13.1 rule 2 (freshest first within a class), also for P0 where comparePriority ties.
    work.sort((a, b) => comparePriority(a.prio, b.prio) || b.it.slot - a.it.slot);
    let hedge = Number.POSITIVE_INFINITY;
    for (const { it, st, prio } of work) {
      // §13.1 rule 4 leaves room for few P2 requests (one per peer, 8 MiB in all): while none can
      // be issued, a stale item has nothing to schedule, and with hundreds of them pending (a
      // §13.2 burst) walking each one's peers on every pass is stale work on the node's thread.
      // A request's end frees room and runs a pass, which arms the hedges again.
      if (prio.cls === 2 && (!st.held || (it.missing !== undefined && it.missing.size > 0)) && !this.p2Room()) continue;
      if (!st.held) hedge = Math.min(hedge, this.scheduleBody(it, prio, now));
      else if (it.missing === undefined) this.load(it, prio);
      else if (it.missing.size === 0) {
        // Everything requested was delivered but the node does not report the closure complete
        // yet (another EB's txs may have completed it): look again once nothing is in flight.
        if (it.txsInflight.size === 0 && !it.loading) {
          if (++it.emptyReloads > MAX_LOAD_FAILURES) this.drop(it);
          else it.missing = undefined;
        }
      } else hedge = Math.min(hedge, this.scheduleTxs(it, prio, now));
    }
    this.armHedge(hedge);
    // §13.3 burst count over the same snapshot (no second walk over the items and the node)
    let pending = 0;
    let withheld = 0;
    for (const { it, st, prio } of work) {
      if (it.done || prio.cls !== 2) continue;
      if (isPending(it)) pending++;
      else if (!st.held) withheld++;
    }
    this.setBurst(pending, withheld);
  }

  /** Whether some peer could take one more P2 request now (§13.1 rule 4 bounds). */
  private p2Room(): boolean {
    if (this.p2Bytes >= this.limits.maxP2InFlightBytes) return false;
    for (const ps of this.peers.values()) {
      if (ps.p2Requests < this.limits.maxP2RequestsPerPeer && ps.requests < this.limits.maxRequestsPerPeer && ps.peer.canRequest()) return true;
    }
    return false;
  }

  private armHedge(at: number): void {
    if (at === Number.POSITIVE_INFINITY || at >= this.hedgeAt) return;
    if (this.hedgeTimer !== undefined) this.clock.clearTimer(this.hedgeTimer);
    this.hedgeAt = at;
    this.hedgeTimer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      this.hedgeTimer = undefined;
      this.hedgeAt = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }

  private latency(ps: PeerState): number {
    return ps.latencyMs ?? ps.peer.rttMs() ?? DEFAULT_LATENCY_MS;
  }

  /** Eligible peers, best first. */
  private rank(ids: Iterable<string>, prio: Priority): PeerState[] {
    const out: PeerState[] = [];
    for (const id of ids) {
      const ps = this.peers.get(id);
      if (ps) out.push(ps);
    }
    return out.sort((a, b) => {
      // §13.1 rule 4: P0 fetches to a peer with no P2 request outstanding when possible.
      if (prio.cls === 0) {
        const d = (a.p2Requests > 0 ? 1 : 0) - (b.p2Requests > 0 ? 1 : 0);
        if (d !== 0) return d;
      }
      return this.latency(a) * (1 + a.requests) - this.latency(b) * (1 + b.requests);
    });
  }

  private canUse(ps: PeerState, it: Item, prio: Priority, bytes: number): boolean {
    if (!ps.peer.canRequest() || ps.requests >= this.limits.maxRequestsPerPeer) return false;
    if (!ps.wip.has(it.key) && ps.wip.size >= this.limits.maxWipEbsPerPeer) return false;
    if (prio.cls === 2) {
      if (ps.p2Requests >= this.limits.maxP2RequestsPerPeer) return false;
      if (this.p2Bytes + bytes > this.limits.maxP2InFlightBytes) return false;
    }
    return true;
  }

  private sources(it: Item, offers: Set<string>): Set<string> {
    if (!it.certified || !it.certRb) return offers;
    // §10.2: a certified EB may be asked of the peers that served its CertRB.
    const served = this.rbServers.get(it.certRb);
    return served ? new Set([...offers, ...served]) : offers;
  }

  /** Returns when a hedge becomes due (or +∞). */
  private hedgeDelay(prio: Priority): number {
    return prio.cls === 2 ? this.limits.backgroundHedgeAfterMs : this.limits.hedgeAfterMs;
  }

  private scheduleBody(it: Item, prio: Priority, now: number): number {
    if (it.bodyInflight.size >= this.limits.maxPeersPerItem) return Number.POSITIVE_INFINITY;
    const hedgeAfter = this.hedgeDelay(prio);
    if (it.bodyInflight.size > 0) {
      const first = Math.min(...it.bodyInflight.values());
      if (now - first < hedgeAfter) return first + hedgeAfter;
    }
    const candidates = [...this.sources(it, it.bodyOffers)].filter((id) => !it.bodyAsked.has(id));
    for (const ps of this.rank(candidates, prio)) {
      if (!this.canUse(ps, it, prio, it.size)) continue;
      this.issueBody(ps, it, prio, now);
      // look again when a second peer may be asked
      return it.bodyInflight.size < this.limits.maxPeersPerItem ? now + hedgeAfter : Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }

  private scheduleTxs(it: Item, prio: Priority, now: number): number {
    const missing = it.missing;
    if (!missing) return Number.POSITIVE_INFINITY;
    let hedge = Number.POSITIVE_INFINITY;
    const hedgeAfter = this.hedgeDelay(prio);
    const candidates = [...this.sources(it, it.txsOffers)].filter((id) => !it.txsInflight.has(id));
    for (const ps of this.rank(candidates, prio)) {
      if (!this.canUse(ps, it, prio, 1)) continue;
      const cap =
        prio.cls === 2
          ? Math.min(this.limits.maxP2RequestTxBytes, this.limits.maxP2InFlightBytes - this.p2Bytes)
          : this.limits.maxRequestTxBytes;
      const sel: number[] = [];
      let bytes = 0;
      for (const [index, tw] of missing) {
        if (tw.delivered || tw.inflight.size >= this.limits.maxPeersPerItem || tw.asked.has(ps.peer.id)) continue;
        if (tw.inflight.size > 0) {
          const first = Math.min(...tw.inflight.values());
          if (now - first < hedgeAfter) {
            hedge = Math.min(hedge, first + hedgeAfter);
            continue;
          }
        }
        if (bytes + tw.ref.size > cap || sel.length >= this.limits.maxRequestTxs) break;
        sel.push(index);
        bytes += tw.ref.size;
      }
      if (sel.length > 0) {
        this.issueTxs(ps, it, sel, bytes, prio, now);
        hedge = Math.min(hedge, now + hedgeAfter);
      }
    }
    return hedge;
  }

  private acquire(ps: PeerState, it: Item, prio: Priority, bytes: number): () => void {
    ps.requests++;
    this.requests++;
    this.bytes += bytes;
    ps.wip.set(it.key, (ps.wip.get(it.key) ?? 0) + 1);
    const p2 = prio.cls === 2;
    if (p2) {
      ps.p2Requests++;
      this.p2Bytes += bytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      ps.requests--;
      this.requests--;
      this.bytes -= bytes;
      const n = (ps.wip.get(it.key) ?? 1) - 1;
      if (n <= 0) ps.wip.delete(it.key);
      else ps.wip.set(it.key, n);
      if (p2) {
        ps.p2Requests--;
        this.p2Bytes -= bytes;
      }
    };
  }

  private observe(ps: PeerState, startedAt: number): void {
    const ms = this.clock.now() - startedAt;
    ps.latencyMs = ps.latencyMs === undefined ? ms : 0.7 * ps.latencyMs + 0.3 * ms;
  }

  private issueBody(ps: PeerState, it: Item, prio: Priority, now: number): void {
    const id = ps.peer.id;
    it.bodyAsked.add(id);
    it.bodyInflight.set(id, now);
    const release = this.acquire(ps, it, prio, it.size);
    this.opts.onRequest?.({ peer: id, kind: 'block', ebHash: it.hash, ebSlot: it.slot, cls: prio.cls, indices: [], bytes: it.size });
    ps.peer
      .requestBlock({ slot: it.slot as EbPoint['slot'], hash: it.hash }, prio)
      .then(
        async (bytes) => {
          this.observe(ps, now);
          // a hedged twin may have delivered it already
          if (it.done || this.target.ebStatus(it.hash)?.held) return;
          if (await this.deliver(id, `EB ${it.key}`, prio, () => this.target.deliverEb(it.hash, bytes, prio))) {
            this.fetched.ebs++;
            this.fetched.bytes += bytes.length;
          }
        },
        () => {
          // The connection closed (timeouts and bad replies close it too); another peer takes over.
        },
      )
      .finally(() => {
        it.bodyInflight.delete(id);
        release();
        this.pumpSoon();
      });
  }

  private issueTxs(ps: PeerState, it: Item, indices: number[], bytes: number, prio: Priority, now: number): void {
    const id = ps.peer.id;
    const missing = it.missing!;
    const wants = indices.map((i) => missing.get(i)!);
    for (const tw of wants) {
      tw.asked.add(id);
      tw.inflight.set(id, now);
    }
    it.txsInflight.add(id);
    const release = this.acquire(ps, it, prio, bytes);
    this.opts.onRequest?.({ peer: id, kind: 'txs', ebHash: it.hash, ebSlot: it.slot, cls: prio.cls, indices, bytes });
    ps.peer
      .requestTxs(
        { slot: it.slot as EbPoint['slot'], hash: it.hash },
        bitmapFromIndices(indices),
        wants.map((w) => w.ref),
        prio,
      )
      .then(
        async (txs) => {
          this.observe(ps, now);
          // a hedged twin may have delivered some of them already
          const fresh: Uint8Array[] = [];
          const got: TxWant[] = [];
          const at: number[] = [];
          wants.forEach((tw, k) => {
            if (!tw.delivered && txs[k]) {
              fresh.push(txs[k]);
              got.push(tw);
              at.push(indices[k]!);
            }
          });
          if (fresh.length === 0 || it.done) return;
          const ok = await this.deliver(id, `${fresh.length} txs of EB ${it.key}`, prio, () => this.target.deliverTxs(it.hash, fresh, prio, at));
          if (!ok) return;
          for (const tw of got) this.delivered(tw);
          this.fetched.txs += fresh.length;
          for (const t of fresh) this.fetched.bytes += t.length;
        },
        () => {
          // connection closed: the txs stay missing and are asked of another peer
        },
      )
      .finally(() => {
        for (const tw of wants) tw.inflight.delete(id);
        it.txsInflight.delete(id);
        release();
        this.pumpSoon();
      });
  }

  private delivered(tw: TxWant): void {
    tw.delivered = true;
    for (const h of tw.holders) h.item.missing?.delete(h.index);
    tw.holders.length = 0;
    this.txWants.delete(tw.key);
  }

  /** Wait (bounded) until the node is idle: background work goes in only between Praos work. */
  private async yieldToNode(): Promise<void> {
    // first let whatever already reached the thread run (messages are macrotasks; the database
    // and the node's queue may resolve in microtasks only, without ever yielding to them)
    await new Promise<void>((resolve) => setImmediate(resolve));
    const idle = this.target.idle?.();
    if (!idle) return;
    let timer: unknown;
    await Promise.race([
      idle,
      new Promise<void>((resolve) => {
        timer = this.clock.setTimer(this.limits.backgroundYieldMs, resolve);
      }),
    ]);
    this.clock.clearTimer(timer);
  }

  /** Run `fn` in the background lane: one at a time, each after the node went idle. */
  private background<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(async () => {
      // the duty cap: a pause of real time, not of the injected clock (it scales real CPU time)
      const wait = this.laneFreeAt - performance.now();
      if (wait > 0) await new Promise<void>((r) => setTimeout(r, wait));
      await this.yieldToNode();
      const t0 = performance.now();
      const elu0 = performance.eventLoopUtilization();
      try {
        return await fn();
      } finally {
        const t1 = performance.now();
        // the thread's busy time during the job: the database's CPU when it runs in this thread
        // (PGlite), next to nothing when the job mostly waits on a server (Postgres)
        const busy = performance.eventLoopUtilization(elu0).active;
        const st = this.backgroundStats;
        st.jobs++;
        st.ms += t1 - t0;
        st.busyMs += busy;
        st.maxMs = Math.max(st.maxMs, t1 - t0);
        this.laneFreeAt = t1 + busy * (1 / this.limits.backgroundDuty - 1);
      }
    });
    this.lane = run.catch(() => undefined);
    return run;
  }

  private async deliver(peer: string, what: string, prio: Priority, fn: () => Promise<void>): Promise<boolean> {
    if (prio.cls !== 2) return this.deliverNow(peer, what, fn);
    return this.background(() => (this.closed ? Promise.resolve(false) : this.deliverNow(peer, what, fn)));
  }

  private async deliverNow(peer: string, what: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      this.opts.onWarning?.({ what: 'fetch-delivery-rejected', detail: `${what}: ${e instanceof Error ? e.message : String(e)}`, peer });
      this.peers.get(peer)?.peer.rejected?.(what, e);
      return false;
    }
  }

  private load(it: Item, prio: Priority): void {
    if (it.loading) return;
    it.loading = true;
    // a stale EB's missing list is database work too: it waits in the background lane
    const list = prio.cls === 2 ? this.background(() => this.target.missingTxs(it.hash)) : this.target.missingTxs(it.hash);
    list
      .then(
        (list) => {
          if (it.done) return;
          const m = new Map<number, TxWant>();
          for (const { index, ref } of list) {
            const key = toHex(ref.hash);
            let tw = this.txWants.get(key);
            if (!tw) {
              tw = { key, ref, asked: new Set(), inflight: new Map(), holders: [], delivered: false };
              this.txWants.set(key, tw);
            }
            tw.holders.push({ item: it, index });
            m.set(index, tw);
          }
          it.missing = m;
        },
        (e) => {
          it.loadFailures++;
          this.opts.onWarning?.({ what: 'fetch-load-failed', detail: `EB ${it.key}: ${e instanceof Error ? e.message : String(e)}` });
          if (it.loadFailures >= MAX_LOAD_FAILURES) this.drop(it);
        },
      )
      .finally(() => {
        it.loading = false;
        this.pumpSoon();
      });
  }
}

/**
 * A {@link FetchPeer} over one connection's LeiosFetch client (the driver does the §10.2 reply
 * checks and the §11 timeouts).
 *
 * @example
 * ```ts
 * const lf = new LeiosFetchClient(); conn.register(lf);
 * fm.addPeer(leiosFetchPeer('relay-eu#3', lf, () => keepAlive.rttMs));
 * ```
 */
export function leiosFetchPeer(id: string, client: LeiosFetchClient, rttMs: () => number | undefined): FetchPeer {
  return {
    id,
    rttMs,
    canRequest: () => client.canRequest,
    // .slice(): keep only the item, not the whole received message it is a view of
    requestBlock: async (point, priority) => (await client.requestBlock(point, priority)).bytes.slice(),
    requestTxs: async (point, bitmap, refs, priority) =>
      (await client.requestTxs(point, bitmap, refs, priority)).map((t) => t.bytes.slice()),
  };
}
