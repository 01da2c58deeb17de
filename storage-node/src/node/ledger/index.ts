/**
 * Ledger state of the selected chain (PROTOCOL.md §5), in memory, with per-block undo.
 *
 * Primer: the UTxO rules are pure functions in shared/src/ledger; this module holds the state
 * they run on. In ledger mode `utxo` that is a {@link MemoryUtxo} at the selected tip plus, per
 * applied block, the block's net delta (entries consumed and produced), which is exactly its undo
 * data: rolling back a block undoes its delta and restores the previous set entry for entry, and
 * with it the incremental state hash (§7.4 switches never go deeper than k, so only the volatile
 * suffix's deltas are kept). Order per block (§5.4): the certified EB's closure at *no-validate*
 * (for a CertRB), then the block's own txs at *apply* (or *reapply* for blocks this node already
 * checked). In ledger mode `opaque` (§5.6) there is no UTxO: the state is the set of tx ids on
 * the chain, a tx is valid iff it fits MAX_TX_SIZE and is not already on the chain, and the state
 * hash is an order-independent sum of the ids.
 *
 * Persistence (docs/decisions/006): this object is the state at the selected tip; the database
 * holds the state at a checkpoint at or below the immutable tip (stores/utxo: UTxO set or opaque
 * tx ids, key registrations, nonces, the point and its state hash). Only the volatile suffix
 * exists in memory alone, as undo data. A block that leaves the suffix can never be rolled back
 * (§7.4), so {@link LedgerState.trimUndo} returns its record, the node queues its net delta in
 * {@link ImmutableLedger} (./checkpoint), and store maintenance writes the queue as one composed
 * change, in one transaction with the EB promotion. A restarted node loads that checkpoint
 * ({@link LedgerState.restore}), checks the loaded set against the stored state hash (a mismatch
 * stops the start-up; it never falls back to a replay from genesis) and replays only the blocks
 * above it. The chain and the certified closures still determine the state, so the checkpoint can
 * always be re-derived from them (a database without one replays from genesis once).
 *
 * @module
 */
import { bytesToBigInt, toHex } from '@leios/shared/bytes';
import { TxInvalidError } from '@leios/shared/errors';
import {
  applyTx,
  BlockTxError,
  commitBlock,
  decodeOpaqueTx,
  decodeTx,
  type KeyReg,
  type LedgerContext,
  type LedgerParams,
  type LedgerVerifiers,
  MemoryUtxo,
  type OpaqueTx,
  OverlayUtxo,
  type PoolLookup,
  type Tx,
  type UtxoDelta,
  type UtxoEntry,
  type UtxoSetHasher,
  undoDataOf,
  type ValidationLevel,
} from '@leios/shared/ledger';
import type { Hash32 } from '@leios/shared/types';
import type { DecodedTx, LedgerOverlay, MempoolLedger } from '../mempool/index';
import { opaqueSetHash } from './checkpoint';

export * from './checkpoint';

/** A decoded tx of either ledger mode. */
export type AnyTx = Tx | OpaqueTx;

/** What one block contributes, decoded. */
export interface NodeLedgerBlock {
  readonly slot: number;
  readonly txs: readonly AnyTx[];
  /** Level for the block's own txs (default `apply`). */
  readonly level?: ValidationLevel;
  /** A CertRB's certified closure (reference order) and the announcing RB's slot. */
  readonly certifiedEb?: { readonly txs: readonly AnyTx[]; readonly slot: number };
}

/** The recorded effect of one applied block. */
export interface AppliedBlock {
  readonly hash: Hash32;
  readonly slot: number;
  /** Vote-key registrations the block carried (utxo mode), in application order. */
  readonly keyRegs: readonly KeyReg[];
  /** utxo mode: the net delta (undo data; shared's `undoDataOf`, no per-tx deltas). */
  readonly delta?: UtxoDelta;
  /** opaque mode: ids added. */
  readonly ids?: readonly Hash32[];
  /** Number of txs applied (EB closure + own txs). */
  readonly txCount: number;
}

