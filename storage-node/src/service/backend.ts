/**
 * The HTTP API's {@link NodeApiBackend} over a running {@link LeiosNode}, plus the EB bookkeeping
 * the dashboard snapshot needs.
 *
 * Primer: the API (storage-node/src/api) states what it needs as an interface so it does not
 * depend on the node logic; this adapter is the one place where the two meet. Reads go to the
 * node's stores (exact stored bytes, PROTOCOL.md §1.3); writes go through the node's serialised
 * entry points (`submitTx`, `receiveVotes`), whose typed refusals become the §12 outcome values.
 * The node does not keep a history of EB certification states, so {@link EbTracker} follows the
 * node's events (announced → held → closure → quorum → certified) for the most recent EBs, bounded
 * to {@link MAX_TRACKED_EBS}.
 *
 * @module
 */
import { bytesEqual, fromHex, toHex } from '@leios/shared/bytes';
import { formatRational, encodeEpochPools } from '@leios/shared/protocol';
import type { Hash32 } from '@leios/shared/types';
import type { TxRule } from '@leios/shared/errors';
import type {
  EbState,
  EbStatus,
  EbTxsResult,
  NodeApiBackend,
  NodeStatus,
  RbStatus,
  SubmitTxResult,
  SubmitVotesResult,
  TipInfo,
  TxSelection,
} from '../api/index';
import type { StatusSeries } from '../api/index';
import type { HeaderInfo } from '../node/blocks';
import { MempoolRejectedError } from '../node/errors';
import type { LeiosNode } from '../node/index';

/** EBs remembered for the dashboard (oldest forgotten first). */
export const MAX_TRACKED_EBS = 512;
/** Recent RBs in the status snapshot. */
export const STATUS_RECENT_RBS = 20;
/** §12 MAX_REPLY_BYTES: selected stated sizes above it are `bad-bitmap`. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** What the tracker knows about one EB. */
export interface TrackedEb {
  readonly hash: string;
  readonly rbHash: string;
  readonly slot: number;
  readonly size: number;
  /** Header arrival (ms, node clock). */
  readonly announcedAt: number;
  txCount: number;
  txBytes: number;
  held: boolean;
  complete: boolean;
  closureLatencyS: number | null;
  quorum: boolean;
  certifiedBy: string | null;
  dropped: boolean;
}

/**
 * Follows a node's events to know each recent EB's certification state.
 *
 * @example
 * ```ts
 * const tracker = new EbTracker(node, series);
 * tracker.get(ebHex)?.certifiedBy
 * ```
 */
export class EbTracker {
  private readonly ebs = new Map<string, TrackedEb>();
  private readonly offs: Array<() => void> = [];
  certifiedCount = 0;

  constructor(
    private readonly node: LeiosNode,
    private readonly series: StatusSeries,
    private readonly timeS: () => number,
  ) {
    const onHeader = (h: HeaderInfo): void => this.announce(h);
    const onEb = (i: { ebHash: Hash32 }): void => {
      const t = this.ebs.get(toHex(i.ebHash));
      if (!t) return;
      t.held = true;
      void this.fillCounts(t, i.ebHash);
    };
    const onEbTxs = (i: { ebHash: Hash32 }): void => {
      const t = this.ebs.get(toHex(i.ebHash));
      if (!t || t.complete) return;
      t.complete = true;
      t.held = true;
      t.closureLatencyS = Math.max(0, (node.clock.timeS() * 1000 - t.announcedAt) / 1000);
      this.series.recordEbLatency(this.timeS(), t.closureLatencyS);
      void this.fillCounts(t, i.ebHash);
    };
    const onQuorum = (rbHash: Hash32): void => {
      const ann = node.header(rbHash)?.ebAnnouncement;
      const t = ann ? this.ebs.get(toHex(ann.hash)) : undefined;
      if (t) t.quorum = true;
    };
    const onTip = (c: { rolledBack: HeaderInfo[]; adopted: HeaderInfo[] }): void => {
      for (const h of c.rolledBack) {
        const t = this.certifiedByBlock(h);
        if (t && t.certifiedBy === toHex(h.hash)) {
          t.certifiedBy = null;
          this.certifiedCount--;
        }
      }
      for (const h of c.adopted) {
        this.announce(h);
        const t = this.certifiedByBlock(h);
        if (t && t.certifiedBy === null) {
          t.certifiedBy = toHex(h.hash);
          this.certifiedCount++;
          this.series.recordCertified(this.timeS(), t.txBytes);
        }
      }
    };
    node.on('header', onHeader);
    node.on('eb', onEb);
    node.on('eb-txs', onEbTxs);
    node.on('quorum', onQuorum);
    node.on('tip', onTip);
    this.offs.push(
      () => node.off('header', onHeader),
      () => node.off('eb', onEb),
      () => node.off('eb-txs', onEbTxs),
      () => node.off('quorum', onQuorum),
      () => node.off('tip', onTip),
    );
  }

