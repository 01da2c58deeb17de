/**
 * Fait-accompli committee of an epoch, wFA^LS (PROTOCOL.md §6.7 steps 1–4).
 *
 * Primer: weighted Fait Accompli gives the largest pools *persistent* seats, chosen so that the
 * rest of the stake is spread thinly enough for local sortition to represent it well. With target
 * size n, pools sorted by stake non-increasing (ties: pool id ascending) and `ρ_i = Σ_{j>=i} s_j`,
 * `i*` is the least i with `ρ_i = 0` or `(1 − s_i/ρ_i)^2 >= (n−i)/(n−i+1)`, decided in integers as
 * `(ρ_i − s_i)^2·(n−i+1) >= (n−i)·ρ_i^2`. Pools 1..i*−1 are the `n1 = i* − 1` persistent seats
 * (seat = rank − 1, weight = stake, keyless ones never sign); the remaining `n2 = n − n1` seats are
 * drawn per election by local sortition among the *candidates*, the other pools with a registered
 * vote key, each seat weighing `ρ_{i*}/n2` (kept as a rational, never divided out).
 *
 * Since i = n always meets the inequality, `i* <= n`, so `n2 >= 1`; and for any candidate
 * `λ = n2·s_i/ρ_{i*} <= 1` (the inequality at i* bounds `s_{i*}/ρ_{i*}`), which keeps the
 * sortition arithmetic small. Zero-stake pools with a key are candidates as the text says, but
 * their λ is 0, so they never hold a seat.
 *
 * PoPs of every pool with a vote key are verified here once per epoch in one random-scalar batch,
 * and keys are decoded once, exactly as for the top-stake committee (§16 case 18 carries over: a
 * keyless persistent signer is rejected without any pairing).
 *
 * @module
 */
import { toHex } from '../../bytes/index';
import type { G2Point, } from '../../crypto/bls/index';
import { ValidationError } from '../../errors/index';
import type { PoolId, SeatIndex } from '../../types/index';
import { type CommitteeBuildOptions, type CommitteeSeat, type PoolInput, rankSnapshot, registeredKeys } from '../committee/index';
import type { Rational } from '../params/index';

/** Largest FA_N: persistent seats are `uint .lt 65536` (§6.7 `fa_vote`), and §15 bounds FA_N so. */
const MAX_FA_N = 65_536;

/** The wFA split of a sorted stake distribution (§6.7 steps 1, 2, 4). */
export interface FaPartition {
  /** `i*` (1-based rank of the first non-persistent pool). */
  readonly iStar: number;
  /** Persistent seats, `i* − 1`. */
  readonly n1: number;
  /** Non-persistent seats, `n − n1` (>= 1). */
  readonly n2: number;
  /** `ρ_{i*}`: stake of all pools from rank i* on (0 if there are none or all hold zero stake). */
  readonly rhoStar: bigint;
}

/**
 * §6.7 steps 1–2 on stakes already sorted non-increasing: the least 1-based `i` with `ρ_i = 0` or
 * `(ρ_i − s_i)^2·(n−i+1) >= (n−i)·ρ_i^2`, all in BigInt. Throws {@link ValidationError} for an
 * unsorted or negative list or a bad n.
 *
 * @example
 * ```ts
 * faPartition([8n, 1n, 1n], 2) // { iStar: 2, n1: 1, n2: 1, rhoStar: 2n }  (§16 case 24)
 * ```
 */
