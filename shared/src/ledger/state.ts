/**
 * Ledger state evolution over blocks (PROTOCOL.md §4.2, §5.4) and vote-key registrations (§3.3a).
 *
 * Primer: the state evolves as "RB txs, then the EB certified by the child CertRB in reference
 * order, then the next RB". Since the certifying CertRB is the announcing RB's immediate child
 * and carries no txs, the state after the announcing RB's own txs (what EB txs are validated
 * against, §5.4) is exactly the state the CertRB is applied to. {@link applyBlock} therefore
 * applies, on the state after the parent: first the certified EB's closure (`noValidate`, in
 * reference order), then the block's own txs (`apply` by default). Everything runs on an
 * {@link OverlayUtxo} over the caller's view, so a failing block leaves nothing behind; the
 * result is a {@link BlockDelta} whose net `consumed` / `produced` lists commit the block and,
 * undone, roll it back exactly.
 *
 * @module
 */
import { toHex } from '../bytes/index';
import { TxInvalidError } from '../errors/index';
import type { Hash32, PoolId } from '../types/index';
import type { Tx, VoteKey } from './tx';
import { APPLY_KEYED, COMMIT_NO_VALIDATE, keysFor, rememberKeys } from './key';
import { checkTx, type KeyedTxDelta, type ResolvedContext, resolveContext } from './rules';
import { type MemoryUtxo, OverlayUtxo, type UtxoDelta, type UtxoEntry, type UtxoView } from './utxo';
import type { LedgerContext, TxDelta, ValidationLevel } from './validate';

/** The effect of a sequence of txs: per-tx deltas, and the net change against the base view. */
export interface BlockDelta extends UtxoDelta {
  /** Per-tx deltas in application order (certified EB txs first, then the block's txs). */
  readonly txs: readonly TxDelta[];
  /** Base entries spent (net: outputs created and spent inside the block are in neither list). */
  readonly consumed: readonly UtxoEntry[];
  /** Entries created and still unspent at the end of the block. */
  readonly produced: readonly UtxoEntry[];
}

/** Where a failing tx sat: the block's own txs or the certified EB's closure. */
export type BlockPart = 'rb' | 'eb';

/**
 * A tx of a block that fails: a {@link TxInvalidError} (same `rule`) that also says where. At
 * `noValidate` (certified EB txs) this means the CertRB is invalid (§5.3).
 */
export class BlockTxError extends TxInvalidError {
  constructor(
    readonly part: BlockPart,
    /** Position of the tx in its list. */
    readonly position: number,
    readonly txId: Hash32,
    readonly txError: TxInvalidError,
  ) {
    super(txError.rule, `${part} tx #${position}: ${txError.detail}`);
    this.name = 'BlockTxError';
  }
}

function runTxs(
  ov: OverlayUtxo,
  txs: readonly Tx[],
  level: ValidationLevel,
  slot: number,
  ctx: ResolvedContext,
  part: BlockPart,
  out: TxDelta[],
): void {
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!;
    let d: KeyedTxDelta;
    try {
      d = checkTx(ov, tx, level, slot, ctx);
    } catch (e) {
      if (e instanceof TxInvalidError) throw new BlockTxError(part, i, tx.id, e);
      throw e;
    }
    // the keys were computed by the check: commit without recomputing them
    ov[APPLY_KEYED](d.delta, d.ck, d.pk);
    out.push(d.delta);
  }
}

/** The block delta of an overlay's pending changes (keys remembered for the commit and undo). */
function blockDelta(ov: OverlayUtxo, txs: TxDelta[]): BlockDelta {
  const net = ov.netDelta();
  const k = keysFor(net);
  const d: BlockDelta = { txs, consumed: net.consumed, produced: net.produced };
  rememberKeys(d, k.ck, k.pk);
  return d;
}

/**
 * Apply txs in order on `view` (each sees the outputs of those before it) and return the block
 * delta; `view` is not written. Use it to validate an EB closure on the state after its
 * announcing RB (§5.4), or a TxRB's txs. Throws {@link BlockTxError}.
 *
 * @example
 * ```ts
 * // voting: EB txs at apply level, on the state after the announcing RB, at that RB's slot
 * applyTxs(stateAfterRb, ebTxs, 'apply', rbSlot, { pools }, 'eb');
 * ```
 */
export function applyTxs(
  view: UtxoView,
  txs: readonly Tx[],
  level: ValidationLevel,
  slot: number,
  ctx: LedgerContext = {},
  part: BlockPart = 'rb',
): BlockDelta {
  const ov = new OverlayUtxo(view);
  const deltas: TxDelta[] = [];
  runTxs(ov, txs, level, slot, resolveContext(ctx), part, deltas);
  return blockDelta(ov, deltas);
}

