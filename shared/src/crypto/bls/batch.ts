/**
 * Batch verification of votes (PROTOCOL.md §2.3 *Fast aggregate verify*, *Batch caveat*).
 *
 * Primer: all votes for one RB sign the same message m, so b votes are checked with ONE pairing
 * check `e(Σ sig_i, G2) == e(H(m), Σ pk_i)` instead of b. This is sound against rogue keys only
 * because every committee key has a verified PoP. When the check fails, {@link verifyVoteBatch}
 * bisects (halve and recurse, a single vote checked alone) to name exactly the bad votes; with
 * prefix sums each range sum is one point subtraction. Bisection costs about `2·k·log2(b)`
 * pairings for k bad votes.
 *
 * The caveat: a passing sum proves every key signed m, not that each signature string is right:
 * `sig_h + Δ` and `sig_a − Δ` pass together. So the vote store must check a second, different
 * signature for one (RB, seat) alone ({@link resolveDuplicateVote}) and a certificate builder
 * must verify its final aggregate. {@link randomizedBatchVerify} (verifier-chosen 64-bit scalars)
 * has no such caveat and also handles different messages.
 *
 * @module
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { toHex } from '../../bytes/index';
import { pippenger } from '@noble/curves/abstract/curve.js';
import { CryptoError } from '../../errors/index';
import {
  countMillerLoops,
  type DecodedKeyCache,
  decodePublicKey,
  decodeSignature,
  type G1Point,
  type G2Point,
  hashToG1,
  POP_DST,
  pairingCheck,
  SIG_DST,
} from './core';

const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
const Fp12 = bls12_381.fields.Fp12;

/** One decoded vote: the seat's key and its signature. */
export interface SignedVote {
  readonly pk: G2Point;
  readonly sig: G1Point;
}

/**
 * One pairing check for many signatures on one message (§2.3). False for an empty list or an
 * identity sum.
 *
 * @example
 * ```ts
 * fastAggregateVerify(voteMessage(rbHash), votes) // true iff the sums verify
 * ```
 */
export function fastAggregateVerify(msg: Uint8Array, votes: readonly SignedVote[], dst: string = SIG_DST): boolean {
  if (votes.length === 0) return false;
  let s = G1.ZERO;
  let p = G2.ZERO;
  for (const v of votes) {
    s = s.add(v.sig);
    p = p.add(v.pk);
  }
  return pairingCheck(s, hashToG1(msg, dst), p);
}

/** Result of {@link verifyVoteBatch}. */
export interface VoteBatchResult {
  /** True iff the whole batch passed the first single pairing check. */
  readonly allValid: boolean;
  /** Indices (ascending) of the votes that fail when checked alone. */
  readonly invalid: number[];
  /** Pairing checks performed (1 when all are valid). */
  readonly pairings: number;
}

/**
 * Check a batch of votes on one message with one pairing check; on failure bisect to find
 * exactly the invalid votes (§2.3, §16 case 11). Subject to the §2.3 caveat (see module doc).
 *
 * @example
 * ```ts
 * const { invalid } = verifyVoteBatch(voteMessage(rbHash), votes);
 * for (const i of invalid) penalise(votes[i]);
 * ```
 */
export function verifyVoteBatch(msg: Uint8Array, votes: readonly SignedVote[], dst: string = SIG_DST): VoteBatchResult {
  const n = votes.length;
  if (n === 0) return { allValid: true, invalid: [], pairings: 0 };
  const hm = hashToG1(msg, dst);
  // prefix sums: sum over [lo, hi) = pre[hi] − pre[lo]
  const preS: G1Point[] = [G1.ZERO];
  const preP: G2Point[] = [G2.ZERO];
  for (let i = 0; i < n; i++) {
    preS.push(preS[i]!.add(votes[i]!.sig));
    preP.push(preP[i]!.add(votes[i]!.pk));
  }
  let pairings = 0;
  const passes = (lo: number, hi: number): boolean => {
    pairings++;
    return pairingCheck(preS[hi]!.subtract(preS[lo]!), hm, preP[hi]!.subtract(preP[lo]!));
  };
  const invalid: number[] = [];
  // `knownFail`: the range is known to fail without checking it (its sibling passed while the
  // parent failed, so by bilinearity it fails). A single vote is always checked alone.
  const explore = (lo: number, hi: number, knownFail: boolean): void => {
    if (hi - lo === 1) {
      if (!passes(lo, hi)) invalid.push(lo);
      return;
    }
    if (!knownFail && passes(lo, hi)) return;
    const mid = (lo + hi) >>> 1;
    const leftOk = passes(lo, mid);
    if (!leftOk) {
      if (mid - lo === 1) invalid.push(lo);
      else explore(lo, mid, true);
    }
    explore(mid, hi, leftOk);
  };
  const allValid = passes(0, n);
  if (!allValid) {
    if (n === 1) invalid.push(0);
    else explore(0, n, true);
  }
  return { allValid, invalid, pairings };
}

