/**
 * Local sortition of fait-accompli non-persistent seats, exact (PROTOCOL.md §6.7, §2.4).
 *
 * Primer: per election (id = slot of the announcing RB) each candidate signs the eligibility
 * message `"LEIOS-ELIG" || η_e || u64be(election_id)` with its vote key. A BLS signature is unique
 * for a key and message (§2.3), so `σ_i = H256(elig_sig)/2^256` is a VRF output anyone can check.
 * The pool's seat count is a Poisson(λ) draw by inverse CDF: the least `k >= 0` with
 * `e^−λ·A_k > σ_i`, `A_k = Σ_{j<=k} λ^j/j!`, `λ = n2·s_i/ρ_{i*}`, capped at n2.
 *
 * Every node must get the same k, so no floats: `A_k > σ·e^λ` is decided in BigInt rationals by
 * bracketing `e^λ` between `L_m = Σ_{j<=m} λ^j/j!` and `U_m = L_m + λ^(m+1)/(m+1)!·(m+2)/(m+2−λ)`
 * (the tail of the series is at most its first term times a geometric series of ratio
 * `λ/(m+2)`): true if `A_k > σ·U_m`, false if `A_k <= σ·L_m`, else m grows. `e^λ` is irrational
 * for rational λ > 0, so some m always decides; m is bounded ({@link MAX_SORTITION_TERMS}) so a
 * crafted σ cannot run the arithmetic away ({@link SortitionError}). All partial sums share the
 * denominator `D_j = b^j·j!` (λ = a/b), built incrementally, so each step is a few BigInt products.
 *
 * @module
 */
import { bytesToBigInt } from '../../bytes/index';
import {
  BLS_SIG_LENGTH,
  blake2b256,
  blsSign,
  decodeSignature,
  eligibilityMessage,
  type G2Point,
  verifySingle,
} from '../../crypto/index';
import { CryptoError, SortitionError, ValidationError } from '../../errors/index';
import type { PoolId } from '../../types/index';
import type { Rational } from '../params/index';
import type { FaCandidate, FaCommittee } from './committee';

/**
 * Bound on the bracketing index m. With λ <= 1 (always so for candidates, see `committee.ts`),
 * `U_m − L_m < 1/(m+1)!·2`, about 2^-8770 at m = 1024: a 256-bit σ lands that close to a
 * threshold with negligible probability, while the BigInt work stays in the milliseconds.
 */
export const MAX_SORTITION_TERMS = 1024;

const TWO_256 = 1n << 256n;

/**
 * `σ = H256(elig_sig)/2^256` (big-endian), as an exact rational.
 *
 * @example
 * ```ts
 * eligibilitySigma(eligSig) // { num: y, den: 2n ** 256n }
 * ```
 */
export function eligibilitySigma(eligSig: Uint8Array): Rational {
  if (eligSig.length !== BLS_SIG_LENGTH) throw new CryptoError('fa.elig_sig', `expected ${BLS_SIG_LENGTH} bytes`);
  return { num: bytesToBigInt(blake2b256(eligSig)), den: TWO_256 };
}

/**
 * The §6.7 seat count: the least `k >= 0` with `e^−λ·Σ_{j<=k} λ^j/j! > σ`, capped at `cap` (n2),
 * decided exactly by the `L_m`/`U_m` bracketing. Non-decreasing in σ and in λ. Throws
 * {@link ValidationError} for λ < 0, σ outside [0, 1) or a bad cap, and {@link SortitionError} if
 * undecided after `maxTerms`.
 *
 * @example
 * ```ts
 * faSeatCount({ num: 1n, den: 2n }, { num: 1n, den: 2n }, 3) // 0, since e^−1/2 ≈ 0.607 > 1/2
 * faSeatCount({ num: 1n, den: 2n }, { num: 7n, den: 10n }, 3) // 1, since e^−1/2·1.5 ≈ 0.91 > 0.7
 * ```
 */