/** Ledger state options. */
export interface LedgerStateOptions {
  readonly mode: 'utxo' | 'opaque';
  readonly initialUtxo?: readonly UtxoEntry[];
  readonly params: LedgerParams;
  /** The genesis pool list, for key registrations (§3.3a, §5.2). */
  readonly pools: PoolLookup;
  /** Signature verifiers for the apply level (default: shared's noble-based ones). */
  readonly verifiers?: LedgerVerifiers;
}

const MOD = 1n << 256n;

/**
 * The key registrations of a block's txs in application order (most blocks carry none), read off
 * the txs themselves: the block delta's per-tx deltas are not needed for that, and at no-validate
 * shared's `commitBlock` only builds them when read.
 */
function keyRegsOf(ebTxs: readonly AnyTx[], txs: readonly AnyTx[]): KeyReg[] {
  const out: KeyReg[] = [];
  for (const part of [ebTxs, txs]) {
    for (const t of part as readonly Tx[]) if (t.body.keyRegs.length > 0) out.push(...t.body.keyRegs);
  }
  return out;
}

function isUtxoTx(tx: AnyTx): tx is Tx {
  return (tx as Tx).body !== undefined;
}

/**
 * The ledger state at the selected tip.
 *
 * @example
 * ```ts
 * const ledger = new LedgerState({ mode: 'utxo', initialUtxo, params, pools: poolLookup(genesis.pools) });
 * const applied = ledger.applyBlock(rbHash, { slot, txs });
 * ledger.undoBlock(rbHash); // rollback
 * ledger.stateHash();
 * ```
 */
export class LedgerState {
  readonly mode: 'utxo' | 'opaque';
  private readonly utxo: MemoryUtxo;
  private readonly ctx: LedgerContext;
  private readonly applied: AppliedBlock[] = [];
  /** opaque mode: ids on the chain, and their sum mod 2^256. */
  private readonly onChain = new Set<string>();
  private idSum = 0n;
  /** Txs applied since genesis (both modes). */
  private txTotal = 0;

  constructor(readonly opts: LedgerStateOptions) {
    this.mode = opts.mode;
    this.utxo = MemoryUtxo.fromEntries(opts.initialUtxo ?? []);
    this.ctx = { params: opts.params, pools: opts.pools, ...(opts.verifiers ? { verifiers: opts.verifiers } : {}) };
  }

  /** Decode tx bytes in this ledger mode (throws TxInvalidError `tx-too-large` or DecodeError). */
  decodeTx(bytes: Uint8Array): AnyTx {
    const o = { maxTxSize: this.opts.params.maxTxSize };
    return this.mode === 'utxo' ? decodeTx(bytes, o) : decodeOpaqueTx(bytes, o);
  }

  /** Blocks applied and still undoable, oldest first. */
  appliedBlocks(): readonly AppliedBlock[] {
    return this.applied;
  }

  /** Number of UTxO entries (utxo mode) or tx ids on the chain (opaque mode). */
  get size(): number {
    return this.mode === 'utxo' ? this.utxo.size : this.onChain.size;
  }

  /** Txs applied on the selected chain since genesis. */
  get txCount(): number {
    return this.txTotal;
  }

  /** Σ of all UTxO amounts (utxo mode; 0 in opaque mode). */
  totalValue(): bigint {
    return this.mode === 'utxo' ? this.utxo.totalValue() : 0n;
  }

  /**
   * The state hash any two nodes can compare: the UTxO set hash (utxo mode, see
   * shared/src/ledger/utxo) or `H256("LEIOS-OPAQUE-SET" || Σ ids mod 2^256 || u64be(count))`.
   */
  stateHash(): Hash32 {
    if (this.mode === 'utxo') return this.utxo.stateHash();
    return opaqueSetHash(this.idSum, this.onChain.size);
  }

