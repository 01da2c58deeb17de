/**
 * Fait-accompli certificates: verification, building and single-vote acceptance (PROTOCOL.md §6.7,
 * with §6.3, §6.5 and §6.6 carried over).
 *
 * Primer: an FA certificate proves that persistent seats and sortition-elected pools holding at
 * least τ of the total stake signed the vote message `58 20 || rb_hash` of the announcing RB. It
 * names the election (the RB's slot) and the EB, lists the persistent signers as a §6.5 bitfield
 * over the n1 persistent seats and each non-persistent signer with its eligibility signature, and
 * carries one aggregate of all vote signatures. Verification runs in the §6.7 order and stops at
 * the first failure: election and EB, bitfield, keyless persistent signer (no pairing), candidacy,
 * eligibility signatures, seats (k >= 1), weight, aggregate.
 *
 * Eligibility signatures are checked one by one or by random-scalar batch, NEVER by a plain-sum
 * batch: all candidates sign the same eligibility message, so a plain sum would pass `sig_h + Δ`,
 * `sig_a − Δ` (§2.3 caveat), and each σ_i = H256(elig_sig) depends on its own exact signature.
 * Vote signatures all sign one message and are checked as one aggregate; the builder bisects a
 * failing aggregate with the plain-sum batch (sound there, because the final aggregate is verified).
 *
 * @module
 */
import { bytesEqual, compareBytes, toHex } from '../../bytes/index';
import {
  decodeSignature,
  eligibilityMessage,
  encodeSignature,
  findInvalidRandomized,
  type G1Point,
  type G2Point,
  hashToG1,
  pairingCheck,
  type RandomBytes,
  SIG_DST,
  type SignedMessage,
  type SignedVote,
  verifySingle,
  verifyVoteBatch,
  voteMessage,
} from '../../crypto/index';
import { CertificateError, CryptoError } from '../../errors/index';
import type { Hash32, PoolId, Slot } from '../../types/index';
import { signerSeats, signersBitfield } from '../certificate/index';
import type { Rational } from '../params/index';
import { type FaCertificate, type FaEligibilityEntry, encodeFaCertificate, MAX_FA_NONPERSISTENT } from './codec';
import type { FaCandidate, FaCommittee } from './committee';
import { candidateSeats } from './sortition';

/** The election a certificate or vote belongs to: the announcing RB (the CertRB's parent). */
export interface FaElection {
  /** Hash of the announcing RB; votes sign `58 20 || rbHash`. */
  readonly rbHash: Hash32 | Uint8Array;
  /** Its slot = the election id. */
  readonly slot: number;
  /** Hash of the EB it announces. */
  readonly ebHash: Hash32 | Uint8Array;
  /** η of `epoch(slot)` (the eligibility message's nonce). */
  readonly eta: Uint8Array;
}

/** Options of verification and building. */
export interface FaVerifyOptions {
  /** Randomness for the random-scalar eligibility batch (defaults to Web Crypto). */
  readonly random?: RandomBytes;
}

/** What a valid FA certificate proves. */
export interface VerifiedFaCertificate {
  /** Set persistent seats, ascending. */
  readonly persistentSeats: number[];
  /** W_p: Σ stake of the set persistent seats. */
  readonly persistentStake: bigint;
  /** Non-persistent signers in certificate order with their seat counts k >= 1. */
  readonly nonpersistent: ReadonlyArray<{ readonly poolId: PoolId; readonly seats: number }>;
  /** K: total non-persistent seats. */
  readonly nonpersistentSeats: number;
  /** Signed weight `W_p + K·ρ_{i*}/n2`, exact. */
  readonly weight: Rational;
}

type CertFields = Pick<FaCertificate, 'electionId' | 'ebHash' | 'persistentSigners' | 'nonpersistent' | 'signature'>;

/**
 * Verify an FA certificate found in the child of the announcing RB of `election`, against the FA
 * committee of `epoch(election.slot)`, in the §6.7 order. Throws {@link CertificateError} with the
 * first failing rule: `ElectionMismatch` (election id ≠ the RB's slot), `EbMismatch` (eb_hash ≠ the
 * announced EB), `MalformedSigners` (§6.5 bitfield rules over n1; also non-ascending pools in a
 * hand-built object), `SignerWithoutKey` (a keyless persistent seat is set; no pairing computed),
 * `NotCandidate`, `InvalidEligibility` (undecodable, or fails the random-scalar batch / single
 * check), `NotEligible` (k = 0), `InsufficientWeight` (`τ_den·(n2·W_p + K·ρ*) < τ_num·n2·S`, or no
 * signer at all), `InvalidSignature` (the aggregate fails against the sum of all signers' keys).
 *
 * @example
 * ```ts
 * const v = verifyFaCertificate(cert, faCommittee, { rbHash: parent.hash, slot: parent.slot, ebHash, eta });
 * v.weight // { num: n2·W_p + K·ρ*, den: n2 }
 * ```
 */
