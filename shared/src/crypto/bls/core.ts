/**
 * BLS12-381 MinSig core (PROTOCOL.md §2.3): keys, strict point decoding, signing, verification,
 * proofs of possession and aggregation.
 *
 * Primer: in the MinSig variant signatures live in G1 (48-byte compressed points) and public keys
 * in G2 (96 bytes). `pk = sk·G2`, `sig = sk·H_G1(msg)`, and a signature verifies iff
 * `e(sig, G2) == e(H_G1(msg), pk)`. Because many committee votes sign one message (the RB hash),
 * their signatures and keys can be summed and checked with one pairing check (see `batch.ts`);
 * that is only sound because every key's proof of possession (PoP) was verified first, which
 * rules out rogue-key attacks. Decoding is the expensive, security-critical step: every point is
 * checked for length, flags, coordinate range, curve membership and subgroup membership, and the
 * identity is rejected everywhere. Decoded points are plain @noble/curves points; decode once and
 * keep them (see {@link DecodedKeyCache}).
 *
 * @noble/curves (`bls12_381.shortSignatures` is MinSig) is the reference backend; it runs in
 * workerd. Its default DSTs end in `_NUL_`, so every hash here passes the POP-scheme DSTs
 * explicitly.
 *
 * @module
 */
import type { Fp2 } from '@noble/curves/abstract/tower.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ascii, bytesToBigInt, concatBytes, toHex } from '../../bytes/index';
import { CryptoError } from '../../errors/index';

/** A decoded, validated G1 point (signature, PoP, hashed message). */
export type G1Point = WeierstrassPoint<bigint>;
/** A decoded, validated G2 point (public key). */
export type G2Point = WeierstrassPoint<Fp2>;

/** Signing DST (§2.3): votes, VRF proofs, FA eligibility signatures. */
export const SIG_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_';
/** Proof-of-possession DST (§2.3). */
export const POP_DST = 'BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_';

/** Byte lengths (§1.3 CDDL `bls_sig`, `bls_vk`). */
export const BLS_SIG_LENGTH = 48;
export const BLS_PK_LENGTH = 96;
export const BLS_SK_LENGTH = 32;

/** Base field modulus p. */
export const BLS_P: bigint = bls12_381.fields.Fp.ORDER;
/** Prime group order r. */
export const BLS_R: bigint = bls12_381.fields.Fr.ORDER;

const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
const Fp12 = bls12_381.fields.Fp12;

/** Why a point failed to decode (each class is a §2.3 / §16 case 10 check). */
export type BlsDecodeReason =
  | 'length'
  | 'compression-flag'
  | 'infinity'
  | 'coordinate-range'
  | 'not-on-curve'
  | 'not-in-subgroup';

/** A BLS decoding failure; `reason` is one {@link BlsDecodeReason}. */
export class BlsDecodeError extends CryptoError {
  constructor(
    what: string,
    readonly decodeReason: BlsDecodeReason,
    detail: string,
  ) {
    super(what, `${decodeReason}: ${detail}`);
  }
}

const FLAG_MASK = 0xe0;
const COMPRESSED = 0x80;
const INFINITY = 0x40;

/** Top-3-bit flag checks and the per-coordinate range check shared by G1 and G2. */
function precheck(what: string, bytes: Uint8Array, len: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== len) {
    const got = bytes instanceof Uint8Array ? bytes.length : typeof bytes;
    throw new BlsDecodeError(what, 'length', `expected ${len} bytes, got ${got}`);
  }
  const b0 = bytes[0]!;
  if ((b0 & COMPRESSED) === 0) throw new BlsDecodeError(what, 'compression-flag', 'compression flag clear');
  // §2.3: the identity is rejected for keys, signatures, PoPs and aggregates alike.
  if ((b0 & INFINITY) !== 0) throw new BlsDecodeError(what, 'infinity', 'identity point');
  // Each 48-byte coordinate (x for G1; x.c1 then x.c0 for G2) must be < p; flags live in byte 0.
  for (let off = 0; off < len; off += 48) {
    const c = bytes.slice(off, off + 48);
    if (off === 0) c[0]! &= ~FLAG_MASK & 0xff;
    if (bytesToBigInt(c) >= BLS_P) throw new BlsDecodeError(what, 'coordinate-range', `coordinate at byte ${off} >= p`);
  }
}

