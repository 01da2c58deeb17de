/**
 * Slot/time conversions (PROTOCOL.md §3.2), the Leios windows of an announcing RB (§7.1), the
 * inclusion rule (§7.2) and the freshness class used for prioritisation (§13.1).
 *
 * Primer: every Leios deadline is a slot offset from the announcing RB's slot s, turned into wall
 * time with `T(s) = systemStart + s·slotLength`. Slot-level helpers are pure integer arithmetic;
 * the millisecond helpers take a {@link SlotClock} (system start and slot length) so the same code
 * serves Node and workerd and tests can drive time explicitly.
 *
 * @module
 */
import type { Epoch, Slot } from '../../types/index';
import { freshWindow, type ProtocolParams } from '../params/index';

/** What converts slots to time: the genesis `systemStart` (ms since the Unix epoch) and slot length. */
export interface SlotClock {
  readonly systemStartMs: number;
  readonly slotLengthMs: number;
}

/** The period lengths of §7.1. */
export type LeiosPeriods = Pick<ProtocolParams, 'lHdr' | 'lVote' | 'lDiff'>;

/**
 * `T(s)`: start of slot s in ms since the Unix epoch (§3.2).
 *
 * @example
 * ```ts
 * slotStartMs({ systemStartMs: 0, slotLengthMs: 1000 }, 5) // 5000
 * ```
 */
export function slotStartMs(clock: SlotClock, slot: number): number {
  return clock.systemStartMs + slot * clock.slotLengthMs;
}

/**
 * `slot(t) = floor((t − systemStart)/slotLength)` (§3.2). Negative before `systemStart` (no slot
 * has started yet), so "slot <= slot(now)" comparisons stay correct then.
 *
 * @example
 * ```ts
 * slotAtMs({ systemStartMs: 0, slotLengthMs: 1000 }, 5999) // 5
 * ```
 */
export function slotAtMs(clock: SlotClock, tMs: number): number {
  return Math.floor((tMs - clock.systemStartMs) / clock.slotLengthMs);
}

/**
 * `epoch(s) = floor(s/E)` (§3.2).
 *
 * @example
 * ```ts
 * epochOfSlot(1200, 1200) // 1
 * ```
 */
export function epochOfSlot(slot: Slot | number, epochLength: number): Epoch {
  return Math.floor(slot / epochLength) as Epoch;
}

/** First slot of epoch e. @example `epochFirstSlot(2, 1200) // 2400` */
export function epochFirstSlot(epoch: Epoch | number, epochLength: number): Slot {
  return (epoch * epochLength) as Slot;
}

/**
 * The latest slot a header may carry when received at `nowMs`: `slot(now + MAX_SKEW)` (§4.1).
 *
 * @example
 * ```ts
 * latestAcceptableSlot(clock, Date.now(), 1000)
 * ```
 */
export function latestAcceptableSlot(clock: SlotClock, nowMs: number, maxSkewMs: number): number {
  return slotAtMs(clock, nowMs + maxSkewMs);
}

/** The §7.1 windows of an RB at slot s, as slots. */
export interface LeiosWindows {
  /** The RB's own slot s. */
  readonly slot: number;
  /** Header must be seen (voting rule 1): by `T(s + L_hdr)`. */
  readonly headerDeadline: number;
  /** Equivocation detection ends; earliest vote: `T(s + 3·L_hdr)`. */
  readonly earliestVote: number;
  /** Validation done; last vote: `T(s + 3·L_hdr + L_vote)`. */
  readonly lastVote: number;
  /** Votes stop diffusing: `T(s + 3·L_hdr + 2·L_vote)`. */
  readonly votesStopDiffusing: number;
  /** Earliest slot of a certifying child RB': `s + 3·L_hdr + L_vote + L_diff`. */
  readonly earliestCertifyingChild: number;
}

/**
 * The §7.1 windows for an RB at slot s (slot numbers; use {@link slotStartMs} for times).
 *
 * @example
 * ```ts
 * leiosWindows(100, DEVNET_PARAMS).earliestCertifyingChild // 114
 * ```
 */