export function verifyFaCertificate(
  cert: CertFields,
  committee: FaCommittee,
  election: FaElection,
  opts: FaVerifyOptions = {},
): VerifiedFaCertificate {
  return verifyInner(cert, committee, election, false, opts.random);
}

/** `eligibilityVerified`: the builder has just verified exactly these (pool, elig_sig) pairs. */
function verifyInner(
  cert: CertFields,
  committee: FaCommittee,
  election: FaElection,
  eligibilityVerified: boolean,
  random: RandomBytes | undefined,
): VerifiedFaCertificate {
  // (1) the election and EB of the parent
  if (cert.electionId !== election.slot) {
    throw new CertificateError('ElectionMismatch', `election id ${cert.electionId}, announcing RB at slot ${election.slot}`);
  }
  if (!bytesEqual(cert.ebHash, election.ebHash)) {
    throw new CertificateError('EbMismatch', `eb_hash ${toHex(cert.ebHash)} is not the announced EB ${toHex(election.ebHash)}`);
  }
  // (2) §6.5 bitfield rules over the n1 persistent seats
  const n1 = committee.n1;
  const signers = cert.persistentSigners;
  if (signers.length !== committee.signersLength) {
    throw new CertificateError(
      'MalformedSigners',
      `persistent_signers has ${signers.length} bytes, expected ${committee.signersLength}`,
    );
  }
  if (n1 % 8 !== 0 && signers.length > 0 && (signers[signers.length - 1]! & (0xff >> n1 % 8)) !== 0) {
    throw new CertificateError('MalformedSigners', `bit set at or beyond persistent seat ${n1}`);
  }
  // (3) no keyless persistent signer — known from the committee build, so no pairing here
  const persistentSeats = signerSeats(signers);
  const keys: G2Point[] = [];
  let persistentStake = 0n;
  for (const i of persistentSeats) {
    const s = committee.seat(i)!;
    if (s.voteKey === null) throw new CertificateError('SignerWithoutKey', `persistent seat ${i} (${s.keyless})`);
    persistentStake += s.stake;
    keys.push(s.voteKey);
  }
  // (4) every non-persistent pool is a candidate ...
  const np = cert.nonpersistent;
  const cands: FaCandidate[] = [];
  np.forEach((e, i) => {
    if (i > 0 && compareBytes(np[i - 1]!.poolId, e.poolId) >= 0) {
      throw new CertificateError('MalformedSigners', `nonpersistent pool ids not strictly ascending at entry ${i}`);
    }
    const c = committee.candidate(e.poolId);
    if (!c) {
      const why =
        committee.seatOfPool(e.poolId) !== undefined ? 'holds a persistent seat' : 'has no registered vote key in the snapshot';
      throw new CertificateError('NotCandidate', `pool ${toHex(e.poolId)} ${why}`);
    }
    cands.push(c);
    keys.push(c.voteKey);
  });
  // ... whose eligibility signature verifies (random-scalar batch, never a plain sum) ...
  if (!eligibilityVerified && np.length > 0) {
    const msg = eligibilityMessage(election.eta, election.slot);
    const items: SignedMessage[] = np.map((e, i) => {
      try {
        return { pk: cands[i]!.voteKey, msg, sig: decodeSignature(e.eligSig, 'fa_certificate.elig_sig') };
      } catch (err) {
        if (err instanceof CryptoError) throw new CertificateError('InvalidEligibility', `pool ${toHex(e.poolId)}: ${err.message}`);
        throw err;
      }
    });
    const bad = findInvalidRandomized(items, SIG_DST, random);
    if (bad.length > 0) {
      throw new CertificateError('InvalidEligibility', `pool ${toHex(np[bad[0]!]!.poolId)}: eligibility signature does not verify`);
    }
  }
  // ... with k >= 1
  const nonpersistent = np.map((e, i) => {
    const seats = candidateSeats(committee, cands[i]!, e.eligSig);
    if (seats < 1) throw new CertificateError('NotEligible', `pool ${toHex(e.poolId)} holds no seat in election ${election.slot}`);
    return { poolId: e.poolId, seats };
  });
  const K = nonpersistent.reduce((sum, e) => sum + e.seats, 0);
  // (5) weight, exact (an empty signer set never certifies)
  if (keys.length === 0 || !committee.meetsQuorum(persistentStake, K)) {
    throw new CertificateError(
      'InsufficientWeight',
      `signed W_p = ${persistentStake} and K = ${K} seats of ${committee.rhoStar}/${committee.n2}: below ` +
        `${committee.quorum.num}/${committee.quorum.den} of ${committee.totalStake}`,
    );
  }
  // (6) the aggregate against the sum of all signers' vote keys, one pairing check
  let sig: G1Point;
  try {
    sig = decodeSignature(cert.signature, 'fa_certificate.signature');
  } catch (e) {
    if (e instanceof CryptoError) throw new CertificateError('InvalidSignature', e.message);
    throw e;
  }
  let aggPk = keys[0]!;
  for (let k = 1; k < keys.length; k++) aggPk = aggPk.add(keys[k]!);
  if (!pairingCheck(sig, hashToG1(voteMessage(election.rbHash)), aggPk)) {
    throw new CertificateError('InvalidSignature', 'aggregate signature does not verify over the vote message');
  }
  const n2 = BigInt(committee.n2);
  return {
    persistentSeats,
    persistentStake,
    nonpersistent,
    nonpersistentSeats: K,
    weight: { num: n2 * persistentStake + BigInt(K) * committee.rhoStar, den: n2 },
  };
}