function classify(what: string, e: unknown): BlsDecodeError {
  const msg = e instanceof Error ? e.message : String(e);
  // After precheck only two failures remain: x has no y on the curve, or the point is outside
  // the prime-order subgroup; noble names the latter explicitly.
  if (/subgroup/i.test(msg)) return new BlsDecodeError(what, 'not-in-subgroup', msg);
  return new BlsDecodeError(what, 'not-on-curve', msg);
}

/**
 * Strictly decode a 48-byte compressed G1 point (signature or PoP). Throws {@link BlsDecodeError}.
 *
 * @example
 * ```ts
 * const sig = decodeSignature(voteSigBytes, 'vote.signature');
 * ```
 */
export function decodeSignature(bytes: Uint8Array, what = 'bls_sig'): G1Point {
  precheck(what, bytes, BLS_SIG_LENGTH);
  let p: G1Point;
  try {
    p = bls12_381.shortSignatures.Signature.fromBytes(bytes);
  } catch (e) {
    throw classify(what, e);
  }
  if (p.is0()) throw new BlsDecodeError(what, 'infinity', 'identity point');
  return p;
}

/**
 * Strictly decode a 96-byte compressed G2 point (public key). Throws {@link BlsDecodeError}.
 * A key decoding fine is not yet *registered*: its PoP must verify too ({@link popVerify}).
 *
 * @example
 * ```ts
 * const pk = decodePublicKey(pool.voteKey.vk, 'pool.vote_key.vk');
 * ```
 */
export function decodePublicKey(bytes: Uint8Array, what = 'bls_vk'): G2Point {
  precheck(what, bytes, BLS_PK_LENGTH);
  let p: G2Point;
  try {
    p = G2.fromBytes(bytes);
  } catch (e) {
    throw classify(what, e);
  }
  if (p.is0()) throw new BlsDecodeError(what, 'infinity', 'identity point');
  return p;
}

/** Compressed 48-byte encoding of a G1 point. @example `encodeSignature(sig)` */
export function encodeSignature(p: G1Point): Uint8Array {
  return bls12_381.shortSignatures.Signature.toBytes(p);
}

/** Compressed 96-byte encoding of a G2 point. @example `encodePublicKey(pk)` */
export function encodePublicKey(p: G2Point): Uint8Array {
  return p.toBytes(true);
}

// ---------------------------------------------------------------------------------------------
// Hash to G1 (RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_) with a small bounded cache: every vote for
// one RB hashes the same 34-byte message, and bisection re-uses it.

const HASH_CACHE_MAX = 1024;
const hashCache = new Map<string, G1Point>();

/**
 * `H_G1(msg)` under `dst` (default: the signing DST). Results are cached (bounded, LRU).
 *
 * @example
 * ```ts
 * const hm = hashToG1(voteMessage(rbHash));
 * ```
 */