export function faPartition(sortedStakes: readonly bigint[], n: number): FaPartition {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_FA_N) {
    throw new ValidationError('protocolParams.faCommitteeSize', `expected 1..${MAX_FA_N}, got ${n}`);
  }
  // suffix sums ρ_i, index 0 ↔ rank 1; ρ beyond the list is 0
  const m = sortedStakes.length;
  const rho: bigint[] = new Array(m + 1);
  rho[m] = 0n;
  for (let j = m - 1; j >= 0; j--) {
    const s = sortedStakes[j]!;
    if (typeof s !== 'bigint' || s < 0n) throw new ValidationError('pools.stake', 'expected a bigint >= 0');
    if (j + 1 < m && s < sortedStakes[j + 1]!) throw new ValidationError('pools.stake', 'stakes must be sorted non-increasing');
    rho[j] = rho[j + 1]! + s;
  }
  const bn = BigInt(n);
  // i runs to at most n: at i = n the right-hand side is 0, so the inequality holds
  for (let i = 1; ; i++) {
    const r = rho[i - 1] ?? 0n;
    if (r === 0n) return done(i, n, 0n);
    const s = sortedStakes[i - 1]!;
    const bi = BigInt(i);
    const d = r - s;
    if (d * d * (bn - bi + 1n) >= (bn - bi) * r * r) return done(i, n, r);
  }
}

function done(iStar: number, n: number, rhoStar: bigint): FaPartition {
  return { iStar, n1: iStar - 1, n2: n - (iStar - 1), rhoStar };
}

/** A pool that may win non-persistent seats by local sortition in each election (§6.7 step 4). */
export interface FaCandidate {
  readonly poolId: PoolId;
  readonly stake: bigint;
  /** Decoded registered vote key (signs eligibility messages and votes). */
  readonly voteKey: G2Point;
  readonly voteKeyBytes: Uint8Array;
  /** `λ = n2·stake/ρ_{i*}` (`0/1` when `ρ_{i*} = 0`), exact; at most 1 (see module primer). */
  readonly lambda: Rational;
}

/** Inputs of {@link buildFaCommittee} besides the pools. */
export interface FaCommitteeParams {
  /** n = FA_N, the target committee size (1..65536). */
  readonly faCommitteeSize: number;
  /** τ, the quorum fraction of total active stake. */
  readonly quorum: Rational;
}

/**
 * A fait-accompli committee with decoded keys and exact weight arithmetic. Immutable.
 *
 * @example
 * ```ts
 * const c = buildFaCommittee(pools, { faCommitteeSize: 600, quorum: { num: 3n, den: 4n } });
 * c.meetsQuorum(persistentStake, nonPersistentSeats) // τ_den·(n2·W_p + K·ρ*) >= τ_num·n2·S
 * ```
 */
export class FaCommittee {
  /** n1: number of persistent seats. */
  readonly n1: number;
  /** Bytes of the persistent signer bitfield, `ceil(n1/8)` (§6.5 rules over n1 seats). */
  readonly signersLength: number;
  private readonly persistentByPool: Map<string, SeatIndex>;
  private readonly candidateByPool: Map<string, FaCandidate>;

  constructor(
    /** n = FA_N. */
    readonly n: number,
    /** Persistent seats, rank order; seat index = rank − 1. */
    readonly persistent: readonly CommitteeSeat[],
    /** Candidates for non-persistent seats, in stake order. */
    readonly candidates: readonly FaCandidate[],
    /** n2 = n − n1 (>= 1). */
    readonly n2: number,
    /** ρ_{i*}: one non-persistent seat weighs ρ_{i*}/n2. */
    readonly rhoStar: bigint,
    /** S: total active stake of ALL pools of the snapshot. */
    readonly totalStake: bigint,
    readonly quorum: Rational,
  ) {
    this.n1 = persistent.length;
    this.signersLength = Math.ceil(this.n1 / 8);
    this.persistentByPool = new Map(persistent.map((s) => [toHex(s.poolId), s.seat]));
    this.candidateByPool = new Map(candidates.map((c) => [toHex(c.poolId), c]));
  }

  /** Weight of one non-persistent seat, `ρ_{i*}/n2`, exact. @example `c.seatWeight() // { num: 2n, den: 1n }` */
  seatWeight(): Rational {
    return { num: this.rhoStar, den: BigInt(this.n2) };
  }

  /** The persistent seat at index `i`, or undefined if `i >= n1`. @example `c.seat(0)?.stake` */
  seat(i: number): CommitteeSeat | undefined {
    return this.persistent[i];
  }