export function faSeatCount(lambda: Rational, sigma: Rational, cap: number, maxTerms = MAX_SORTITION_TERMS): number {
  const { num: a, den: b } = lambda;
  const { num: p, den: q } = sigma;
  if (b <= 0n || a < 0n) throw new ValidationError('fa.lambda', `expected λ >= 0 with a positive denominator, got ${a}/${b}`);
  if (q <= 0n || p < 0n || p >= q) throw new ValidationError('fa.sigma', `expected 0 <= σ < 1, got ${p}/${q}`);
  if (!Number.isSafeInteger(cap) || cap < 0) throw new ValidationError('fa.n2', `expected an integer >= 0, got ${cap}`);
  if (cap === 0) return 0;
  const undecided = (m: number) => new SortitionError(`${a}/${b}`, `${p}/${q}`, m);

  // A_j = N[j]/D[j], D[j] = b^j·j!, N[j+1] = N[j]·b·(j+1) + a^(j+1); aPow[j] = a^j
  const N: bigint[] = [1n];
  const D: bigint[] = [1n];
  const aPow: bigint[] = [1n];
  const extend = (j: number): void => {
    for (let t = N.length; t <= j; t++) {
      const bt = b * BigInt(t);
      aPow.push(aPow[t - 1]! * a);
      N.push(N[t - 1]! * bt + aPow[t]!);
      D.push(D[t - 1]! * bt);
    }
  };
  // U_m needs m + 2 > λ, i.e. m >= floor(a/b) − 1
  const floorLambda = a / b;
  if (floorLambda > BigInt(maxTerms)) throw undecided(maxTerms);
  let m = Math.max(0, Number(floorLambda) - 1);
  for (let k = 0; k < cap; k++) {
    for (;;) {
      if (m > maxTerms) throw undecided(maxTerms);
      extend(Math.max(k, m + 1));
      const Nk = N[k]!;
      const Dk = D[k]!;
      // U_m = (N_m·c + a^(m+1)·(m+2)) / (D_m·c), c = (m+1)·((m+2)·b − a) > 0
      const c = BigInt(m + 1) * (BigInt(m + 2) * b - a);
      const uNum = N[m]! * c + aPow[m + 1]! * BigInt(m + 2);
      const uDen = D[m]! * c;
      // A_k > σ·U_m  ⇔  N_k·q·uDen > p·uNum·D_k  → k seats
      if (Nk * q * uDen > p * uNum * Dk) return k;
      // A_k <= σ·L_m  ⇔  N_k·q·D_m <= p·N_m·D_k  → more than k seats
      if (Nk * q * D[m]! <= p * N[m]! * Dk) break;
      m++;
    }
  }
  return cap;
}

/**
 * Sign the §2.4 eligibility message of an election with a pool's vote key.
 *
 * @example
 * ```ts
 * const eligSig = signEligibility(voteSecretKey, eta, rbSlot); // 48 bytes
 * ```
 */
export function signEligibility(voteSecretKey: Uint8Array, eta: Uint8Array, electionId: number | bigint): Uint8Array {
  return blsSign(voteSecretKey, eligibilityMessage(eta, electionId));
}

/**
 * Whether `eligSig` is the eligibility signature of vote key `pk` for the election (single
 * pairing check; strict decoding, false on any failure, never throws for bad input).
 *
 * @example
 * ```ts
 * verifyEligibility(candidate.voteKey, eta, rbSlot, eligSig) // boolean
 * ```
 */
export function verifyEligibility(pk: G2Point, eta: Uint8Array, electionId: number | bigint, eligSig: Uint8Array): boolean {
  try {
    return verifySingle(pk, eligibilityMessage(eta, electionId), decodeSignature(eligSig, 'fa.elig_sig'));
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
}

/**
 * Seats a candidate holds given its (verified) eligibility signature: {@link faSeatCount} with its
 * λ, σ from the signature, capped at n2.
 *
 * @example
 * ```ts
 * const k = candidateSeats(committee, committee.candidate(poolId)!, eligSig);
 * ```
 */
export function candidateSeats(committee: FaCommittee, candidate: Pick<FaCandidate, 'lambda'>, eligSig: Uint8Array): number {
  return faSeatCount(candidate.lambda, eligibilitySigma(eligSig), committee.n2);
}

/** Outcome of {@link faLocalSortition} for a candidate. */
export interface LocalSortition {
  /** The eligibility signature (goes into a non-persistent vote). */
  readonly eligSig: Uint8Array;
  /** Seats won; 0 means the pool does not vote in this election. */
  readonly seats: number;
}

/**
 * A pool's own sortition for one election: sign the eligibility message and count its seats.
 * Undefined if the pool is not a candidate (a persistent seat, keyless, or not in the snapshot).
 *
 * @example
 * ```ts
 * const s = faLocalSortition(committee, myPoolId, voteSk, eta, rb.slot);
 * if (s && s.seats >= 1) send(createNonPersistentFaVote(voteSk, rb.hash, myPoolId, s.eligSig));
 * ```
 */
export function faLocalSortition(
  committee: FaCommittee,
  poolId: PoolId | Uint8Array,
  voteSecretKey: Uint8Array,
  eta: Uint8Array,
  electionId: number | bigint,
): LocalSortition | undefined {
  const c = committee.candidate(poolId);
  if (!c) return undefined;
  const eligSig = signEligibility(voteSecretKey, eta, electionId);
  return { eligSig, seats: candidateSeats(committee, c, eligSig) };
}
