/**
 * Top-stake certificates (PROTOCOL.md §6.5, §6.6): `[signers: bytes, signature: bls_sig]`.
 *
 * Primer: a certificate proves that seats holding at least τ of the total active stake signed the
 * vote message of an RB (`58 20 || rb_hash`). `signers` is a bitfield of exactly `ceil(N/8)` bytes,
 * MSB first (seat i = bit `7 − i mod 8` of byte `floor(i/8)`), unused trailing bits zero;
 * `signature` is the sum of the signers' vote signatures. Verification runs the four §6.5 checks
 * in order and stops at the first failure; the first three need no pairing, and the fourth sums
 * the committee's cached decoded keys and does one pairing check. Building (§6.6) aggregates
 * every verified vote, verifies the result and bisects to drop bad votes if it fails.
 *
 * Decoding keeps the exact received bytes (§1.3); the decoder bounds the bitfield by the largest
 * possible committee (65,536 seats = 8,192 bytes) since N is unknown at decode time.
 *
 * @module
 */
import { CborReader, CborWriter } from '../../cbor/index';
import {
  BLS_SIG_LENGTH,
  decodeSignature,
  encodeSignature,
  type G1Point,
  hashToG1,
  pairingCheck,
  SIG_DST,
  type SignedVote,
  verifySingle,
  verifyVoteBatch,
  voteMessage,
} from '../../crypto/index';
import { CertificateError, CryptoError, type DecodeError } from '../../errors/index';
import type { Hash32 } from '../../types/index';
import type { Committee } from '../committee/index';

/** Largest signer bitfield: 65,536 seats (§6.2 `voter_id: uint .lt 65536`). */
export const MAX_SIGNERS_LENGTH = 8192;

/** A decoded certificate; `bytes` are the exact CBOR bytes it was decoded from (or encoded to). */
export interface Certificate {
  readonly signers: Uint8Array;
  /** 48-byte compressed aggregate signature (decoded only when verified). */
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Bitfield

/**
 * The §6.5 signer bitfield of `n` seats with the given seats set.
 *
 * @example
 * ```ts
 * signersBitfield([0, 1, 2, 3], 4) // Uint8Array [0xf0]
 * ```
 */
export function signersBitfield(seats: Iterable<number>, n: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(n / 8));
  for (const i of seats) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`seat ${i} outside 0..${n - 1}`);
    out[i >> 3]! |= 0x80 >> (i & 7);
  }
  return out;
}

/**
 * Set seats of a bitfield, ascending (no length check: see {@link verifyCertificate}).
 *
 * @example
 * ```ts
 * signerSeats(new Uint8Array([0xa0])) // [0, 2]
 * ```
 */