  /** The EB a CertRB certifies (its parent's announcement), if tracked. */
  private certifiedByBlock(h: HeaderInfo): TrackedEb | undefined {
    if (!h.certifiedEb || h.prevHash === null) return undefined;
    const ann = this.node.header(h.prevHash)?.ebAnnouncement;
    return ann ? this.ebs.get(toHex(ann.hash)) : undefined;
  }

  private announce(h: HeaderInfo): void {
    if (!h.ebAnnouncement) return;
    const k = toHex(h.ebAnnouncement.hash);
    if (this.ebs.has(k)) return;
    this.ebs.set(k, {
      hash: k,
      rbHash: toHex(h.hash),
      slot: h.slot,
      size: h.ebAnnouncement.size,
      announcedAt: this.node.clock.timeS() * 1000,
      txCount: 0,
      txBytes: 0,
      held: false,
      complete: false,
      closureLatencyS: null,
      quorum: false,
      certifiedBy: null,
      dropped: false,
    });
    while (this.ebs.size > MAX_TRACKED_EBS) {
      const oldest = this.ebs.keys().next().value;
      if (oldest === undefined) break;
      this.ebs.delete(oldest);
    }
  }

  private async fillCounts(t: TrackedEb, hash: Hash32): Promise<void> {
    if (t.txCount > 0) return;
    const eb = await this.node.ebStore.getEb(hash);
    if (eb) {
      t.txCount = eb.txCount;
      t.txBytes = eb.txBytes;
    }
  }

  /** A tracked EB by hex hash. */
  get(hashHex: string): TrackedEb | undefined {
    return this.ebs.get(hashHex);
  }

  /** Tracked EBs, oldest first. */
  all(): TrackedEb[] {
    return [...this.ebs.values()];
  }

  /** Stop following the node. */
  close(): void {
    for (const off of this.offs) off();
    this.offs.length = 0;
  }
}

function ebState(t: TrackedEb): EbState {
  if (t.certifiedBy !== null) return 'certified';
  if (t.dropped) return 'dropped';
  if (t.quorum) return 'quorum';
  if (t.complete) return 'voting';
  return 'pending';
}

/**
 * The {@link NodeApiBackend} of one node.
 *
 * @example
 * ```ts
 * const series = new StatusSeries({ bucketS: 5 });
 * const backend = new NodeBackend(node, series, () => trace.timeS());
 * const app = createApiApp({ backend, metrics, trace });
 * ```
 */
export class NodeBackend implements NodeApiBackend {
  readonly tracker: EbTracker;

  constructor(
    private readonly node: LeiosNode,
    private readonly series: StatusSeries,
    private readonly timeS: () => number,
    /** Called with the outcome counts of HTTP vote submissions (metrics). */
    private readonly onVotes?: (r: SubmitVotesResult) => void,
  ) {
    this.tracker = new EbTracker(node, series, timeS);
  }

  async getEbBytes(hash: Hash32): Promise<Uint8Array | null> {
    const eb = await this.node.ebStore.getEb(hash);
    return eb ? eb.bytes : null;
  }

  async getEbTxs(hash: Hash32, selection: TxSelection): Promise<EbTxsResult> {
    const refs = await this.node.ebStore.refs(hash);
    if (refs.length === 0 && !(await this.node.ebStore.getEb(hash))) return { ok: false, kind: 'not-found', detail: `EB ${toHex(hash)} is not known` };
    let stated = 0;
    for (const i of selection.indices) {
      const r = refs[i];
      if (r === undefined) return { ok: false, kind: 'bad-bitmap', detail: `index ${i} is beyond the EB's ${refs.length} entries` };
      stated += r.size;
    }
    if (stated > MAX_REPLY_BYTES) return { ok: false, kind: 'bad-bitmap', detail: `selected txs state ${stated} bytes > MAX_REPLY_BYTES` };
    const txs = await this.node.ebStore.getTxsAt(hash, selection.indices);
    const out: Uint8Array[] = [];
    for (let j = 0; j < txs.length; j++) {
      const t = txs[j];
      if (t === undefined) return { ok: false, kind: 'txs-unavailable', detail: `tx #${selection.indices[j]} of EB ${toHex(hash)} is not held` };
      out.push(t);
    }
    return { ok: true, txs: out };
  }

  async getRbBlock(hash: Hash32): Promise<Uint8Array | null> {
    return (await this.node.blockBytes(hash)) ?? null;
  }

  async tip(): Promise<TipInfo> {
    const h = this.node.tipHeader();
    if (!h) return { slot: null, blockNumber: 0, hash: null, epoch: 0 };
    return { slot: h.slot, blockNumber: h.blockNo, hash: h.hash, epoch: this.node.clock.epochOf(h.slot) };
  }

  async epochPools(epoch: number): Promise<Uint8Array | null> {
    // §12: η_e is fixed for e <= epoch(tip), and for epoch(tip)+1 once the tip is past start(e−1) + E − W.
    const tip = this.node.tipHeader();
    const tipSlot = tip?.slot ?? 0;
    const tipEpoch = this.node.clock.epochOf(tipSlot);
    const p = this.node.params;
    const w = Math.ceil((3 * p.securityParam * Number(p.activeSlotCoeff.den)) / Number(p.activeSlotCoeff.num));
    const fixed = epoch <= tipEpoch || (epoch === tipEpoch + 1 && tipSlot > this.node.clock.epochStart(epoch - 1) + p.epochLength - w);
    if (!fixed) return null;
    return encodeEpochPools(epoch, this.node.nonceForEpoch(epoch), this.node.epochs.pools(epoch));
  }