export function leiosWindows(slot: number, p: LeiosPeriods): LeiosWindows {
  return {
    slot,
    headerDeadline: slot + p.lHdr,
    earliestVote: slot + 3 * p.lHdr,
    lastVote: slot + 3 * p.lHdr + p.lVote,
    votesStopDiffusing: slot + 3 * p.lHdr + 2 * p.lVote,
    earliestCertifyingChild: slot + 3 * p.lHdr + p.lVote + p.lDiff,
  };
}

/**
 * The vote diffusion window of §6.3 in ms: `[T(s + 3·L_hdr) − MAX_SKEW, T(s + 3·L_hdr + 2·L_vote))`
 * (start inclusive, end exclusive).
 *
 * @example
 * ```ts
 * const { startMs, endMs } = voteWindowMs(clock, rbSlot, params);
 * ```
 */
export function voteWindowMs(
  clock: SlotClock,
  rbSlot: number,
  p: Pick<ProtocolParams, 'lHdr' | 'lVote' | 'maxSkewMs'>,
): { startMs: number; endMs: number } {
  return {
    startMs: slotStartMs(clock, rbSlot + 3 * p.lHdr) - p.maxSkewMs,
    endMs: slotStartMs(clock, rbSlot + 3 * p.lHdr + 2 * p.lVote),
  };
}

/**
 * Whether a vote for the RB at `rbSlot` arriving at `nowMs` may be stored and forwarded (§6.3,
 * §16 case 14): early votes (before the window) and late ones (from its end on) are not.
 *
 * @example
 * ```ts
 * if (!voteArrivalInWindow(clock, rbSlot, Date.now(), params)) reject('outside-window');
 * ```
 */
export function voteArrivalInWindow(
  clock: SlotClock,
  rbSlot: number,
  nowMs: number,
  p: Pick<ProtocolParams, 'lHdr' | 'lVote' | 'maxSkewMs'>,
): boolean {
  const { startMs, endMs } = voteWindowMs(clock, rbSlot, p);
  return nowMs >= startMs && nowMs < endMs;
}

/**
 * The inclusion rule of §7.2: a child at `childSlot` of the RB at `parentSlot` may certify the
 * parent's EB only if `childSlot >= parentSlot + 3·L_hdr + L_vote + L_diff` (§16 case 22: s+13 is
 * too early with the defaults, s+14 is allowed). The immediate-child condition is structural
 * (the certificate sits in the child of the announcing RB) and is checked with the parent header.
 *
 * @example
 * ```ts
 * canCertify(100, 114, DEVNET_PARAMS) // true
 * canCertify(100, 113, DEVNET_PARAMS) // false
 * ```
 */
export function canCertify(parentSlot: number, childSlot: number, p: LeiosPeriods): boolean {
  return childSlot >= parentSlot + 3 * p.lHdr + p.lVote + p.lDiff;
}

/** Prioritisation class of Leios traffic (§13.1). */
export type Freshness = 'fresh' | 'stale';

/**
 * §13.1: Leios traffic about an EB whose (announcing RB) slot is within `3·L_hdr + L_vote + L_diff`
 * slots of the current slot is fresh (P1), the rest stale (P2). An EB slot ahead of the current
 * slot (clock skew) counts as fresh.
 *
 * @example
 * ```ts
 * freshness(100, 114, DEVNET_PARAMS) // 'fresh'
 * freshness(100, 115, DEVNET_PARAMS) // 'stale'
 * ```
 */
export function freshness(ebSlot: number, currentSlot: number, p: LeiosPeriods): Freshness {
  return currentSlot - ebSlot <= freshWindow(p) ? 'fresh' : 'stale';
}

/**
 * §10.4: a BlockAnnouncement is forwarded only within `3·L_hdr` slots of its slot (later, the
 * header only matters through chain-sync). A header slightly ahead (within the skew allowance the
 * caller already checked) is forwardable.
 *
 * @example
 * ```ts
 * announcementForwardable(100, 103, DEVNET_PARAMS) // true
 * announcementForwardable(100, 104, DEVNET_PARAMS) // false
 * ```
 */
export function announcementForwardable(headerSlot: number, currentSlot: number, p: Pick<ProtocolParams, 'lHdr'>): boolean {
  return currentSlot - headerSlot <= 3 * p.lHdr;
}