/** What one block contributes to the ledger. */
export interface LedgerBlock {
  /** The block's slot (the ttl reference for its own txs). */
  readonly slot: number;
  /** A TxRB's txs (empty for a CertRB). */
  readonly txs: readonly Tx[];
  /** Level for {@link txs} (default `apply`; `reapply` when re-adopting blocks already checked). */
  readonly level?: ValidationLevel;
  /** For a CertRB: the certified EB's closure in reference order, and the announcing RB's slot. */
  readonly certifiedEb?: { readonly txs: readonly Tx[]; readonly slot: number };
}

/**
 * Apply one block on the state after its parent (`view`): the certified EB closure at
 * `noValidate`, then the block's txs. Pure; returns the delta to commit (and to undo on rollback).
 * Throws {@link BlockTxError} (`part` `eb` means the CertRB is invalid).
 *
 * @example
 * ```ts
 * const d = applyBlock(utxo, { slot, txs: rbTxs });
 * utxo.apply(d);
 * undoLog.push(d);
 * ```
 */
export function applyBlock(view: UtxoView, block: LedgerBlock, ctx: LedgerContext = {}): BlockDelta {
  const ov = new OverlayUtxo(view);
  const deltas: TxDelta[] = [];
  const rc = resolveContext(ctx);
  if (block.certifiedEb) runTxs(ov, block.certifiedEb.txs, 'noValidate', block.certifiedEb.slot, rc, 'eb', deltas);
  runTxs(ov, block.txs, block.level ?? 'apply', block.slot, rc, 'rb', deltas);
  return blockDelta(ov, deltas);
}

/**
 * Apply one block on `utxo` (the state after its parent) and commit it: the same result as
 * `utxo.apply(applyBlock(utxo, block, ctx))`, returned as the delta to undo on rollback. Throws
 * {@link BlockTxError} and changes nothing then.
 *
 * A block whose txs all run at *no-validate* (a CertRB, which carries no txs of its own, §4.2;
 * or a replay at `level: 'noValidate'`) takes a direct path: no overlay, no per-tx checks beyond
 * §5.3's "a missing input invalidates the CertRB" (and the already-applied guard that keeps undo
 * exact), one Map operation per input and output on the set itself, and the per-tx deltas of the
 * result are only built if its `txs` is read. This is what makes no-validate much cheaper than
 * *reapply* rather than just somewhat cheaper.
 *
 * @example
 * ```ts
 * const d = commitBlock(utxo, { slot, txs: [], certifiedEb: { txs: closure, slot: rbSlot } });
 * undoLog.push(d); // later: utxo.undo(d)
 * ```
 */
export function commitBlock(utxo: MemoryUtxo, block: LedgerBlock, ctx: LedgerContext = {}): BlockDelta {
  if (block.txs.length > 0 && block.level !== 'noValidate') {
    const d = applyBlock(utxo, block, ctx);
    utxo.apply(d);
    return d;
  }
  const ebTxs = block.certifiedEb?.txs ?? [];
  const all = ebTxs.length === 0 ? block.txs : block.txs.length === 0 ? ebTxs : [...ebTxs, ...block.txs];
  const r = utxo[COMMIT_NO_VALIDATE](all);
  if ('rule' in r) {
    const eb = r.at < ebTxs.length;
    const tx = all[r.at]!;
    throw new BlockTxError(eb ? 'eb' : 'rb', eb ? r.at : r.at - ebTxs.length, tx.id, new TxInvalidError(r.rule, r.detail));
  }
  // the lazy per-tx deltas read the tx list later: a copy if it is the caller's own array
  return new CommittedBlockDelta(r.delta, all === block.txs || all === ebTxs ? all.slice() : all, r.spent, r.made);
}

/**
 * The {@link BlockDelta} of {@link commitBlock}'s direct no-validate path. The net lists (the undo
 * data and what the state hash and a database follow) are made by the commit; the per-tx deltas
 * are made on the first read of {@link txs}, from the block's txs and the entries the commit
 * recorded in order, and then the sources are dropped. Why lazily: §5.3 needs none of them to
 * commit, undo or hash, a node only reads the txs' key registrations (which it takes from the
 * txs), and one object and two arrays per tx were 10-20% of the no-validate time (bench/node.ts
 * A/B). The result is the same whenever it is read: txs and entries are immutable, and `spent` /
 * `made` are fixed at commit.
 */