/** What to keep when two different signatures arrive for one (RB hash, seat). */
export interface DuplicateVoteResolution {
  readonly keep: 'held' | 'incoming' | 'neither';
  readonly heldValid: boolean;
  readonly incomingValid: boolean;
}

/**
 * §2.3 batch caveat: a receiver holding a vote for (RB, seat) that sees a *different* signature
 * for the same pair MUST check both alone, keep the valid one and penalise the sender of the
 * other. A key and a message have exactly one valid signature, so at most one can be valid.
 *
 * @example
 * ```ts
 * const r = resolveDuplicateVote(seatKey, voteMessage(rbHash), storedSig, newSig);
 * if (r.keep === 'incoming') replaceStoredVote(newSig);
 * ```
 */
export function resolveDuplicateVote(
  pk: G2Point,
  msg: Uint8Array,
  held: G1Point,
  incoming: G1Point,
  dst: string = SIG_DST,
): DuplicateVoteResolution {
  const hm = hashToG1(msg, dst);
  const heldValid = pairingCheck(held, hm, pk);
  const incomingValid = held.equals(incoming) ? heldValid : pairingCheck(incoming, hm, pk);
  const keep = heldValid ? 'held' : incomingValid ? 'incoming' : 'neither';
  return { keep, heldValid, incomingValid };
}

/** One item for {@link randomizedBatchVerify}: any key, message and signature. */
export interface SignedMessage {
  readonly pk: G2Point;
  readonly msg: Uint8Array;
  readonly sig: G1Point;
}

/** Source of random bytes; defaults to Web Crypto (present in workerd and Node). */
export type RandomBytes = (n: number) => Uint8Array;

const webRandom: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

/**
 * Random-scalar batch verification (§2.3, MAY): with verifier-chosen non-zero 64-bit scalars
 * r_i, checks `e(Σ r_i·sig_i, G2) == Π_m e(H(m), Σ_{i: m_i = m} r_i·pk_i)`. A forger must guess
 * the scalars, so it has no ±Δ caveat, and messages may differ (e.g. FA eligibility signatures).
 * Costs one scalar multiplication per item in G1 and G2 plus one Miller loop per distinct message.
 *
 * @example
 * ```ts
 * randomizedBatchVerify(eligibilitySigs.map((e) => ({ pk: e.pk, msg: e.msg, sig: e.sig })))
 * ```
 */
export function randomizedBatchVerify(
  items: readonly SignedMessage[],
  dst: string = SIG_DST,
  random: RandomBytes = webRandom,
): boolean {
  if (items.length === 0) return false;
  const scalars: bigint[] = [];
  const sigs: G1Point[] = [];
  const byMsg = new Map<string, { hm: G1Point; pk: G2Point }>();
  for (const it of items) {
    if (it.sig.is0() || it.pk.is0()) return false;
    let r = 0n;
    while (r === 0n) {
      const b = random(8);
      r = 0n;
      for (const x of b) r = (r << 8n) | BigInt(x);
    }
    scalars.push(r);
    sigs.push(it.sig);
    const key = toHex(it.msg);
    const e = byMsg.get(key);
    const rpk = it.pk.multiplyUnsafe(r);
    if (e) byMsg.set(key, { hm: e.hm, pk: e.pk.add(rpk) });
    else byMsg.set(key, { hm: hashToG1(it.msg, dst), pk: rpk });
  }
  // Σ r_i·sig_i as one multi-scalar multiplication (much cheaper than b separate ones)
  const s = pippenger(G1, sigs, scalars);
  if (s.is0()) return false;
  const neg = s.negate().toAffine();
  const pairs: Parameters<typeof bls12_381.millerLoopBatch>[0] = [
    [bls12_381.utils.calcPairingPrecomputes(G2.BASE), neg.x, neg.y],
  ];
  for (const { hm, pk } of byMsg.values()) {
    if (pk.is0()) return false;
    const h = hm.toAffine();
    pairs.push([bls12_381.utils.calcPairingPrecomputes(pk), h.x, h.y]);
  }
  countMillerLoops(pairs.length);
  return Fp12.eql(Fp12.finalExponentiate(bls12_381.millerLoopBatch(pairs)), Fp12.ONE);
}