  /**
   * Replace the state by a stored checkpoint's (start-up, before any block is applied): the UTxO
   * set (mode utxo) or the tx ids (mode opaque) and the tx count; no undo data. The caller
   * compares {@link stateHash} with the stored hash.
   */
  restore(state: { readonly entries?: readonly UtxoEntry[]; readonly ids?: readonly Hash32[]; readonly txCount: number }): void {
    if (this.applied.length > 0) throw new Error('LedgerState.restore: blocks are applied already');
    // in place: the mempool's overlay and other views hold this very set
    if (this.mode === 'utxo') this.utxo.reset(state.entries ?? []);
    else {
      this.onChain.clear();
      this.idSum = 0n;
      for (const id of state.ids ?? []) {
        this.onChain.add(toHex(id));
        this.idSum = (this.idSum + bytesToBigInt(id)) % MOD;
      }
    }
    this.txTotal = state.txCount;
  }

  /**
   * What {@link ImmutableLedger} needs to follow the set from here: its hasher (mode utxo, no
   * entry digested again) or its id sum (mode opaque). Call it while the state is the stored one.
   */
  checkpointState(): { readonly hasher?: UtxoSetHasher; readonly idSum?: bigint } {
    return this.mode === 'utxo' ? { hasher: this.utxo.hasher() } : { idSum: this.idSum };
  }

  /** The UTxO view of the tip (utxo mode). */
  view(): MemoryUtxo {
    return this.utxo;
  }

  /**
   * Check and apply one block on the tip state (§4.2, §5.4) and record its undo data. Throws
   * {@link BlockTxError} (part `eb` for a certified closure that does not apply, part `rb` for
   * an own tx) and changes nothing then.
   */
  applyBlock(hash: Hash32, block: NodeLedgerBlock): AppliedBlock {
    const ebTxs = block.certifiedEb?.txs ?? [];
    let rec: AppliedBlock;
    if (this.mode === 'utxo') {
      // shared's commitBlock: a CertRB's closure and replays (all no-validate) take its direct
      // path (§5.3: UTxO update only); other blocks are checked on an overlay, then committed
      const delta = commitBlock(
        this.utxo,
        {
          slot: block.slot,
          txs: block.txs as Tx[],
          ...(block.level ? { level: block.level } : {}),
          ...(block.certifiedEb ? { certifiedEb: { txs: block.certifiedEb.txs as Tx[], slot: block.certifiedEb.slot } } : {}),
        },
        this.ctx,
      );
      // the undo log keeps the net change only (§7.4 rollbacks need no more)
      rec = { hash, slot: block.slot, keyRegs: keyRegsOf(ebTxs, block.txs), delta: undoDataOf(delta), txCount: ebTxs.length + block.txs.length };
    } else {
      const ids: Hash32[] = [];
      const seen = new Set<string>();
      const add = (tx: AnyTx, part: 'rb' | 'eb', i: number, check: boolean): void => {
        const k = toHex(tx.id);
        if (check && (this.onChain.has(k) || seen.has(k))) {
          throw new BlockTxError(part, i, tx.id, new TxInvalidError('already-applied', `tx ${k} is already on the chain`));
        }
        if (seen.has(k) || this.onChain.has(k)) return; // a certified duplicate changes nothing
        seen.add(k);
        ids.push(tx.id);
      };
      ebTxs.forEach((tx, i) => {
        add(tx, 'eb', i, false);
      });
      block.txs.forEach((tx, i) => {
        add(tx, 'rb', i, block.level !== 'noValidate');
      });
      for (const id of ids) {
        this.onChain.add(toHex(id));
        this.idSum = (this.idSum + bytesToBigInt(id)) % MOD;
      }
      rec = { hash, slot: block.slot, keyRegs: [], ids, txCount: ebTxs.length + block.txs.length };
    }
    this.applied.push(rec);
    this.txTotal += rec.txCount;
    return rec;
  }