// ---------------------------------------------------------------------------------------------
// Single-vote acceptance (§6.3 as amended by §6.7)

/** Why {@link checkFaVote} rejects a vote. */
export type FaVoteRejection =
  | 'wrong-rb'
  | 'unknown-seat'
  | 'keyless'
  | 'not-candidate'
  | 'invalid-eligibility'
  | 'not-eligible'
  | 'invalid-signature';

/** Verdict of {@link checkFaVote}; `seats` is 1 for a persistent vote (it weighs its stake). */
export type FaVoteCheck =
  | { readonly ok: true; readonly seats: number }
  | { readonly ok: false; readonly reason: FaVoteRejection };

/** A vote to check or include: decoded {@link FaVote}s fit, signatures may be pre-decoded points. */
export type FaCertificateVote =
  | {
      readonly kind: 'persistent';
      readonly seat: number;
      readonly signature: Uint8Array | G1Point;
      readonly rbHash?: Uint8Array;
    }
  | {
      readonly kind: 'nonpersistent';
      readonly poolId: PoolId | Uint8Array;
      readonly eligSig: Uint8Array;
      readonly signature: Uint8Array | G1Point;
      readonly rbHash?: Uint8Array;
    };

function sigPoint(s: Uint8Array | G1Point, what: string): G1Point | undefined {
  if (!(s instanceof Uint8Array)) return s;
  try {
    return decodeSignature(s, what);
  } catch (e) {
    if (e instanceof CryptoError) return undefined;
    throw e;
  }
}

/**
 * The signature-level acceptance rules for one vote (§6.3 with `seat < n1` for persistent votes;
 * a non-persistent vote needs a candidate pool, a valid eligibility signature and k >= 1), each
 * signature checked alone. RB knowledge, timing windows and (RB, seat)/(RB, pool) dedup are the
 * caller's.
 *
 * @example
 * ```ts
 * const r = checkFaVote(faCommittee, election, decodeFaVote(bytes));
 * if (!r.ok) penalise(r.reason);
 * ```
 */
export function checkFaVote(committee: FaCommittee, election: FaElection, vote: FaCertificateVote): FaVoteCheck {
  if (vote.rbHash && !bytesEqual(vote.rbHash, election.rbHash)) return { ok: false, reason: 'wrong-rb' };
  const msg = voteMessage(election.rbHash);
  if (vote.kind === 'persistent') {
    const s = committee.seat(vote.seat);
    if (!s) return { ok: false, reason: 'unknown-seat' };
    if (s.voteKey === null) return { ok: false, reason: 'keyless' };
    const sig = sigPoint(vote.signature, 'fa_vote.signature');
    if (!sig || !verifySingle(s.voteKey, msg, sig)) return { ok: false, reason: 'invalid-signature' };
    return { ok: true, seats: 1 };
  }
  const c = committee.candidate(vote.poolId);
  if (!c) return { ok: false, reason: 'not-candidate' };
  const elig = sigPoint(vote.eligSig, 'fa_vote.elig_sig');
  if (!elig || !verifySingle(c.voteKey, eligibilityMessage(election.eta, election.slot), elig)) {
    return { ok: false, reason: 'invalid-eligibility' };
  }
  const seats = candidateSeats(committee, c, vote.eligSig);
  if (seats < 1) return { ok: false, reason: 'not-eligible' };
  const sig = sigPoint(vote.signature, 'fa_vote.signature');
  if (!sig || !verifySingle(c.voteKey, msg, sig)) return { ok: false, reason: 'invalid-signature' };
  return { ok: true, seats };
}