  currentEpoch(): number {
    return this.node.clock.epochOf(this.node.currentSlot());
  }

  async submitTx(tx: Uint8Array): Promise<SubmitTxResult> {
    try {
      const e = await this.node.submitTx(tx);
      return { ok: true, txId: e.txId, txHash: e.refHash };
    } catch (err) {
      if (!(err instanceof MempoolRejectedError)) throw err;
      if (err.code === 'full') return { ok: false, kind: 'mempool-full', retryAfterS: Math.max(1, Math.ceil(this.node.params.slotLengthMs / 1000)), detail: err.detail };
      if (err.code === 'duplicate') {
        // §12: idempotent — a tx already pending or on the chain answers with its ids.
        const d = this.node.ledger.decodeTx(tx);
        return { ok: true, txId: d.id, txHash: d.hash };
      }
      if (err.rule === undefined) return { ok: false, kind: 'malformed-cbor', detail: err.detail };
      return { ok: false, kind: 'tx-invalid', rule: err.rule as TxRule, detail: err.detail };
    }
  }

  async submitVotes(votes: readonly Uint8Array[]): Promise<SubmitVotesResult> {
    const r = await this.node.receiveVotes(votes);
    const out: SubmitVotesResult = { accepted: 0, duplicates: 0, buffered: 0, rejected: [] };
    r.outcomes.forEach((o, index) => {
      if (o === 'accepted') out.accepted++;
      else if (o === 'duplicate') out.duplicates++;
      else if (o === 'buffered') out.buffered++;
      else if (o === 'malformed') {
        // The API decoded every vote structurally before calling us (api/v1.ts): a bug, not input.
        throw new Error(`vote #${index} passed the API's structural check but the node found it malformed`);
      } else out.rejected.push({ index, type: o });
    });
    this.onVotes?.(out);
    return out;
  }

  private ebStatus(t: TrackedEb): EbStatus {
    const rb = fromHex(t.rbHash);
    const tally = this.node.votes.tally(rb);
    const committee = this.node.epochs.committee(this.node.clock.epochOf(t.slot));
    const total = committee.totalStake;
    return {
      hash: t.hash,
      sizeBytes: t.size,
      txCount: t.txCount,
      txBytes: t.txBytes,
      state: ebState(t),
      voteSeats: tally.seats,
      voteWeight: total > 0n ? Number((tally.weight * 1_000_000n) / total) / 1_000_000 : 0,
      certifiedBy: t.certifiedBy,
      closureLatencyS: t.closureLatencyS,
    };
  }

  async status(): Promise<NodeStatus> {
    const node = this.node;
    const tip = node.tipHeader();
    const chain = node.tree.selectedChain();
    const recent = chain.slice(-STATUS_RECENT_RBS).reverse();
    const recentRbs: RbStatus[] = recent.map((e) => {
      const h = e.data.header;
      const ann = h.ebAnnouncement ? this.tracker.get(toHex(h.ebAnnouncement.hash)) : undefined;
      let certifies: string | null = null;
      if (h.certifiedEb && h.prevHash) {
        const parent = node.header(h.prevHash);
        certifies = parent?.ebAnnouncement ? toHex(parent.ebAnnouncement.hash) : null;
      }
      return {
        hash: toHex(h.hash),
        slot: h.slot,
        blockNumber: h.blockNo,
        sizeBytes: h.bytes.length + h.bodySize,
        txCount: e.data.body?.info.txs.length ?? 0,
        eb: ann ? this.ebStatus(ann) : null,
        certifies,
      };
    });
    const openEbs = this.tracker
      .all()
      .filter((t) => t.certifiedBy === null && !t.dropped && t.complete)
      .slice(-16)
      .map((t) => ({ ...this.ebStatus(t), rb: t.rbHash, slot: t.slot }));
    const nowS = this.timeS();
    const q = node.params.quorum;
    return {
      node: node.name,
      slot: node.currentSlot(),
      timeS: nowS,
      slotLengthMs: node.params.slotLengthMs,
      tip: tip
        ? { slot: tip.slot, blockNumber: tip.blockNo, hash: toHex(tip.hash), epoch: node.clock.epochOf(tip.slot) }
        : { slot: null, blockNumber: 0, hash: null, epoch: 0 },
      quorum: Number(q.num) / Number(q.den),
      quorumFraction: formatRational(q),
      mempool: { txs: node.mempool.size, bytes: node.mempool.bytes },
      recentRbs,
      openEbs,
      certifiedEbCount: this.tracker.certifiedCount,
      certifiedThroughput: this.series.throughput(nowS),
      ebDiffusionLatency: this.series.latency(),
    };
  }

  /** Whether `hash` is the tip (tests). */
  isTip(hash: Uint8Array): boolean {
    const t = this.node.tipHeader();
    return t !== null && bytesEqual(t.hash, hash);
  }
}
