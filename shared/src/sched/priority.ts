/**
 * Priority of an outbound item (PROTOCOL.md §13.1).
 *
 * Primer: every byte a peer sends belongs to one of three classes: P0 Praos (handshake,
 * keep-alive, chain-sync, block-fetch, BlockAnnouncement headers, the closure of a certified EB),
 * P1 fresh Leios (votes, EB bodies / txs / offers within the fresh window, tx-submission) and P2
 * stale Leios (everything else). Inside P1 the order is votes, then EB items by EB slot descending,
 * then tx-submission; inside P2 it is freshest first. A {@link Priority} carries exactly what is
 * needed to sort by those rules, and {@link comparePriority} is the one comparator both the
 * segment scheduler and the offer queue use.
 *
 * @module
 */

/** 0 = P0 Praos, 1 = P1 fresh Leios, 2 = P2 stale Leios. */
export type PriorityClass = 0 | 1 | 2;

/** Rank inside P1 (§13.1 rule 2): votes first, then EB items, then tx-submission. */
export const P1Rank = { Votes: 0, EbItems: 1, TxSubmission: 2 } as const;
export type P1Rank = (typeof P1Rank)[keyof typeof P1Rank];

/**
 * The priority of one outbound message or offer.
 *
 * @example
 * ```ts
 * const header: Priority = PRAOS;
 * const freshEb: Priority = { cls: 1, rank: P1Rank.EbItems, slot: 1203 };
 * const staleEb: Priority = { cls: 2, slot: 17 };
 * ```
 */
export interface Priority {
  readonly cls: PriorityClass;
  /** P1 only: {@link P1Rank}; ignored in P0 / P2. Default: EbItems. */
  readonly rank?: P1Rank;
  /** Slot of the EB (or other item) the message is about: higher = fresher = earlier. */
  readonly slot?: number;
}

/** P0: Praos traffic, served first-in first-out. */
export const PRAOS: Priority = Object.freeze({ cls: 0 });
/** P1 tx-submission traffic. */
export const TX_SUBMISSION: Priority = Object.freeze({ cls: 1, rank: P1Rank.TxSubmission });
/** P1 votes. */
export const VOTES: Priority = Object.freeze({ cls: 1, rank: P1Rank.Votes });

/**
 * Order two priorities (negative: `a` goes first). Ties are left to the caller's arrival order.
 *
 * @example
 * ```ts
 * comparePriority({ cls: 2, slot: 9 }, { cls: 2, slot: 3 }) < 0 // fresher stale item first
 * ```
 */
export function comparePriority(a: Priority, b: Priority): number {
  if (a.cls !== b.cls) return a.cls - b.cls;
  if (a.cls === 0) return 0;
  if (a.cls === 1) {
    const ra = a.rank ?? P1Rank.EbItems;
    const rb = b.rank ?? P1Rank.EbItems;
    if (ra !== rb) return ra - rb;
    if (ra !== P1Rank.EbItems) return 0;
  }
  return (b.slot ?? -1) - (a.slot ?? -1);
}

/** Protocol timing parameters that define the fresh window (§7.1, §15). */
export interface FreshWindowParams {
  lHdr: number;
  lVote: number;
  lDiff: number;
}

/**
 * Classify a Leios item about the EB announced at `ebSlot` (§13.1): P0 when it belongs to the
 * closure of an EB certified by a CertRB on (or competing for) the best chain, P1 while
 * `currentSlot − ebSlot ≤ 3·L_hdr + L_vote + L_diff`, else P2.
 *
 * @example
 * ```ts
 * leiosPriority({ ebSlot: 100, currentSlot: 105, params: { lHdr: 1, lVote: 4, lDiff: 7 } })
 * // { cls: 1, rank: 1, slot: 100 }
 * ```
 */
export function leiosPriority(args: {
  ebSlot: number;
  currentSlot: number;
  params: FreshWindowParams;
  certifiedOnBestChain?: boolean;
  rank?: P1Rank;
}): Priority {
  const { ebSlot, currentSlot, params } = args;
  if (args.certifiedOnBestChain) return { cls: 0, slot: ebSlot };
  const window = 3 * params.lHdr + params.lVote + params.lDiff;
  if (currentSlot - ebSlot <= window) return { cls: 1, rank: args.rank ?? P1Rank.EbItems, slot: ebSlot };
  return { cls: 2, slot: ebSlot };
}
