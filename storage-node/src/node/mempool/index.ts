/**
 * Mempool (PROTOCOL.md §5.5): pending txs in arrival order, validated against the tip state.
 *
 * Primer: the mempool holds txs that are valid, in FIFO order, on the state after the selected
 * tip *plus every earlier pending tx*: admission runs the full *apply* check (signatures included)
 * on an overlay of the tip state that already contains the pending txs, and applies the tx to that
 * overlay. The pending set is therefore conflict-free and dependency-ordered, which is what lets
 * the block producer take a prefix for the RB and the rest for the EB without re-checking
 * anything but TTLs.
 *
 * When the tip changes (a block applied, or a chain switch) the overlay is rebuilt on the new tip
 * and every pending tx is re-checked at the *reapply* level (no signatures, §5.3): included txs go
 * (their inputs are spent), double spends go, the rest stay in order. Capacity is counted in tx
 * bytes; the default is `2·(S_RB + S_EB_tx)` (§15). Rejections are typed
 * ({@link MempoolRejectedError}: `duplicate`, `invalid` with the §5.2 rule, `full`).
 *
 * The ledger is reached through {@link MempoolLedger}, so the same mempool serves the `utxo` and
 * `opaque` ledger modes.
 *
 * @module
 */
import { toHex } from '@leios/shared/bytes';
import { TxInvalidError } from '@leios/shared/errors';
import type { Hash32 } from '@leios/shared/types';
import { MempoolRejectedError } from '../errors';

/** A decoded tx with its two identities (§2.1). */
export interface DecodedTx<Tx> {
  readonly tx: Tx;
  /** Ledger identity `H256(tx body bytes)` (one tx per id in the mempool). */
  readonly txId: Hash32;
  /** Reference hash `H256(full tx bytes)` (EB key, tx-submission id). */
  readonly refHash: Hash32;
  /** Exact received bytes. */
  readonly bytes: Uint8Array;
}

/** A mutable ledger view the mempool validates on (an overlay of the tip state). */
export interface LedgerOverlay<Tx> {
  /**
   * Check `tx` at `level` against this view at `slot` and, if valid, apply it to the view.
   * Throws {@link TxInvalidError} (and changes nothing) if invalid.
   */
  applyTx(tx: DecodedTx<Tx>, slot: number, level: 'apply' | 'reapply' | 'noValidate'): void;
}

/** What the mempool needs from the ledger. */
export interface MempoolLedger<Tx> {
  /** Decode tx bytes (throws {@link TxInvalidError} `tx-too-large`, or a DecodeError). */
  decode(bytes: Uint8Array): DecodedTx<Tx>;
  /** A fresh overlay on the current tip state. */
  overlay(): LedgerOverlay<Tx>;
  /** Whether a tx id is already applied on the selected chain (duplicate, §5.5). */
  isApplied?(txId: Hash32): boolean;
}

/** A pending tx. */
export interface MempoolEntry<Tx> extends DecodedTx<Tx> {
  /** Arrival sequence number (FIFO order). */
  readonly seq: number;
  readonly size: number;
}

/** Mempool options. */
export interface MempoolOptions {
  /** Capacity in tx bytes (`>= 2·(S_RB + S_EB_tx)` per §5.5). */
  readonly capacityBytes: number;
}

/**
 * The mempool.
 *
 * @example
 * ```ts
 * const mempool = new Mempool(ledgerAdapter, { capacityBytes: mempoolCapacity(params) });
 * const entry = mempool.add(txBytes, currentSlot); // throws MempoolRejectedError
 * mempool.revalidate(currentSlot);                  // after the tip changed
 * ```
 */
export class Mempool<Tx> {
  private readonly byId = new Map<string, MempoolEntry<Tx>>();
  private readonly byRef = new Map<string, MempoolEntry<Tx>>();
  /** FIFO; entries removed lazily (a removed entry is absent from `byId`). */
  private order: MempoolEntry<Tx>[] = [];
  private overlay: LedgerOverlay<Tx>;
  private seq = 0;
  private bytesHeld = 0;
  private readonly listeners = new Set<(e: MempoolEntry<Tx>) => void>();

  constructor(
    private readonly ledger: MempoolLedger<Tx>,
    readonly opts: MempoolOptions,
  ) {
    if (!Number.isSafeInteger(opts.capacityBytes) || opts.capacityBytes < 1) throw new RangeError('capacityBytes must be >= 1');
    this.overlay = ledger.overlay();
  }