class CommittedBlockDelta implements BlockDelta {
  readonly consumed: readonly UtxoEntry[];
  readonly produced: readonly UtxoEntry[];
  private built: readonly TxDelta[] | undefined;
  private source: { readonly txs: readonly Tx[]; readonly spent: readonly UtxoEntry[]; readonly made: readonly UtxoEntry[] } | undefined;

  constructor(net: UtxoDelta, txs: readonly Tx[], spent: readonly UtxoEntry[], made: readonly UtxoEntry[]) {
    this.consumed = net.consumed;
    this.produced = net.produced;
    this.source = { txs, spent, made };
    // the keys the commit remembered for its net lists serve this object too (same arrays)
    const k = keysFor(net);
    rememberKeys(this, k.ck, k.pk);
  }

  get txs(): readonly TxDelta[] {
    if (this.built === undefined) {
      const { txs, spent, made } = this.source!;
      const out = new Array<TxDelta>(txs.length);
      let i = 0;
      let j = 0;
      for (let t = 0; t < txs.length; t++) {
        const tx = txs[t]!;
        const b = tx.body;
        const consumed = spent.slice(i, i + b.inputs.length);
        const produced = made.slice(j, j + b.outputs.length);
        i += b.inputs.length;
        j += b.outputs.length;
        out[t] = { txId: tx.id, txHash: tx.hash, fee: b.fee, keyRegs: b.keyRegs, consumed, produced };
      }
      this.built = out;
      this.source = undefined;
    }
    return this.built;
  }
}

/**
 * The net change of a block delta alone, `{ consumed, produced }` (the same arrays, keys kept for
 * {@link MemoryUtxo.undo} and `composeDeltas`): what an undo log keeps. Keeping the whole
 * {@link BlockDelta} would also keep its per-tx deltas, or for {@link commitBlock}'s no-validate
 * path the block's decoded txs they would be built from, for as long as the block can be rolled
 * back.
 *
 * @example
 * ```ts
 * undoLog.push(undoDataOf(commitBlock(utxo, block))); // later: utxo.undo(undoLog.pop()!)
 * ```
 */
export function undoDataOf(d: BlockDelta): UtxoDelta {
  const net: UtxoDelta = { consumed: d.consumed, produced: d.produced };
  const k = keysFor(d);
  rememberKeys(net, k.ck, k.pk);
  return net;
}

/** Σ fees of a block delta. */
export function blockFees(d: BlockDelta): bigint {
  let s = 0n;
  for (const t of d.txs) s += t.fee;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Vote-key registrations (§3.3a)

/** A key registration as the node records it: which block carried it, and its chain position. */
export interface KeyRegistration {
  readonly poolId: PoolId;
  readonly voteKey: VoteKey;
  /** Epoch of the block that carried the registration (e); it takes effect for e+2. */
  readonly epoch: number;
  /** Slot of that block (chain order). */
  readonly slot: number;
  /** Order within the block (ties at one slot): the running index from {@link keyRegistrationsOf}. */
  readonly position: number;
}

/**
 * The registrations carried by a block delta, in application order, tagged with the block's
 * epoch and slot.
 *
 * @example
 * ```ts
 * for (const r of keyRegistrationsOf(delta, epochOf(slot), slot)) await store.recordKeyReg(r);
 * ```
 */
export function keyRegistrationsOf(d: BlockDelta, epoch: number, slot: number): KeyRegistration[] {
  const out: KeyRegistration[] = [];
  for (const t of d.txs) {
    for (const r of t.keyRegs) out.push({ poolId: r.poolId, voteKey: r.voteKey, epoch, slot, position: out.length });
  }
  return out;
}

/**
 * The vote keys in force for `epoch` by registration: a registration of epoch e counts from
 * epoch e+2 on, and the latest (by slot, then position) wins per pool (§3.3a). Returns a map
 * from pool id hex to its vote key; pools without an effective registration are absent (they
 * keep the genesis vote key).
 *
 * @example
 * ```ts
 * const overrides = effectiveVoteKeys(registrations, 7);
 * const vk = overrides.get(toHex(poolId))?.vk ?? pool.voteKey?.vk;
 * ```
 */
export function effectiveVoteKeys(registrations: Iterable<KeyRegistration>, epoch: number): Map<string, VoteKey> {
  const best = new Map<string, KeyRegistration>();
  for (const r of registrations) {
    if (r.epoch + 2 > epoch) continue;
    const k = toHex(r.poolId);
    const cur = best.get(k);
    if (!cur || r.slot > cur.slot || (r.slot === cur.slot && r.position > cur.position)) best.set(k, r);
  }
  const out = new Map<string, VoteKey>();
  for (const [k, r] of best) out.set(k, r.voteKey);
  return out;
}