  /** Undo the last applied block, which must be `hash`. */
  undoBlock(hash: Hash32): AppliedBlock {
    const last = this.applied[this.applied.length - 1];
    if (!last || toHex(last.hash) !== toHex(hash)) {
      throw new Error(`undoBlock(${toHex(hash)}): the last applied block is ${last ? toHex(last.hash) : 'none'}`);
    }
    this.applied.pop();
    if (last.delta) this.utxo.undo(last.delta);
    if (last.ids) {
      for (const id of last.ids) {
        this.onChain.delete(toHex(id));
        this.idSum = (this.idSum - bytesToBigInt(id) + MOD) % MOD;
      }
    }
    this.txTotal -= last.txCount;
    return last;
  }

  /**
   * Drop the undo data of blocks that can no longer be rolled back (keep the last `keep`) and
   * return their records, oldest first: their deltas are what the database checkpoint still
   * lacks (./checkpoint).
   */
  trimUndo(keep: number): AppliedBlock[] {
    return this.applied.length > keep ? this.applied.splice(0, this.applied.length - keep) : [];
  }

  /**
   * Check txs in order on the tip state without changing it (EB validation for voting, §6.4
   * rule 4; the producer's closure check). `level` may be chosen per tx (the voter checks txs it
   * already verified on mempool admission at reapply, the rest at apply). Throws {@link BlockTxError}.
   */
  checkTxs(txs: readonly AnyTx[], levelOf: ValidationLevel | ((tx: AnyTx, i: number) => ValidationLevel), slot: number, part: 'rb' | 'eb' = 'eb'): void {
    const lv = typeof levelOf === 'function' ? levelOf : () => levelOf;
    if (this.mode === 'opaque') {
      const seen = new Set<string>();
      txs.forEach((tx, i) => {
        const k = toHex(tx.id);
        if (lv(tx, i) !== 'noValidate' && (this.onChain.has(k) || seen.has(k))) {
          throw new BlockTxError(part, i, tx.id, new TxInvalidError('already-applied', `tx ${k} is already on the chain`));
        }
        seen.add(k);
      });
      return;
    }
    const ov = new OverlayUtxo(this.utxo);
    (txs as Tx[]).forEach((tx, i) => {
      try {
        ov.apply(applyTx(ov, tx, lv(tx, i), slot, this.ctx), false);
      } catch (e) {
        if (e instanceof TxInvalidError) throw new BlockTxError(part, i, tx.id, e);
        throw e;
      }
    });
  }

  /** Whether a tx id is on the selected chain (opaque: exactly; utxo: its first output is unspent). */
  isApplied(txId: Hash32): boolean {
    if (this.mode === 'opaque') return this.onChain.has(toHex(txId));
    return this.utxo.get(txId, 0) !== undefined;
  }

  /** The mempool's view of this ledger (§5.5). */
  mempoolLedger(): MempoolLedger<AnyTx> {
    return {
      decode: (bytes) => {
        const tx = this.decodeTx(bytes);
        return { tx, txId: tx.id, refHash: tx.hash, bytes: tx.bytes };
      },
      overlay: () => this.overlay(),
      isApplied: (id) => this.isApplied(id),
    };
  }

  /** A mutable overlay on the tip state. */
  overlay(): LedgerOverlay<AnyTx> & { readonly utxo?: OverlayUtxo } {
    if (this.mode === 'opaque') {
      const pending = new Set<string>();
      return {
        applyTx: (d: DecodedTx<AnyTx>, _slot: number, level: ValidationLevel) => {
          const k = toHex(d.txId);
          if (level !== 'noValidate' && (this.onChain.has(k) || pending.has(k))) throw new TxInvalidError('already-applied', `tx ${k} is already on the chain`);
          pending.add(k);
        },
      };
    }
    const ov = new OverlayUtxo(this.utxo);
    return {
      utxo: ov,
      applyTx: (d: DecodedTx<AnyTx>, slot: number, level: ValidationLevel) => {
        ov.apply(applyTx(ov, d.tx as Tx, level, slot, this.ctx), false);
      },
    };
  }
}

export { isUtxoTx };