  /** Pending tx count. */
  get size(): number {
    return this.byId.size;
  }
  /** Pending tx bytes. */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** Be told of every admitted tx (tx-submission offers it onward). Returns an unsubscribe. */
  onAdded(listener: (e: MempoolEntry<Tx>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Admit a tx at the *apply* level against the tip state plus pending txs (§5.5). Returns the
   * entry; throws {@link MempoolRejectedError} (`duplicate`, `invalid`, `full`) and changes
   * nothing otherwise.
   */
  add(bytes: Uint8Array, slot: number): MempoolEntry<Tx> {
    let d: DecodedTx<Tx>;
    try {
      d = this.ledger.decode(bytes);
    } catch (e) {
      if (e instanceof TxInvalidError) throw MempoolRejectedError.invalid(e);
      if (e instanceof Error && (e as { kind?: string }).kind === 'decode') {
        throw new MempoolRejectedError('invalid', `malformed tx: ${e.message}`, undefined, { cause: e });
      }
      throw e;
    }
    const idKey = toHex(d.txId);
    if (this.byId.has(idKey) || this.byRef.has(toHex(d.refHash))) {
      throw new MempoolRejectedError('duplicate', `tx ${idKey} is already pending`);
    }
    if (this.ledger.isApplied?.(d.txId)) throw new MempoolRejectedError('duplicate', `tx ${idKey} is already on the chain`);
    if (this.bytesHeld + bytes.length > this.opts.capacityBytes) {
      throw new MempoolRejectedError('full', `mempool holds ${this.bytesHeld} of ${this.opts.capacityBytes} bytes`);
    }
    try {
      this.overlay.applyTx(d, slot, 'apply');
    } catch (e) {
      if (e instanceof TxInvalidError) throw MempoolRejectedError.invalid(e);
      throw e;
    }
    const entry: MempoolEntry<Tx> = { ...d, seq: this.seq++, size: bytes.length };
    this.insert(entry);
    for (const l of this.listeners) l(entry);
    return entry;
  }

  /** Whether a tx (by reference hash) is pending. */
  hasRef(refHash: Uint8Array): boolean {
    return this.byRef.has(toHex(refHash));
  }
  /** A pending tx by reference hash. */
  getByRef(refHash: Uint8Array): MempoolEntry<Tx> | undefined {
    return this.byRef.get(toHex(refHash));
  }
  /** Whether a tx id is pending. */
  hasId(txId: Uint8Array): boolean {
    return this.byId.has(toHex(txId));
  }

  /** Pending txs in FIFO order. */
  *entries(): IterableIterator<MempoolEntry<Tx>> {
    for (const e of this.order) if (this.byId.get(toHex(e.txId)) === e) yield e;
  }

  /** Pending txs with a sequence number above `afterSeq`, in order (tx-submission cursors). */
  *entriesAfter(afterSeq: number): IterableIterator<MempoolEntry<Tx>> {
    for (const e of this.entries()) if (e.seq > afterSeq) yield e;
  }

  /**
   * Rebuild the overlay on the (new) tip state and re-check every pending tx in order at the
   * *reapply* level (§5.5, §16 case 28); txs now invalid (included in a block, double spends,
   * expired) leave. Returns the removed entries with the reason.
   */
  revalidate(slot: number): { entry: MempoolEntry<Tx>; error: TxInvalidError }[] {
    const removed: { entry: MempoolEntry<Tx>; error: TxInvalidError }[] = [];
    const pending = [...this.entries()];
    this.byId.clear();
    this.byRef.clear();
    this.order = [];
    this.bytesHeld = 0;
    this.overlay = this.ledger.overlay();
    for (const e of pending) {
      try {
        if (this.ledger.isApplied?.(e.txId)) throw new TxInvalidError('already-applied', 'on the selected chain');
        this.overlay.applyTx(e, slot, 'reapply');
        this.insert(e);
      } catch (err) {
        if (!(err instanceof TxInvalidError)) throw err;
        removed.push({ entry: e, error: err });
      }
    }
    return removed;
  }

  private insert(e: MempoolEntry<Tx>): void {
    this.byId.set(toHex(e.txId), e);
    this.byRef.set(toHex(e.refHash), e);
    this.order.push(e);
    this.bytesHeld += e.size;
  }
}