/**
 * Indices (ascending) of the items whose signature is invalid, by random-scalar batches with
 * bisection (fresh scalars for every sub-batch). One batch when all are valid.
 *
 * @example
 * ```ts
 * const bad = findInvalidRandomized(pops, POP_DST);
 * ```
 */
export function findInvalidRandomized(
  items: readonly SignedMessage[],
  dst: string = SIG_DST,
  random: RandomBytes = webRandom,
): number[] {
  const invalid: number[] = [];
  const explore = (lo: number, hi: number, knownFail: boolean): void => {
    if (hi - lo === 0) return;
    if (hi - lo === 1) {
      const it = items[lo]!;
      if (!pairingCheck(it.sig, hashToG1(it.msg, dst), it.pk)) invalid.push(lo);
      return;
    }
    if (!knownFail && randomizedBatchVerify(items.slice(lo, hi), dst, random)) return;
    const mid = (lo + hi) >>> 1;
    const leftOk = mid - lo > 1 ? randomizedBatchVerify(items.slice(lo, mid), dst, random) : false;
    if (!leftOk) explore(lo, mid, mid - lo > 1);
    explore(mid, hi, leftOk);
  };
  explore(0, items.length, false);
  return invalid;
}

/** A public key with its proof of possession, as bytes (§3.3 `[bls_vk, pop: bls_sig]`). */
export interface KeyWithPop {
  readonly vk: Uint8Array;
  readonly pop: Uint8Array;
}

/**
 * Remembers PoP verdicts by (key, PoP) bytes so that a committee rebuilt every epoch verifies
 * only keys it has not seen (a PoP check costs a hash to G1 and a pairing). Bounded, LRU.
 *
 * @example
 * ```ts
 * const pops = new PopCache();
 * verifyPops(pools.map((p) => p.voteKey), { cache: pops });
 * ```
 */
export class PopCache {
  private readonly map = new Map<string, boolean>();
  constructor(readonly maxEntries = 65536) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be >= 1');
  }
  get size(): number {
    return this.map.size;
  }
  /** The cached verdict, or undefined. */
  get(k: KeyWithPop): boolean | undefined {
    const key = toHex(k.vk) + toHex(k.pop);
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(k: KeyWithPop, ok: boolean): void {
    const key = toHex(k.vk) + toHex(k.pop);
    this.map.delete(key);
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(key, ok);
  }
}

/**
 * Verify many PoPs (§2.3: a key is registered only if its PoP verifies): strict decoding of
 * each key and PoP (failures are false), then one random-scalar batch over the rest, bisecting
 * on failure. Returns one verdict per item. Decoded keys go to `keyCache` when given.
 *
 * @example
 * ```ts
 * const ok = verifyPops(seats.map((s) => s.voteKey)); // boolean[]
 * ```
 */
export function verifyPops(
  items: readonly KeyWithPop[],
  opts: { cache?: PopCache; keyCache?: DecodedKeyCache; random?: RandomBytes } = {},
): boolean[] {
  const out: boolean[] = new Array(items.length).fill(false);
  const todo: number[] = [];
  const batch: SignedMessage[] = [];
  items.forEach((k, i) => {
    const cached = opts.cache?.get(k);
    if (cached !== undefined) {
      out[i] = cached;
      return;
    }
    try {
      const pk = opts.keyCache ? opts.keyCache.get(k.vk) : decodePublicKey(k.vk);
      const sig = decodeSignature(k.pop, 'pop');
      todo.push(i);
      batch.push({ pk, msg: k.vk, sig });
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      opts.cache?.set(k, false);
    }
  });
  const bad = new Set(findInvalidRandomized(batch, POP_DST, opts.random ?? webRandom));
  todo.forEach((i, j) => {
    const ok = !bad.has(j);
    out[i] = ok;
    opts.cache?.set(items[i]!, ok);
  });
  return out;
}