export function hashToG1(msg: Uint8Array, dst: string = SIG_DST): G1Point {
  const key = `${dst}|${toHex(msg)}`;
  const hit = hashCache.get(key);
  if (hit) {
    hashCache.delete(key);
    hashCache.set(key, hit);
    return hit;
  }
  const p = bls12_381.G1.hashToCurve(msg, { DST: dst }) as G1Point;
  hashCache.set(key, p);
  if (hashCache.size > HASH_CACHE_MAX) {
    const oldest = hashCache.keys().next().value;
    if (oldest !== undefined) hashCache.delete(oldest);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** A BLS key pair; `secretKey` is 32 bytes big-endian with `0 < sk < r` (§2.3). */
export interface BlsKeyPair {
  readonly secretKey: Uint8Array;
  /** 96-byte compressed public key. */
  readonly publicKey: Uint8Array;
  /** The decoded public key, for callers that go on to verify. */
  readonly publicPoint: G2Point;
}

function skToBigInt(sk: Uint8Array, what = 'bls_sk'): bigint {
  if (!(sk instanceof Uint8Array) || sk.length !== BLS_SK_LENGTH) {
    throw new CryptoError(what, `expected ${BLS_SK_LENGTH} bytes`);
  }
  const x = bytesToBigInt(sk);
  if (x === 0n || x >= BLS_R) throw new CryptoError(what, 'secret key must satisfy 0 < sk < r');
  return x;
}

function bigIntTo32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

const KEYGEN_SALT = ascii('BLS-SIG-KEYGEN-SALT-');

/**
 * Derive a secret key from seed material: `KeyGen(IKM)` of draft-irtf-cfrg-bls-signature-05
 * §2.3 with empty `key_info` (HKDF-SHA256, salt `"BLS-SIG-KEYGEN-SALT-"` re-hashed each round,
 * L = 48, `sk = OS2IP(OKM) mod r`, repeated until non-zero). This is also EIP-2333's
 * `derive_master_SK`, whose published vectors the tests check. `seed` must be at least 32 bytes.
 *
 * @example
 * ```ts
 * const { secretKey, publicKey } = blsKeyGen(seed32);
 * ```
 */
export function blsKeyGen(seed: Uint8Array): BlsKeyPair {
  if (!(seed instanceof Uint8Array) || seed.length < 32) throw new CryptoError('bls.seed', 'need at least 32 bytes');
  const L = 48;
  let salt: Uint8Array = KEYGEN_SALT;
  let sk = 0n;
  while (sk === 0n) {
    salt = sha256(salt);
    const prk = extract(sha256, concatBytes(seed, new Uint8Array([0])), salt);
    const okm = expand(sha256, prk, new Uint8Array([0, L]), L);
    sk = bytesToBigInt(okm) % BLS_R;
  }
  const secretKey = bigIntTo32(sk);
  const publicPoint = G2.BASE.multiply(sk);
  return { secretKey, publicKey: encodePublicKey(publicPoint), publicPoint };
}

/**
 * The public key of a secret key (throws {@link CryptoError} unless `0 < sk < r`).
 *
 * @example
 * ```ts
 * const pk = blsPublicKey(secretKey); // 96 bytes
 * ```
 */
export function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  return encodePublicKey(G2.BASE.multiply(skToBigInt(secretKey)));
}

// ---------------------------------------------------------------------------------------------
// Sign / verify / PoP

/**
 * `sk·H_G1(msg)` as 48 compressed bytes, under `dst` (default: the signing DST).
 *
 * @example
 * ```ts
 * const sig = blsSign(secretKey, voteMessage(rbHash));
 * ```
 */
export function blsSign(secretKey: Uint8Array, msg: Uint8Array, dst: string = SIG_DST): Uint8Array {
  return encodeSignature(hashToG1(msg, dst).multiply(skToBigInt(secretKey)));
}

const stats = { pairings: 0, millerLoops: 0 };

/**
 * Process-wide counters of pairing work: `pairings` counts pairing checks (each one final
 * exponentiation), `millerLoops` the Miller loops of random-scalar batches. For metrics,
 * benchmarks, and tests that assert a path computed no pairing (§16 case 18).
 *
 * @example
 * ```ts
 * const before = blsStats().pairings;
 * ```
 */
export function blsStats(): { readonly pairings: number; readonly millerLoops: number } {
  return { ...stats };
}

/** Count `n` Miller loops run outside {@link pairingCheck} (random-scalar batches). @internal */
export function countMillerLoops(n: number): void {
  stats.millerLoops += n;
  stats.pairings++;
}

// Miller-loop line coefficients of the fixed G2 generator, computed once (saves one precompute
// per pairing check).
let g2BasePrecomputes: ReturnType<typeof bls12_381.utils.calcPairingPrecomputes> | undefined;

/**
 * The pairing check `e(sig, G2) == e(hm, pk)` on decoded points, as one product of two Miller
 * loops and one final exponentiation: `e(−sig, G2)·e(hm, pk) == 1`. Identity inputs fail.
 */
export function pairingCheck(sig: G1Point, hm: G1Point, pk: G2Point): boolean {
  if (sig.is0() || hm.is0() || pk.is0()) return false;
  stats.pairings++;
  g2BasePrecomputes ??= bls12_381.utils.calcPairingPrecomputes(G2.BASE);
  const s = sig.negate().toAffine();
  const h = hm.toAffine();
  const gt = Fp12.finalExponentiate(
    bls12_381.millerLoopBatch([
      [g2BasePrecomputes, s.x, s.y],
      [bls12_381.utils.calcPairingPrecomputes(pk), h.x, h.y],
    ]),
  );
  return Fp12.eql(gt, Fp12.ONE);
}

/**
 * Verify one signature on decoded points (§2.3 *Verify*). This is the single check that callers
 * MUST use for a second, different signature on one (RB, seat) (§2.3 batch caveat).
 *
 * @example
 * ```ts
 * const ok = verifySingle(seatKey, voteMessage(rbHash), decodeSignature(sigBytes));
 * ```
 */
export function verifySingle(pk: G2Point, msg: Uint8Array, sig: G1Point, dst: string = SIG_DST): boolean {
  return pairingCheck(sig, hashToG1(msg, dst), pk);
}

/**
 * Verify from bytes: false for any decode failure or a failing pairing check. Never throws.
 *
 * @example
 * ```ts
 * blsVerify(pkBytes, msg, sigBytes) // boolean
 * ```
 */
export function blsVerify(pk: Uint8Array | G2Point, msg: Uint8Array, sig: Uint8Array | G1Point, dst = SIG_DST): boolean {
  try {
    const P = pk instanceof Uint8Array ? decodePublicKey(pk) : pk;
    const S = sig instanceof Uint8Array ? decodeSignature(sig) : sig;
    return verifySingle(P, msg, S, dst);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
}

/**
 * Proof of possession: `sk·H_POP(pk_bytes)` with the PoP DST over the 96-byte key (§2.3, §2.4).
 *
 * @example
 * ```ts
 * const pop = popProve(secretKey); // 48 bytes
 * ```
 */
export function popProve(secretKey: Uint8Array): Uint8Array {
  return blsSign(secretKey, blsPublicKey(secretKey), POP_DST);
}

/**
 * Whether `pop` proves possession of `pk` (both strictly decoded; false on any failure). A key
 * is *registered* only if this holds (§2.3).
 *
 * @example
 * ```ts
 * if (!popVerify(vk, pop)) seatIsKeyless = true;
 * ```
 */
export function popVerify(pk: Uint8Array, pop: Uint8Array): boolean {
  return blsVerify(pk, pk, pop, POP_DST);
}

// ---------------------------------------------------------------------------------------------
// Aggregation: plain sums; an identity sum is invalid (§2.3).

/**
 * Sum of G1 points; throws {@link CryptoError} for an empty list or an identity sum.
 *
 * @example
 * ```ts
 * const agg = aggregateSignatures(sigs);
 * ```
 */
export function aggregateSignatures(sigs: readonly G1Point[]): G1Point {
  if (sigs.length === 0) throw new CryptoError('bls.aggregate_signature', 'empty');
  let acc = G1.ZERO;
  for (const s of sigs) acc = acc.add(s);
  if (acc.is0()) throw new CryptoError('bls.aggregate_signature', 'identity sum');
  return acc;
}

/**
 * Sum of G2 points; throws {@link CryptoError} for an empty list or an identity sum.
 *
 * @example
 * ```ts
 * const aggPk = aggregatePublicKeys(keys);
 * ```
 */
export function aggregatePublicKeys(pks: readonly G2Point[]): G2Point {
  if (pks.length === 0) throw new CryptoError('bls.aggregate_public_key', 'empty');
  let acc = G2.ZERO;
  for (const p of pks) acc = acc.add(p);
  if (acc.is0()) throw new CryptoError('bls.aggregate_public_key', 'identity sum');
  return acc;
}

// ---------------------------------------------------------------------------------------------

/**
 * A bounded cache of decoded public keys keyed by their bytes: committee keys arrive in every
 * certificate and vote, and decoding one (with its subgroup check) costs milliseconds. Failures
 * are cached too, so a peer repeating a bad key costs one decode. Least-recently-used eviction.
 *
 * @example
 * ```ts
 * const keys = new DecodedKeyCache(4096);
 * const pk = keys.get(voteKeyBytes); // throws BlsDecodeError if invalid
 * ```
 */
export class DecodedKeyCache {
  private readonly map = new Map<string, G2Point | BlsDecodeError>();
  constructor(readonly maxEntries = 4096) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be >= 1');
  }
  /** Number of cached entries. */
  get size(): number {
    return this.map.size;
  }
  /** The decoded key, decoding on a miss; throws the (cached) {@link BlsDecodeError} for bad bytes. */
  get(bytes: Uint8Array, what = 'bls_vk'): G2Point {
    const key = toHex(bytes);
    let v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
    } else {
      try {
        v = decodePublicKey(bytes, what);
      } catch (e) {
        if (!(e instanceof BlsDecodeError)) throw e;
        v = e;
      }
      if (this.map.size >= this.maxEntries) {
        const oldest = this.map.keys().next().value;
        if (oldest !== undefined) this.map.delete(oldest);
      }
    }
    this.map.set(key, v);
    if (v instanceof BlsDecodeError) throw v;
    return v;
  }
}