// ---------------------------------------------------------------------------------------------
// Building (§6.6 carried over)

/** Outcome of {@link buildFaCertificate}. */
export type FaCertificateBuildResult =
  | {
      readonly ok: true;
      readonly certificate: FaCertificate;
      readonly verified: VerifiedFaCertificate;
      /**
       * Indices (into the input) of votes left out: wrong RB, unknown/keyless seat, not a candidate,
       * bad encoding, bad eligibility or k = 0, bad signature, duplicate.
       */
      readonly dropped: number[];
    }
  | {
      readonly ok: false;
      readonly reason: 'InsufficientWeight';
      readonly persistentStake: bigint;
      readonly nonpersistentSeats: number;
      readonly dropped: number[];
    };

interface HeldPersistent {
  readonly idx: number;
  readonly sig: G1Point;
}
interface HeldNonPersistent {
  readonly idx: number;
  readonly cand: FaCandidate;
  readonly eligSig: Uint8Array;
  readonly elig: G1Point;
  readonly sig: G1Point;
}

/**
 * Build an FA certificate for `election` from votes (§6.6 carried over to §6.7): every usable vote
 * is included; eligibility signatures are verified by random-scalar batch (bisecting to drop bad
 * ones) and pools with k = 0 dropped; the final aggregate is verified and on failure bisection
 * drops exactly the bad vote signatures. Two different votes for one seat or pool are checked
 * alone and a valid one kept (§2.3 caveat). Returns `ok: false` if the rest misses quorum.
 *
 * @example
 * ```ts
 * const r = buildFaCertificate(faCommittee, { rbHash: parent.hash, slot: parent.slot, ebHash, eta }, votes);
 * if (r.ok) body.certificate = r.certificate.bytes;
 * ```
 */
