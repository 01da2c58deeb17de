/**
 * The ledger state as the database holds it: a checkpoint at or below the immutable tip
 * (stores/utxo), and the blocks that became immutable since, waiting to be written.
 *
 * Primer: the node's {@link LedgerState} sits at the selected tip and keeps undo data for the
 * volatile suffix (§7.4: never rolled back deeper than k). A block that leaves the suffix can
 * never be undone again, so its net delta moves from the undo log to this queue, together with
 * what else the node derived from it (key registrations, nonce state, tx count). Store
 * maintenance then writes everything queued as ONE composed change in one transaction
 * ({@link ImmutableLedger.prepare} → `UtxoStore.write` → {@link ImmutableLedger.committed}, or
 * {@link ImmutableLedger.failed} puts the blocks back in front). The state hash of the stored
 * set is followed incrementally ({@link UtxoSetHasher}: one digest per entry that changes in the
 * database, nothing per entry of the set), so each checkpoint row carries the hash a restart
 * verifies the loaded set against.
 *
 * Bounded: past {@link MAX_PENDING_SEGMENTS} queued blocks (a database that refuses the writes
 * while the chain still grows) the queue is composed into one segment, whose size is bounded by
 * the UTxO set itself, not by the number of blocks.
 *
 * @module
 */
import { ascii, bytesToBigInt, concatBytes, u64be } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { composeDeltas, type UtxoDelta, type UtxoSetHasher } from '@leios/shared/ledger';
import type { Hash32 } from '@leios/shared/types';
import type { KeyRegRecord, LedgerCheckpoint, LedgerCheckpointWrite, LedgerPoint, NonceRecord } from '../../stores/utxo/index';
import type { NonceState } from '../epoch/index';
import type { AppliedBlock } from './index';

const OPAQUE_TAG = ascii('LEIOS-OPAQUE-SET');
const MOD = 1n << 256n;

/** Past this many queued segments, the queue is composed into one. */
export const MAX_PENDING_SEGMENTS = 1024;

/**
 * The opaque-mode state hash (§5.6): `H256("LEIOS-OPAQUE-SET" || Σ ids mod 2^256 || u64be(count))`.
 *
 * @example `opaqueSetHash(sum, ids.size)`
 */