  /** Whether persistent seat `i` exists and can sign (§6.3 with `seat < n1`). @example `c.canSign(0)` */
  canSign(i: number): boolean {
    const s = this.persistent[i];
    return s !== undefined && s.voteKey !== null;
  }

  /** The persistent seat a pool holds, if any. @example `c.seatOfPool(myPoolId)` */
  seatOfPool(poolId: PoolId | Uint8Array): SeatIndex | undefined {
    return this.persistentByPool.get(toHex(poolId));
  }

  /** The candidate entry of a pool, if it is one. @example `c.candidate(poolId)?.lambda` */
  candidate(poolId: PoolId | Uint8Array): FaCandidate | undefined {
    return this.candidateByPool.get(toHex(poolId));
  }

  /**
   * §6.7 weight rule, exact: `τ_den·(n2·W_p + K·ρ_{i*}) >= τ_num·n2·S` with W_p the signed
   * persistent stake and K the total non-persistent seats.
   *
   * @example
   * ```ts
   * c.meetsQuorum(80n, 1) // 80 + 1·ρ_{i*} / n2 >= τ·S ?
   * ```
   */
  meetsQuorum(persistentStake: bigint, nonPersistentSeats: number | bigint): boolean {
    const n2 = BigInt(this.n2);
    const weight = n2 * persistentStake + BigInt(nonPersistentSeats) * this.rhoStar;
    return this.quorum.den * weight >= this.quorum.num * n2 * this.totalStake;
  }
}

/**
 * Build the §6.7 fait-accompli committee of a snapshot: partition (steps 1–2), persistent seats
 * (step 3) and candidates (step 4). Verifies the PoPs of every pool's vote key in one random-scalar
 * batch (cached verdicts reused) and decodes each key once. Throws {@link ValidationError} for a bad
 * FA_N or quorum, a negative stake or a duplicate pool id.
 *
 * @example
 * ```ts
 * const c = buildFaCommittee(snapshot.pools, { faCommitteeSize: 32, quorum: { num: 3n, den: 4n } });
 * c.n1; c.n2; c.seatWeight();
 * ```
 */
export function buildFaCommittee(
  pools: readonly PoolInput[],
  params: FaCommitteeParams,
  opts: CommitteeBuildOptions = {},
): FaCommittee {
  const n = params.faCommitteeSize;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_FA_N) {
    throw new ValidationError('protocolParams.faCommitteeSize', `expected 1..${MAX_FA_N}, got ${n}`);
  }
  const { total, ranked } = rankSnapshot(pools, params.quorum);
  const part = faPartition(
    ranked.map((p) => p.stake),
    n,
  );

  // Registered keys: every pool with a key that decodes and whose PoP verifies, one batch.
  const keyOf = registeredKeys(ranked, opts);

  const persistent: CommitteeSeat[] = [];
  for (let i = 0; i < part.n1; i++) {
    const p = ranked[i]!;
    const base = { seat: i as SeatIndex, poolId: p.poolId, stake: p.stake };
    const k = keyOf(i);
    persistent.push(
      typeof k === 'string'
        ? { ...base, voteKey: null, voteKeyBytes: null, keyless: k }
        : { ...base, voteKey: k.pk, voteKeyBytes: k.bytes, keyless: null },
    );
  }
  const n2 = BigInt(part.n2);
  const candidates: FaCandidate[] = [];
  for (let i = part.n1; i < ranked.length; i++) {
    const k = keyOf(i);
    if (typeof k === 'string') continue;
    const p = ranked[i]!;
    const lambda = part.rhoStar === 0n ? { num: 0n, den: 1n } : { num: n2 * p.stake, den: part.rhoStar };
    candidates.push({ poolId: p.poolId, stake: p.stake, voteKey: k.pk, voteKeyBytes: k.bytes, lambda });
  }
  return new FaCommittee(n, persistent, candidates, part.n2, part.rhoStar, total, params.quorum);
}
