/**
 * Block-content selection for the producer (PROTOCOL.md §7.3, §5.4, §4.3).
 *
 * Primer: the mempool's pending txs are conflict-free and each valid on the tip state plus the
 * txs before it, so the producer walks them once in FIFO order over one ledger overlay: a tx goes
 * into the RB if it fits in S_RB and still applies (at *reapply*: signatures were checked on
 * admission; TTLs are re-checked against the block slot); otherwise it is deferred. Then the
 * deferred txs and the rest, again in order, fill the EB up to S_EB (EB bytes) and S_EB_tx (tx
 * bytes), each applied on the same overlay so every EB tx is valid on the state after the new RB
 * (§7.3) and no tx lands in both (§5.4). For a CertRB the overlay starts with the certified
 * closure applied, and the RB itself carries no txs.
 *
 * The EB walk is bounded: it stops at the caps or when `deadline()` says the RB must go out now
 * (§ issue: a full EB must not make the RB miss its slot).
 *
 * @module
 */
import type { LedgerOverlay, MempoolEntry } from './mempool/index';

/** Limits of one block. */
export interface SelectionLimits {
  /** S_RB minus the body's own framing. */
  readonly rbTxBytes: number;
  /** S_EB: the EB map's bytes. */
  readonly maxEbSize: number;
  /** S_EB_tx. */
  readonly maxEbTxBytes: number;
}

/** What was selected. */
export interface Selection<Tx> {
  readonly rb: MempoolEntry<Tx>[];
  readonly eb: MempoolEntry<Tx>[];
  /** Txs skipped because they no longer apply (e.g. expired at this slot). */
  readonly invalid: number;
  /** True if the EB walk stopped on the deadline rather than a cap or the end of the mempool. */
  readonly truncated: boolean;
}

/** Bytes one EB entry takes: `58 20` + 32-byte key + the shortest uint head of the size. */
export function ebEntryBytes(size: number): number {
  return 34 + (size < 24 ? 1 : size < 256 ? 2 : size < 65536 ? 3 : 5);
}

/** Bytes of a CBOR map / array head for `n` items. */
export function cborHeadBytes(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

/**
 * Select RB and EB txs from the mempool.
 *
 * @example
 * ```ts
 * const sel = selectTxs(mempool.entries(), ledger.overlay(), slot, limits, { rbTxs: true, deadline: () => performance.now() > t });
 * ```
 */
export function selectTxs<Tx>(
  entries: Iterable<MempoolEntry<Tx>>,
  overlay: LedgerOverlay<Tx>,
  slot: number,
  limits: SelectionLimits,
  opts: { readonly rbTxs: boolean; readonly deadline?: () => boolean },
): Selection<Tx> {
  const rb: MempoolEntry<Tx>[] = [];
  const eb: MempoolEntry<Tx>[] = [];
  const deferred: MempoolEntry<Tx>[] = [];
  let invalid = 0;
  let rbBytes = 0;
  const tryApply = (e: MempoolEntry<Tx>): boolean => {
    try {
      overlay.applyTx(e, slot, 'reapply');
      return true;
    } catch (err) {
      if ((err as { kind?: string }).kind === 'tx-invalid') return false;
      throw err;
    }
  };
  const all = [...entries];
  if (opts.rbTxs) {
    for (const e of all) {
      if (rbBytes + e.size <= limits.rbTxBytes && tryApply(e)) {
        rb.push(e);
        rbBytes += e.size;
      } else deferred.push(e);
    }
  } else deferred.push(...all);
  let ebTxBytes = 0;
  let ebBytes = 5; // worst-case map head
  let truncated = false;
  for (let i = 0; i < deferred.length; i++) {
    const e = deferred[i]!;
    if ((i & 63) === 0 && opts.deadline?.()) {
      truncated = true;
      break;
    }
    const entryBytes = ebEntryBytes(e.size);
    if (ebTxBytes + e.size > limits.maxEbTxBytes || ebBytes + entryBytes > limits.maxEbSize) {
      if (ebBytes + 35 > limits.maxEbSize || ebTxBytes + 1 > limits.maxEbTxBytes) break;
      continue;
    }
    if (!tryApply(e)) {
      invalid++;
      continue;
    }
    eb.push(e);
    ebTxBytes += e.size;
    ebBytes += entryBytes;
  }
  return { rb, eb, invalid, truncated };
}