export function signerSeats(signers: Uint8Array): number[] {
  const out: number[] = [];
  for (let b = 0; b < signers.length; b++) {
    const v = signers[b]!;
    if (v === 0) continue;
    for (let j = 0; j < 8; j++) if (v & (0x80 >> j)) out.push(b * 8 + j);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Codec

/**
 * Canonical CBOR of `[signers, signature]`.
 *
 * @example
 * ```ts
 * encodeCertificate(new Uint8Array([0xf0]), sig) // 82 41 F0 58 30 ‖ sig, 53 bytes
 * ```
 */
export function encodeCertificate(signers: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== BLS_SIG_LENGTH) throw new RangeError('certificate.signature must be 48 bytes');
  if (signers.length > MAX_SIGNERS_LENGTH) throw new RangeError(`certificate.signers longer than ${MAX_SIGNERS_LENGTH}`);
  return new CborWriter(signers.length + 64).array(2).bytes(signers).bytes(signature).finish();
}

/**
 * Read one certificate at the reader's position (e.g. inside an RB body), keeping its raw bytes.
 *
 * @example
 * ```ts
 * const cert = readCertificate(r, 'rb_body.certificate');
 * ```
 */
export function readCertificate(r: CborReader, path = 'certificate'): Certificate {
  const start = r.pos;
  r.readArray(path, { len: 2 });
  const signers = r.readBytes(`${path}.signers`, { max: MAX_SIGNERS_LENGTH });
  const signature = r.readBytes(`${path}.signature`, { len: BLS_SIG_LENGTH });
  return { signers, signature, bytes: r.bytes.subarray(start, r.pos) };
}

/**
 * Strictly decode a standalone certificate (canonical CBOR, no trailing bytes). Throws
 * {@link DecodeError}.
 *
 * @example
 * ```ts
 * const cert = decodeCertificate(bytes);
 * ```
 */
export function decodeCertificate(bytes: Uint8Array, path = 'certificate'): Certificate {
  const r = new CborReader(bytes);
  const c = readCertificate(r, path);
  r.done(path);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Verification (§6.5)

/** What a valid certificate proves. */
export interface VerifiedCertificate {
  /** Set seats, ascending. */
  readonly seats: number[];
  /** Σ stake of the set seats. */
  readonly signedStake: bigint;
}

/**
 * Verify a certificate for the EB announced by the RB `rbHash` (the CertRB's parent) against the
 * committee of `epoch(slot of that RB)`, in the §6.5 order; throws {@link CertificateError} with
 * the first failing rule: `MalformedSigners` (length ≠ ceil(N/8) or a set bit >= N),
 * `SignerWithoutKey` (a keyless seat is set; no pairing computed), `InsufficientWeight`
 * (`τ_den·Σ < τ_num·S`), `InvalidSignature` (undecodable, or the aggregate of the set seats' keys
 * does not verify over `58 20 || rbHash`).
 *
 * @example
 * ```ts
 * const { signedStake } = verifyCertificate(cert, committee, parentRbHash);
 * ```
 */
export function verifyCertificate(
  cert: Pick<Certificate, 'signers' | 'signature'>,
  committee: Committee,
  rbHash: Hash32 | Uint8Array,
): VerifiedCertificate {
  const n = committee.size;
  const { signers } = cert;
  // (1) exact length, unused trailing bits zero
  if (signers.length !== committee.signersLength) {
    throw new CertificateError('MalformedSigners', `signers has ${signers.length} bytes, expected ${committee.signersLength}`);
  }
  if (n % 8 !== 0 && signers.length > 0) {
    const unusedMask = 0xff >> (n % 8);
    if ((signers[signers.length - 1]! & unusedMask) !== 0) {
      throw new CertificateError('MalformedSigners', `bit set at or beyond seat ${n}`);
    }
  }
  const seats = signerSeats(signers);
  // (2) no keyless signer — known from the committee build, so no pairing here
  let weight = 0n;
  for (const i of seats) {
    const s = committee.seat(i)!;
    if (s.voteKey === null) throw new CertificateError('SignerWithoutKey', `seat ${i} (${s.keyless})`);
    weight += s.stake;
  }
  // (3) exact quorum in BigInt (an empty signer set never certifies, even if S were 0)
  if (seats.length === 0 || !committee.meetsQuorum(weight)) {
    throw new CertificateError(
      'InsufficientWeight',
      `signed ${weight} < ${committee.quorum.num}/${committee.quorum.den} of ${committee.totalStake}`,
    );
  }
  // (4) one pairing check with the aggregate of the cached keys
  let sig: G1Point;
  try {
    sig = decodeSignature(cert.signature, 'certificate.signature');
  } catch (e) {
    if (e instanceof CryptoError) throw new CertificateError('InvalidSignature', e.message);
    throw e;
  }
  if (!pairingCheck(sig, hashToG1(voteMessage(rbHash), SIG_DST), committee.aggregateKey(seats))) {
    throw new CertificateError('InvalidSignature', 'aggregate signature does not verify over the vote message');
  }
  return { seats, signedStake: weight };
}

// ---------------------------------------------------------------------------------------------
// Building (§6.6)

/** A vote to include: its seat and its signature (bytes as received, or already decoded). */
export interface CertificateVote {
  readonly seat: number;
  readonly signature: Uint8Array | G1Point;
}

/** Outcome of {@link buildCertificate}. */
export type CertificateBuildResult =
  | {
      readonly ok: true;
      readonly certificate: Certificate;
      readonly seats: number[];
      readonly signedStake: bigint;
      /** Indices (into the input) of votes left out: unknown/keyless seat, bad encoding, bad signature, duplicate. */
      readonly dropped: number[];
    }
  | { readonly ok: false; readonly reason: 'InsufficientWeight'; readonly signedStake: bigint; readonly dropped: number[] };

/**
 * Build a certificate for `rbHash` from votes (§6.6): every usable vote is included, the final
 * aggregate is verified, and on failure bisection drops exactly the bad votes. Two different
 * signatures for one seat are checked alone and the valid one kept (§2.3 caveat). Returns
 * `ok: false` if the remaining stake misses quorum.
 *
 * @example
 * ```ts
 * const r = buildCertificate(committee, parentHash, votes);
 * if (r.ok) body.certificate = r.certificate.bytes;
 * ```
 */
export function buildCertificate(
  committee: Committee,
  rbHash: Hash32 | Uint8Array,
  votes: readonly CertificateVote[],
): CertificateBuildResult {
  const msg = voteMessage(rbHash);
  const dropped: number[] = [];
  // per seat: the input index and decoded signature
  const bySeat = new Map<number, { idx: number; sig: G1Point }>();
  votes.forEach((v, idx) => {
    const s = committee.seat(v.seat);
    if (!s || s.voteKey === null) {
      dropped.push(idx);
      return;
    }
    let sig: G1Point;
    try {
      sig = v.signature instanceof Uint8Array ? decodeSignature(v.signature, 'vote.signature') : v.signature;
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      dropped.push(idx);
      return;
    }
    const held = bySeat.get(v.seat);
    if (!held) {
      bySeat.set(v.seat, { idx, sig });
      return;
    }
    if (held.sig.equals(sig)) {
      dropped.push(idx);
      return;
    }
    // §2.3 caveat: a second, different signature for one seat — check both alone
    if (!verifySingle(s.voteKey, msg, held.sig) && verifySingle(s.voteKey, msg, sig)) {
      dropped.push(held.idx);
      bySeat.set(v.seat, { idx, sig });
    } else {
      dropped.push(idx);
    }
  });
  let entries = [...bySeat.entries()].sort((a, b) => a[0] - b[0]);
  const stakeOf = (es: typeof entries): bigint => es.reduce((sum, [seat]) => sum + committee.seat(seat)!.stake, 0n);
  // Happy path: one aggregate, verified once by the certificate verifier itself (§6.6 MUST).
  // On InvalidSignature, bisect to find exactly the bad votes, drop them and try again.
  for (let attempt = 0; ; attempt++) {
    const signedStake = stakeOf(entries);
    if (entries.length === 0 || !committee.meetsQuorum(signedStake)) {
      dropped.sort((a, b) => a - b);
      return { ok: false, reason: 'InsufficientWeight', signedStake, dropped };
    }
    const seats = entries.map(([seat]) => seat);
    let agg = entries[0]![1].sig;
    for (let k = 1; k < entries.length; k++) agg = agg.add(entries[k]![1].sig);
    const signers = signersBitfield(seats, committee.size);
    if (!agg.is0()) {
      const signature = encodeSignature(agg);
      try {
        verifyCertificate({ signers, signature }, committee, rbHash);
        dropped.sort((a, b) => a - b);
        return {
          ok: true,
          certificate: { signers, signature, bytes: encodeCertificate(signers, signature) },
          seats,
          signedStake,
          dropped,
        };
      } catch (e) {
        if (!(e instanceof CertificateError) || e.error !== 'InvalidSignature') throw e;
      }
    }
    // After one bisection the rest verifies by construction; a second failure would mean a bug,
    // so then every vote is checked alone, and a third failure is a broken invariant.
    if (attempt >= 2) throw new Error('buildCertificate: aggregate of individually valid votes does not verify');
    const batch: SignedVote[] = entries.map(([seat, e]) => ({ pk: committee.seat(seat)!.voteKey!, sig: e.sig }));
    const invalid =
      attempt === 0
        ? verifyVoteBatch(msg, batch).invalid
        : batch.flatMap((v, j) => (verifySingle(v.pk, msg, v.sig) ? [] : [j]));
    const bad = new Set(invalid);
    for (const j of invalid) dropped.push(entries[j]![1].idx);
    entries = entries.filter((_, j) => !bad.has(j));
  }
}
