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
 * The EB walk is bounded: it stops at the caps or when `deadline(n)` says an EB of `n` entries
 * could no longer be encoded, written and announced within the slot's budget. The node answers
 * that with the time already spent plus {@link AnnounceCostModel}, a cost of the work *after*
 * selection learned from its own past productions: a full EB (13k refs, ~12 MB) costs hundreds
 * of ms to write on a loaded machine, so a deadline on selection alone would let the RB slip
 * (issue 4 item 5: a full EB must not make the RB miss its slot; §6.4 rule 1 wants the header
 * at the voters by `T(s + L_hdr)`). Under load the EB shrinks; the RB stays on time.
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
 * const sel = selectTxs(mempool.entries(), ledger.overlay(), slot, limits, { rbTxs: true, deadline: (n) => spent() + cost.estimate(n) >= budgetMs });
 * ```
 */
export function selectTxs<Tx>(
  entries: Iterable<MempoolEntry<Tx>>,
  overlay: LedgerOverlay<Tx>,
  slot: number,
  limits: SelectionLimits,
  opts: { readonly rbTxs: boolean; readonly deadline?: (ebEntries: number) => boolean },
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
    if ((i & 63) === 0 && opts.deadline?.(eb.length)) {
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

/**
 * Cost of what follows selection up to the announcement (EB encoding and hashing, header
 * signing, the RB + EB + closure transaction, ledger apply), modelled as `fixed + perRef·n` for
 * an EB of `n` references and fitted to the node's recent productions.
 *
 * Why learned: the write dominates and depends on the machine, the driver (PGlite or Postgres)
 * and the load at the time; a constant would be either too timid on a fast machine (small EBs
 * for nothing) or too bold on a loaded one (a late RB). Why two parameters: on a loaded machine
 * much of the cost does not grow with the EB (the commit, the block's own writes), and a
 * per-reference-only model would answer a slow commit by starving the EB without making the RB
 * any earlier.
 *
 * The fit is least squares over the last {@link AnnounceCostModel.window} productions, plus two
 * prior points until those determine it (an empty EB at `fixedMs`, a full 13k-ref EB at
 * `fixedMs + 13,000·perRefMs`, pessimistic: ~0.04 ms per reference where a quiet machine
 * measures ~0.02), so the first full EBs err towards a smaller EB, never towards a late RB. To the fit it adds the largest amount by
 * which one of the last few productions overran it: one overloaded slot protects the next.
 *
 * @example
 * ```ts
 * const cost = new AnnounceCostModel();
 * cost.estimate(13_000); // ms
 * cost.observe(13_000, 410); // after a production that took 410 ms past selection
 * ```
 */
export class AnnounceCostModel {
  /** Productions the fit looks at. */
  readonly window: number;
  private readonly prior: readonly (readonly [number, number])[];
  private readonly recent: [refs: number, ms: number][] = [];
  private fit = { a: 0, b: 0, margin: 0 };

  constructor(opts: { fixedMs?: number; perRefMs?: number; window?: number } = {}) {
    const fixed = opts.fixedMs ?? 20;
    const perRef = opts.perRefMs ?? 0.04;
    this.window = opts.window ?? 12;
    this.prior = [
      [0, fixed],
      [13_000, fixed + 13_000 * perRef],
    ];
    this.refit();
  }

  /** The fitted cost independent of the EB size (ms). */
  get fixedMs(): number {
    return this.fit.a;
  }

  /** The fitted cost per EB reference (ms). */
  get perRefMs(): number {
    return this.fit.b;
  }

  /** Expected ms from the end of selection to the announcement of an EB with `refs` entries. */
  estimate(refs: number): number {
    return this.fit.a + this.fit.b * refs + this.fit.margin;
  }

  /** Learn from one production: `refs` EB entries took `ms` after selection. */
  observe(refs: number, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0 || !Number.isFinite(refs) || refs < 0) return;
    this.recent.push([refs, ms]);
    if (this.recent.length > this.window) this.recent.shift();
    this.refit();
  }

  private refit(): void {
    // the prior counts until the recent productions alone pin both parameters down: enough of
    // them, over a spread of sizes (equal sizes leave the slope undetermined)
    const xs = this.recent.map(([x]) => x);
    const determined = this.recent.length >= 4 && Math.max(...xs) - Math.min(...xs) >= 2_000;
    const pts = determined ? [...this.recent] : [...this.prior, ...this.recent];
    const n = pts.length;
    let sx = 0;
    let sy = 0;
    for (const [x, y] of pts) {
      sx += x;
      sy += y;
    }
    const mx = sx / n;
    const my = sy / n;
    let sxx = 0;
    let sxy = 0;
    for (const [x, y] of pts) {
      sxx += (x - mx) * (x - mx);
      sxy += (x - mx) * (y - my);
    }
    let b = sxx > 0 ? sxy / sxx : 0;
    let a = my - b * mx;
    // keep both parts non-negative (a cost cannot shrink with the EB, nor be negative at 0)
    if (b < 0) {
      b = 0;
      a = my;
    } else if (a < 0) {
      let sx2 = 0;
      let sxy0 = 0;
      for (const [x, y] of pts) {
        sx2 += x * x;
        sxy0 += x * y;
      }
      a = 0;
      b = sx2 > 0 ? sxy0 / sx2 : 0;
    }
    let margin = 0;
    for (const [x, y] of this.recent.slice(-3)) margin = Math.max(margin, y - (a + b * x));
    this.fit = { a, b, margin };
  }
}
