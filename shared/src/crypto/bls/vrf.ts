/**
 * BLS-signature VRF and the exact leader check (PROTOCOL.md §2.3 *Uniqueness*, §3.5).
 *
 * Primer: a BLS signature is unique for a key and message, so `proof = Sign(vrf_sk, "LEIOS-VRF"
 * || η || u64be(slot))` is a verifiable random function proof and `output = H256(proof)` its
 * output. A pool leads slot s iff `y/2^256 < 1 − (1−f)^σ` with y the output read big-endian. All
 * nodes must agree bit for bit, so the decision uses the §3.5 procedure in BigInt rationals: the
 * constant `C ≈ −ln(1−f)` truncated to 40 decimals, then `exp(σ·C)` bracketed by Taylor partial
 * sums `T_n` and `T_n + R_n` against `Q = 2^256/(2^256 − y)`.
 *
 * @module
 */
import { bytesEqual, bytesToBigInt } from '../../bytes/index';
import { CryptoError } from '../../errors/index';
import type { Hash32 } from '../../types/index';
import { blake2b256 } from '../blake2b';
import { BLS_SIG_LENGTH, blsSign, type G2Point, SIG_DST, verifySingle, decodeSignature } from './core';
import { vrfMessage } from './messages';

/** A VRF evaluation: the 48-byte proof (a BLS signature) and its output `H256(proof)`. */
export interface VrfResult {
  readonly proof: Uint8Array;
  readonly output: Hash32;
}

/**
 * Evaluate the leader VRF for `slot` with epoch nonce `eta` (§3.5).
 *
 * @example
 * ```ts
 * const { proof, output } = vrfProve(vrfSecretKey, eta, 1234);
 * ```
 */
export function vrfProve(secretKey: Uint8Array, eta: Uint8Array, slot: number | bigint): VrfResult {
  const proof = blsSign(secretKey, vrfMessage(eta, slot));
  return { proof, output: blake2b256(proof) };
}

/** The VRF output of a proof, `H256(proof)`. @example `vrfOutput(proof)` */
export function vrfOutput(proof: Uint8Array): Hash32 {
  return blake2b256(proof);
}

/**
 * Verify a header's `leader_vrf = [output, proof]` (§4.1): `output = H256(proof)` (checked first,
 * it is cheap; §16 case 29), the proof decodes strictly and verifies under the pool's VRF key.
 * False on any failure; never throws for bad input.
 *
 * @example
 * ```ts
 * if (!vrfVerify(poolVrfKey, eta, header.slot, header.vrfProof, header.vrfOutput)) reject();
 * ```
 */
export function vrfVerify(
  vrfKey: G2Point,
  eta: Uint8Array,
  slot: number | bigint,
  proof: Uint8Array,
  output: Uint8Array,
): boolean {
  if (proof.length !== BLS_SIG_LENGTH || output.length !== 32) return false;
  if (!bytesEqual(blake2b256(proof), output)) return false;
  try {
    return verifySingle(vrfKey, vrfMessage(eta, slot), decodeSignature(proof, 'leader_vrf.proof'), SIG_DST);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// §3.5 leader threshold, exact.

/**
 * A non-negative rational `num/den` in BigInt (den > 0). Structurally the same as the protocol
 * parameters' `Rational` (protocol/params), which crypto must not import.
 */
type Ratio = { readonly num: bigint; readonly den: bigint };

const SCALE = 10n ** 40n;
const TWO_256 = 1n << 256n;

/**
 * `C = floor(10^40 · Σ_{j=1..J} f^j/j) / 10^40` with J the least integer such that `f^J <
 * 10^-45` (§3.5 step 1). Compute once per network. Requires `0 < f <= 1/2`.
 *
 * @example
 * ```ts
 * const C = leaderThresholdConstant({ num: 1n, den: 20n }); // ≈ 0.05129329438755 (= −ln(0.95) to 40 places)
 * ```
 */
export function leaderThresholdConstant(f: Ratio): Ratio {
  const { num, den } = f;
  if (num <= 0n || den <= 0n || 2n * num > den) {
    throw new CryptoError('activeSlotCoeff', `expected 0 < f <= 1/2, got ${num}/${den}`);
  }
  // exact running fraction sNum/sDen of Σ f^j/j, reduced each step to keep it small
  let sNum = 0n;
  let sDen = 1n;
  let pNum = 1n; // f^j numerator
  let pDen = 1n;
  for (let j = 1n; ; j++) {
    pNum *= num;
    pDen *= den;
    // add f^j / j
    sNum = sNum * pDen * j + pNum * sDen;
    sDen = sDen * pDen * j;
    const g = gcd(sNum, sDen);
    sNum /= g;
    sDen /= g;
    // stop at the least J with f^J < 10^-45, i.e. pNum·10^45 < pDen
    if (pNum * 10n ** 45n < pDen) break;
  }
  return { num: (SCALE * sNum) / sDen, den: SCALE };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

/**
 * §3.5 step 2: whether a pool with relative stake `σ = sigmaNum/sigmaDen` leads, given the VRF
 * output (32 bytes) and the constant `C` from {@link leaderThresholdConstant}. Zero stake never
 * leads; undecided after n = 64 means not leader.
 *
 * @example
 * ```ts
 * const lead = isLeader(vrf.output, poolStake, totalStake, C);
 * ```
 */
export function isLeader(output: Uint8Array, sigmaNum: bigint, sigmaDen: bigint, C: Ratio): boolean {
  if (output.length !== 32) throw new CryptoError('leader_vrf.output', 'expected 32 bytes');
  if (sigmaDen <= 0n || sigmaNum < 0n) throw new CryptoError('leader.sigma', 'expected 0 <= σ with a positive denominator');
  if (sigmaNum === 0n) return false;
  const y = bytesToBigInt(output);
  const qDen = TWO_256 - y; // Q = 2^256 / qDen, qDen >= 1
  // x = a/b
  const a = sigmaNum * C.num;
  const b = sigmaDen * C.den;
  // T_n = tNum / tDen with tDen = b^n·n!; term_n = a^n / (b^n·n!)
  let tNum = 1n;
  let tDen = 1n;
  let aPow = 1n; // a^n
  for (let n = 0n; n <= 64n; n++) {
    if (n > 0n) {
      aPow *= a;
      tNum = tNum * b * n + aPow;
      tDen = tDen * b * n;
    }
    // T_n > Q  ⇔  tNum·qDen > 2^256·tDen
    if (tNum * qDen > TWO_256 * tDen) return true;
    // R_n = 3·a^(n+1) / (b^(n+1)·(n+1)!) = 3·a^(n+1) / (tDen·b·(n+1))
    const rDen = tDen * b * (n + 1n);
    const upperNum = tNum * b * (n + 1n) + 3n * aPow * a;
    // T_n + R_n <= Q  ⇔  upperNum·qDen <= 2^256·rDen
    if (upperNum * qDen <= TWO_256 * rDen) return false;
  }
  return false;
}