export function buildFaCertificate(
  committee: FaCommittee,
  election: FaElection,
  votes: readonly FaCertificateVote[],
  opts: FaVerifyOptions = {},
): FaCertificateBuildResult {
  const msg = voteMessage(election.rbHash);
  const eligMsg = eligibilityMessage(election.eta, election.slot);
  const dropped: number[] = [];
  const bySeat = new Map<number, HeldPersistent>();
  const byPool = new Map<string, HeldNonPersistent>();
  const fullyValid = (h: HeldNonPersistent): boolean =>
    verifySingle(h.cand.voteKey, eligMsg, h.elig) && verifySingle(h.cand.voteKey, msg, h.sig);

  votes.forEach((v, idx) => {
    const sig = v.rbHash && !bytesEqual(v.rbHash, election.rbHash) ? undefined : sigPoint(v.signature, 'fa_vote.signature');
    if (!sig) {
      dropped.push(idx);
      return;
    }
    if (v.kind === 'persistent') {
      const s = committee.seat(v.seat);
      if (!s || s.voteKey === null) {
        dropped.push(idx);
        return;
      }
      const held = bySeat.get(v.seat);
      if (!held) bySeat.set(v.seat, { idx, sig });
      else if (!held.sig.equals(sig) && !verifySingle(s.voteKey, msg, held.sig) && verifySingle(s.voteKey, msg, sig)) {
        dropped.push(held.idx);
        bySeat.set(v.seat, { idx, sig });
      } else dropped.push(idx);
      return;
    }
    const cand = committee.candidate(v.poolId);
    const elig = cand && sigPoint(v.eligSig, 'fa_vote.elig_sig');
    if (!cand || !elig) {
      dropped.push(idx);
      return;
    }
    const entry: HeldNonPersistent = { idx, cand, eligSig: v.eligSig, elig, sig };
    const key = toHex(cand.poolId);
    const held = byPool.get(key);
    if (!held) byPool.set(key, entry);
    else if (!(held.elig.equals(elig) && held.sig.equals(sig)) && !fullyValid(held) && fullyValid(entry)) {
      dropped.push(held.idx);
      byPool.set(key, entry);
    } else dropped.push(idx);
  });

  // Eligibility: random-scalar batch with bisection (never a plain sum), then k >= 1.
  let np = [...byPool.values()];
  const badElig = new Set(
    findInvalidRandomized(
      np.map((h) => ({ pk: h.cand.voteKey, msg: eligMsg, sig: h.elig })),
      SIG_DST,
      opts.random,
    ),
  );
  const seatsOf = new Map<HeldNonPersistent, number>();
  np = np.filter((h, j) => {
    const k = badElig.has(j) ? 0 : candidateSeats(committee, h.cand, h.eligSig);
    if (k < 1) {
      dropped.push(h.idx);
      return false;
    }
    seatsOf.set(h, k);
    return true;
  });
  // Bounded by the codec cap; beyond it keep the pools with most seats (never reached in practice).
  if (np.length > MAX_FA_NONPERSISTENT) {
    np.sort((x, y) => seatsOf.get(y)! - seatsOf.get(x)!);
    for (const h of np.slice(MAX_FA_NONPERSISTENT)) dropped.push(h.idx);
    np = np.slice(0, MAX_FA_NONPERSISTENT);
  }
  np.sort((x, y) => compareBytes(x.cand.poolId, y.cand.poolId));
  let persistent = [...bySeat.entries()].sort((a, b) => a[0] - b[0]);

  // Happy path: one aggregate, verified by the verifier itself (§6.6 MUST; eligibility was just
  // checked above, so it is not re-batched). On InvalidSignature, bisect to drop the bad votes.
  for (let attempt = 0; ; attempt++) {
    const persistentStake = persistent.reduce((sum, [seat]) => sum + committee.seat(seat)!.stake, 0n);
    const K = np.reduce((sum, h) => sum + seatsOf.get(h)!, 0);
    if (persistent.length + np.length === 0 || !committee.meetsQuorum(persistentStake, K)) {
      dropped.sort((a, b) => a - b);
      return { ok: false, reason: 'InsufficientWeight', persistentStake, nonpersistentSeats: K, dropped };
    }
    const sigs = [...persistent.map(([, h]) => h.sig), ...np.map((h) => h.sig)];
    let agg = sigs[0]!;
    for (let k = 1; k < sigs.length; k++) agg = agg.add(sigs[k]!);
    if (!agg.is0()) {
      const nonpersistent: FaEligibilityEntry[] = np.map((h) => ({ poolId: h.cand.poolId, eligSig: h.eligSig }));
      const fields = {
        electionId: election.slot,
        ebHash: election.ebHash,
        persistentSigners: signersBitfield(
          persistent.map(([seat]) => seat),
          committee.n1,
        ),
        nonpersistent,
        signature: encodeSignature(agg),
      };
      const bytes = encodeFaCertificate(fields);
      const certificate: FaCertificate = {
        ...fields,
        ebHash: election.ebHash as Hash32,
        electionId: election.slot as Slot,
        bytes,
      };
      try {
        const verified = verifyInner(certificate, committee, election, true, opts.random);
        dropped.sort((a, b) => a - b);
        return { ok: true, certificate, verified, dropped };
      } catch (e) {
        if (!(e instanceof CertificateError) || e.error !== 'InvalidSignature') throw e;
      }
    }
    // After one bisection the rest verifies by construction; a second failure would mean a bug,
    // so then every vote is checked alone, and a third failure is a broken invariant.
    if (attempt >= 2) throw new Error('buildFaCertificate: aggregate of individually valid votes does not verify');
    const batch: SignedVote[] = [
      ...persistent.map(([seat, h]) => ({ pk: committee.seat(seat)!.voteKey!, sig: h.sig })),
      ...np.map((h) => ({ pk: h.cand.voteKey, sig: h.sig })),
    ];
    const invalid = new Set(
      attempt === 0 ? verifyVoteBatch(msg, batch).invalid : batch.flatMap((v, j) => (verifySingle(v.pk, msg, v.sig) ? [] : [j])),
    );
    const p = persistent.length;
    persistent = persistent.filter(([, h], j) => {
      if (invalid.has(j)) dropped.push(h.idx);
      return !invalid.has(j);
    });
    np = np.filter((h, j) => {
      if (invalid.has(p + j)) dropped.push(h.idx);
      return !invalid.has(p + j);
    });
  }
}
