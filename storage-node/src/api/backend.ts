/**
 * What the HTTP API needs from a storage node: {@link NodeApiBackend}.
 *
 * Primer: the API is written before the node logic (producer, voter, mempool, chain selection)
 * and must not depend on it, so it states what it needs as an interface: bytes by hash (stored
 * bytes, §1.3: served exactly as received), the tip, an epoch's pool list, tx and vote submission
 * with typed outcomes, and a status snapshot for the dashboard. The node implements it over its
 * stores. Outcomes that are answers, not failures (unknown hash, invalid tx, a full mempool) are
 * returned as values; a thrown error means the node itself is in trouble and becomes a 500.
 *
 * @module
 */
import type { Hash32, TxRule } from '@leios/shared';
import type { VOTE_REJECTION_TYPES } from '@leios/shared/obs';

/** A §12 per-vote rejection type. */
export type VoteRejectionType = (typeof VOTE_REJECTION_TYPES)[number];

/** The tip of the selected chain (`GET /v1/tip`); `slot` and `hash` are null for an empty chain. */
export interface TipInfo {
  slot: number | null;
  blockNumber: number;
  hash: Hash32 | null;
  epoch: number;
}

/** A decoded tx bitmap: the exact request bytes and the selected indices, ascending and distinct. */
export interface TxSelection {
  bitmap: Uint8Array;
  indices: readonly number[];
}

/**
 * Outcome of {@link NodeApiBackend.getEbTxs}. Check in this order (the §12 precedence 400 → 404):
 * unknown EB → `not-found`; an index ≥ the EB's entry count, or selected stated sizes above
 * MAX_REPLY_BYTES → `bad-bitmap`; a selected tx not held → `txs-unavailable`.
 */
export type EbTxsResult =
  | { ok: true; txs: readonly Uint8Array[] }
  | { ok: false; kind: 'not-found' | 'bad-bitmap' | 'txs-unavailable'; detail: string };

/**
 * Outcome of {@link NodeApiBackend.submitTx}. The backend checks the tx's shape for the ledger
 * mode first (`malformed-cbor`), then size (`tx-too-large` above MAX_TX_SIZE, §12, both modes),
 * then the §5.2 rules (`tx-invalid`). Resubmitting a tx already in the mempool is a success with
 * the same ids (§12: idempotent). `mempool-full` becomes 503 with `Retry-After`.
 */
export type SubmitTxResult =
  | { ok: true; txId: Hash32; txHash: Hash32 }
  | { ok: false; kind: 'malformed-cbor'; detail: string }
  | { ok: false; kind: 'tx-invalid'; rule: TxRule; detail: string }
  | { ok: false; kind: 'mempool-full'; retryAfterS: number; detail: string };

/**
 * Outcome of {@link NodeApiBackend.submitVotes} (the §12 200 body): counts of accepted, duplicate
 * and buffered (RB not yet known, §6.3) votes, and the rejected ones by index in the request.
 */
export interface SubmitVotesResult {
  accepted: number;
  duplicates: number;
  buffered: number;
  rejected: Array<{ index: number; type: VoteRejectionType }>;
}

/** Certification state of an EB, as the dashboard shows it. */
export type EbState =
  /** announced, closure not complete yet */
  | 'pending'
  /** EB and every referenced tx held; votes being collected */
  | 'voting'
  /** verified votes reached τ */
  | 'quorum'
  /** certified by a CertRB on the selected chain */
  | 'certified'
  /** dropped for good (§7.2) */
  | 'dropped';

/** One EB in the dashboard snapshot. Hashes are lowercase hex. */
export interface EbStatus {
  hash: string;
  sizeBytes: number;
  txCount: number;
  txBytes: number;
  state: EbState;
  /** Seats whose verified vote is held. */
  voteSeats: number;
  /** Signed stake over total active stake S (τ is reached at `quorum`). */
  voteWeight: number;
  /** Hash of the CertRB certifying it, once certified. */
  certifiedBy: string | null;
  /** Header arrival → closure held, in seconds (null until held). */
  closureLatencyS: number | null;
}

/** One recent RB of the selected chain, newest first in {@link NodeStatus.recentRbs}. */
export interface RbStatus {
  hash: string;
  slot: number;
  blockNumber: number;
  sizeBytes: number;
  txCount: number;
  /** The EB this RB announces, if any. */
  eb: EbStatus | null;
  /** Hash of the parent's EB this CertRB certifies (null for a TxRB). */
  certifies: string | null;
}

/** One point of a time series: `t_s` = seconds since systemStart. */
export interface SeriesPoint {
  t_s: number;
  value: number;
}

/** The dashboard snapshot (`GET /api/status`). */
export interface NodeStatus {
  node: string;
  /** Wall-clock slot now and seconds since systemStart. */
  slot: number;
  timeS: number;
  slotLengthMs: number;
  tip: { slot: number | null; blockNumber: number; hash: string | null; epoch: number };
  /** τ as a number in (1/2, 1) and as the exact fraction string. */
  quorum: number;
  quorumFraction: string;
  mempool: { txs: number; bytes: number };
  recentRbs: RbStatus[];
  /** EBs still collecting votes (state `voting` or `quorum`), with their tallies. */
  openEbs: Array<EbStatus & { rb: string; slot: number }>;
  /** Certified EBs seen since start (for the dashboard counter). */
  certifiedEbCount: number;
  /** Certified throughput in TxkB/s (kB = 1,000 B of tx bytes), per bucket. */
  certifiedThroughput: SeriesPoint[];
  /** EB diffusion latency: header arrival → closure held, one point per EB, in seconds. */
  ebDiffusionLatency: SeriesPoint[];
}

/**
 * The storage node as the HTTP API sees it. Hashes passed in are already parsed (32 bytes).
 *
 * Metrics: the API counts `leios_votes_received_total{source="http"}`; the backend counts
 * verification and rejection (`leios_votes_verified_total`, `leios_votes_rejected_total`) for both
 * sources, since it does the checking.
 *
 * @example
 * ```ts
 * const app = createApiApp({ backend: node.apiBackend(), metrics: node.metrics, trace: node.trace });
 * ```
 */
export interface NodeApiBackend {
  /** Stored EB bytes, or null if unknown. */
  getEbBytes(hash: Hash32): Promise<Uint8Array | null>;
  /** Stored bytes of the selected txs of an EB, in ascending index order. */
  getEbTxs(hash: Hash32, selection: TxSelection): Promise<EbTxsResult>;
  /** Stored `rb_block` bytes (`[header, body]`), or null if unknown. */
  getRbBlock(hash: Hash32): Promise<Uint8Array | null>;
  /** The tip of the selected chain. */
  tip(): Promise<TipInfo>;
  /** `[e, η_e, [* pool]]` bytes once η_e is fixed (§12), else null (404). */
  epochPools(epoch: number): Promise<Uint8Array | null>;
  /** The wall-clock epoch `epoch(slot(now))` (cache lifetime of `/v1/epoch/{e}/pools`). */
  currentEpoch(): number;
  /** Validate and admit one tx (its exact received bytes). */
  submitTx(tx: Uint8Array): Promise<SubmitTxResult>;
  /** Check and store votes (each the exact bytes of one `vote`, structurally checked already). */
  submitVotes(votes: readonly Uint8Array[]): Promise<SubmitVotesResult>;
  /** Dashboard snapshot. */
  status(): Promise<NodeStatus>;
}