export function opaqueSetHash(sum: bigint, count: number): Hash32 {
  const acc = new Uint8Array(32);
  let x = ((sum % MOD) + MOD) % MOD;
  for (let i = 31; i >= 0; i--) {
    acc[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return blake2b256(concatBytes(OPAQUE_TAG, acc, u64be(count)));
}

/** Σ of tx ids as 256-bit integers mod 2^256 (the opaque set's accumulator). @example `opaqueIdSum(ids)` */
export function opaqueIdSum(ids: Iterable<Uint8Array>): bigint {
  let s = 0n;
  for (const id of ids) s = (s + bytesToBigInt(id)) % MOD;
  return s;
}

/** A block that left the volatile suffix, with what the node derived from it. */
export interface ImmutableBlock {
  readonly applied: AppliedBlock;
  readonly blockNo: number;
  /** Epoch of the block's slot. */
  readonly epoch: number;
  /** Nonce state after the block. */
  readonly nonce: NonceState;
}

/** Queued change: one block, or several composed. */
interface Segment {
  readonly point: LedgerPoint;
  readonly nonce: NonceRecord;
  readonly delta: UtxoDelta | undefined;
  readonly ids: readonly Hash32[];
  readonly keyRegs: readonly KeyRegRecord[];
  /** Nonce state after the last block of each epoch in the segment. */
  readonly nonces: ReadonlyMap<number, NonceRecord>;
  readonly txCount: number;
  readonly blocks: number;
}

/** A prepared checkpoint move: hand `from` and `write` to `UtxoStore.write`, then settle it. */
export interface CheckpointFlush {
  readonly from: LedgerPoint;
  readonly write: LedgerCheckpointWrite;
  /** Blocks it covers. */
  readonly blocks: number;
}

interface FlushState {
  readonly segments: Segment[];
  readonly hasher: UtxoSetHasher | undefined;
  readonly idSum: bigint;
  readonly checkpoint: LedgerCheckpoint;
}

function nonceRecord(n: NonceState): NonceRecord {
  return { epoch: n.epoch, eta: n.eta, acc: n.acc };
}

function segmentOf(b: ImmutableBlock): Segment {
  const a = b.applied;
  const nonce = nonceRecord(b.nonce);
  return {
    point: { blockNo: b.blockNo, hash: a.hash, slot: a.slot },
    nonce,
    delta: a.delta,
    ids: a.ids ?? [],
    keyRegs: a.keyRegs.map((r, position) => ({ blockNo: b.blockNo, position, epoch: b.epoch, poolId: r.poolId, voteKey: r.voteKey })),
    nonces: new Map([[b.epoch, nonce]]),
    txCount: a.txCount,
    blocks: 1,
  };
}

function compose(segments: readonly Segment[]): Segment {
  const last = segments[segments.length - 1]!;
  const deltas = segments.flatMap((s) => (s.delta ? [s.delta] : []));
  const nonces = new Map<number, NonceRecord>();
  for (const s of segments) for (const [e, n] of s.nonces) nonces.set(e, n);
  return {
    point: last.point,
    nonce: last.nonce,
    delta: deltas.length > 0 ? composeDeltas(deltas) : undefined,
    ids: segments.flatMap((s) => s.ids),
    keyRegs: segments.flatMap((s) => s.keyRegs),
    nonces,
    txCount: segments.reduce((n, s) => n + s.txCount, 0),
    blocks: segments.reduce((n, s) => n + s.blocks, 0),
  };
}

const inFlight = new WeakMap<CheckpointFlush, FlushState>();

/**
 * The stored checkpoint and the immutable blocks not yet written.
 *
 * @example
 * ```ts
 * const imm = new ImmutableLedger(stored.checkpoint, ledger.checkpointHasher());
 * imm.enqueue(blocksThatLeftTheSuffix);
 * const f = imm.prepare();
 * if (f) {
 *   try { await utxoStore.write(f.from, f.write); imm.committed(f); } catch (e) { imm.failed(f); throw e; }
 * }
 * ```
 */
export class ImmutableLedger {
  private stored: LedgerCheckpoint;
  private hasher: UtxoSetHasher | undefined;
  private idSum: bigint;
  private pending: Segment[] = [];
  private flushing: CheckpointFlush | null = null;

  /**
   * @param checkpoint the checkpoint as stored
   * @param state the set at that checkpoint: its hasher (mode utxo) or its id sum (mode opaque)
   */
  constructor(checkpoint: LedgerCheckpoint, state: { readonly hasher?: UtxoSetHasher; readonly idSum?: bigint }) {
    this.stored = checkpoint;
    this.hasher = state.hasher?.clone();
    this.idSum = state.idSum ?? 0n;
    if (checkpoint.mode === 'utxo' && !this.hasher) throw new Error('ImmutableLedger: mode utxo needs the set hasher');
  }

  /** The checkpoint the database holds (as far as this node knows). */
  get checkpoint(): LedgerCheckpoint {
    return this.stored;
  }

  /** Immutable blocks not yet written (queued and in flight). */
  get pendingBlocks(): number {
    const q = this.pending.reduce((n, s) => n + s.blocks, 0);
    return q + (this.flushing?.blocks ?? 0);
  }

  /** Queue blocks that left the volatile suffix, oldest first, each above the last queued one. */
  enqueue(blocks: readonly ImmutableBlock[]): void {
    for (const b of blocks) {
      const top = this.pending.at(-1)?.point.blockNo ?? this.flushing?.write.checkpoint.point.blockNo ?? this.stored.point.blockNo;
      if (b.blockNo !== top + 1) throw new Error(`ImmutableLedger.enqueue: block ${b.blockNo} does not follow ${top}`);
      this.pending.push(segmentOf(b));
    }
    if (this.pending.length > MAX_PENDING_SEGMENTS) this.pending = [compose(this.pending)];
  }

  /**
   * Take every queued block and prepare the checkpoint move that writes them (null if none, or
   * if a move is in flight). Settle it with {@link committed} or {@link failed}.
   */
  prepare(): CheckpointFlush | null {
    if (this.pending.length === 0 || this.flushing) return null;
    const segments = this.pending;
    this.pending = [];
    const s = compose(segments);
    const prev = this.stored;
    let hasher: UtxoSetHasher | undefined;
    let idSum = this.idSum;
    let stateHash: Hash32;
    let size: number;
    if (prev.mode === 'utxo') {
      hasher = this.hasher!.clone();
      if (s.delta) hasher.apply(s.delta);
      stateHash = hasher.stateHash();
      size = hasher.size;
    } else {
      idSum = (idSum + opaqueIdSum(s.ids)) % MOD;
      size = prev.size + s.ids.length;
      stateHash = opaqueSetHash(idSum, size);
    }
    const checkpoint: LedgerCheckpoint = { mode: prev.mode, point: s.point, stateHash, size, txCount: prev.txCount + s.txCount, nonce: s.nonce };
    const f: CheckpointFlush = {
      from: prev.point,
      write: {
        checkpoint,
        consumed: s.delta?.consumed ?? [],
        produced: s.delta?.produced ?? [],
        ids: s.ids,
        keyRegs: s.keyRegs,
        nonces: [...s.nonces.values()],
      },
      blocks: s.blocks,
    };
    inFlight.set(f, { segments, hasher, idSum, checkpoint });
    this.flushing = f;
    return f;
  }

  /** The prepared move was committed: it is the stored checkpoint now. */
  committed(f: CheckpointFlush): void {
    const st = this.settle(f);
    this.stored = st.checkpoint;
    this.hasher = st.hasher;
    this.idSum = st.idSum;
  }

  /** The prepared move was not written: its blocks go back in front of the queue. */
  failed(f: CheckpointFlush): void {
    const st = this.settle(f);
    this.pending = [...st.segments, ...this.pending];
    if (this.pending.length > MAX_PENDING_SEGMENTS) this.pending = [compose(this.pending)];
  }

  private settle(f: CheckpointFlush): FlushState {
    const st = inFlight.get(f);
    if (!st || this.flushing !== f) throw new Error('ImmutableLedger: settling a checkpoint move that is not in flight');
    inFlight.delete(f);
    this.flushing = null;
    return st;
  }
}
