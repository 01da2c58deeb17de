/**
 * Codecs of fait-accompli votes and certificates (PROTOCOL.md §6.7 CDDL).
 *
 * ```cddl
 * fa_vote = [0, rb_hash: hash32, seat: uint .lt 65536, signature: bls_sig]                  ; persistent
 *         / [1, rb_hash: hash32, pool_id: hash28, elig_sig: bls_sig, signature: bls_sig]    ; non-persistent
 * fa_certificate = [election_id: uint, eb_hash: hash32, persistent_signers: bytes,
 *                   nonpersistent: { * hash28 => bls_sig }, signature: bls_sig]
 * ```
 *
 * Primer: same discipline as the top-stake vote and certificate codecs: strict canonical CBOR
 * through {@link CborReader}, every length capped before anything is read into memory, decoded
 * objects keep their exact received bytes (§1.3), and signatures stay bytes until verified. The
 * two vote shapes are told apart by the leading tag and must have the matching length. The
 * certificate map's keys must be strictly ascending (bytewise; all keys are 28-byte strings, so
 * this is also the order of their encodings): a repeat is `duplicate-key`, a descent `key-order`.
 *
 * @module
 */
import { compareBytes, toHex } from '../../bytes/index';
import { type CborReader, CborWriter, decodeStrict } from '../../cbor/index';
import { BLS_SIG_LENGTH, blsSign, voteMessage } from '../../crypto/index';
import { DecodeError, ValidationError } from '../../errors/index';
import type { Hash32, PoolId, SeatIndex, Slot } from '../../types/index';
import { MAX_SIGNERS_LENGTH } from '../certificate/index';

/** Largest canonical persistent vote: 1 (array) + 1 (tag) + 34 (hash) + 3 (uint16) + 50 (signature). */
export const MAX_FA_PERSISTENT_VOTE_SIZE = 89;
/** Largest canonical fa_vote (non-persistent): 1 + 1 + 34 + 30 (pool id) + 50 + 50. */
export const MAX_FA_VOTE_SIZE = 166;
/** Persistent seats are `uint .lt 65536`. */
export const MAX_FA_SEAT = 65_535;
/**
 * Cap on `nonpersistent` entries. Each listed pool holds >= 1 of about n2 <= FA_N <= 65,536 expected
 * seats; the builder never lists more, and at 80 bytes an entry this is far above any RB body.
 */
export const MAX_FA_NONPERSISTENT = 65_536;

/** A persistent vote `[0, rb_hash, seat, signature]`. */
export interface FaPersistentVote {
  readonly kind: 'persistent';
  readonly rbHash: Hash32;
  readonly seat: SeatIndex;
  /** 48-byte G1 signature over `58 20 || rbHash`, not yet decoded. */
  readonly signature: Uint8Array;
  /** The exact CBOR bytes of the vote. */
  readonly bytes: Uint8Array;
}

/** A non-persistent vote `[1, rb_hash, pool_id, elig_sig, signature]`. */
export interface FaNonPersistentVote {
  readonly kind: 'nonpersistent';
  readonly rbHash: Hash32;
  readonly poolId: PoolId;
  /** 48-byte eligibility signature over `"LEIOS-ELIG" || η || u64be(election_id)`. */
  readonly eligSig: Uint8Array;
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
}

/** A decoded `fa_vote`. */
export type FaVote = FaPersistentVote | FaNonPersistentVote;

/** One `nonpersistent` entry of a certificate: pool id => eligibility signature. */
export interface FaEligibilityEntry {
  readonly poolId: PoolId;
  readonly eligSig: Uint8Array;
}

/** A decoded `fa_certificate`; `bytes` are its exact CBOR bytes. */
export interface FaCertificate {
  /** Election id = slot of the announcing RB (the CertRB's parent). */
  readonly electionId: Slot;
  readonly ebHash: Hash32;
  /** `ceil(n1/8)` bytes, §6.5 bitfield over the persistent seats (length checked on verify). */
  readonly persistentSigners: Uint8Array;
  /** Strictly ascending by pool id. */
  readonly nonpersistent: readonly FaEligibilityEntry[];
  /** 48-byte aggregate of all vote signatures. */
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// fa_vote

/**
 * Read one `fa_vote` at the reader's position, keeping its byte span. Throws {@link DecodeError}.
 *
 * @example
 * ```ts
 * const v = readFaVote(r, `votes[${i}]`);
 * if (v.kind === 'persistent') v.seat; else v.poolId;
 * ```
 */
export function readFaVote(r: CborReader, path = 'fa_vote'): FaVote {
  const start = r.pos;
  const n = r.readArray(path, { min: 4, max: 5 });
  const tag = r.readUint(`${path}.tag`, 1);
  if (n !== 4 + tag) r.fail(path, 'limit', `fa_vote with tag ${tag} must have ${4 + tag} elements, got ${n}`, start);
  const rbHash = r.readBytes(`${path}.rb_hash`, { len: 32 }) as Hash32;
  if (tag === 0) {
    const seat = r.readUint(`${path}.seat`, MAX_FA_SEAT) as SeatIndex;
    const signature = r.readBytes(`${path}.signature`, { len: BLS_SIG_LENGTH });
    return { kind: 'persistent', rbHash, seat, signature, bytes: r.bytes.subarray(start, r.pos) };
  }
  const poolId = r.readBytes(`${path}.pool_id`, { len: 28 }) as PoolId;
  const eligSig = r.readBytes(`${path}.elig_sig`, { len: BLS_SIG_LENGTH });
  const signature = r.readBytes(`${path}.signature`, { len: BLS_SIG_LENGTH });
  return { kind: 'nonpersistent', rbHash, poolId, eligSig, signature, bytes: r.bytes.subarray(start, r.pos) };
}

/**
 * Decode a standalone `fa_vote` (at most {@link MAX_FA_VOTE_SIZE} bytes, canonical, nothing
 * trailing); `bytes` is the caller's array itself.
 *
 * @example
 * ```ts
 * const v = decodeFaVote(bytes);
 * ```
 */
export function decodeFaVote(bytes: Uint8Array): FaVote {
  if (bytes.length > MAX_FA_VOTE_SIZE) {
    throw new DecodeError('fa_vote', 'limit', `fa_vote of ${bytes.length} bytes > ${MAX_FA_VOTE_SIZE}`, 0);
  }
  const v = decodeStrict(bytes, 'fa_vote', (r) => readFaVote(r));
  return { ...v, bytes };
}

/** Fields of a vote to encode (without `bytes`). */
export type FaVoteFields =
  | { readonly kind: 'persistent'; readonly rbHash: Uint8Array; readonly seat: number; readonly signature: Uint8Array }
  | {
      readonly kind: 'nonpersistent';
      readonly rbHash: Uint8Array;
      readonly poolId: Uint8Array;
      readonly eligSig: Uint8Array;
      readonly signature: Uint8Array;
    };

function checkLen(field: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new ValidationError(field, `expected ${n} bytes`);
}

/**
 * Canonical encoding of an `fa_vote` of either shape. Throws {@link ValidationError}.
 *
 * @example
 * ```ts
 * encodeFaVote({ kind: 'persistent', rbHash, seat: 0, signature }) // 82..89 bytes
 * ```
 */
export function encodeFaVote(v: FaVoteFields): Uint8Array {
  checkLen('fa_vote.rb_hash', v.rbHash, 32);
  checkLen('fa_vote.signature', v.signature, BLS_SIG_LENGTH);
  const w = new CborWriter(MAX_FA_VOTE_SIZE);
  if (v.kind === 'persistent') {
    if (!Number.isSafeInteger(v.seat) || v.seat < 0 || v.seat > MAX_FA_SEAT) {
      throw new ValidationError('fa_vote.seat', `expected 0..${MAX_FA_SEAT}, got ${v.seat}`);
    }
    return w.array(4).uint(0).bytes(v.rbHash).uint(v.seat).bytes(v.signature).finish();
  }
  checkLen('fa_vote.pool_id', v.poolId, 28);
  checkLen('fa_vote.elig_sig', v.eligSig, BLS_SIG_LENGTH);
  return w.array(5).uint(1).bytes(v.rbHash).bytes(v.poolId).bytes(v.eligSig).bytes(v.signature).finish();
}

/**
 * Sign and encode a persistent vote from seat `seat` (< n1) for the RB `rbHash`.
 *
 * @example
 * ```ts
 * const v = createPersistentFaVote(voteSk, header.hash, committee.seatOfPool(me)!);
 * ```
 */
export function createPersistentFaVote(voteSecretKey: Uint8Array, rbHash: Hash32 | Uint8Array, seat: number): FaPersistentVote {
  const signature = blsSign(voteSecretKey, voteMessage(rbHash));
  return decodeFaVote(encodeFaVote({ kind: 'persistent', rbHash, seat, signature })) as FaPersistentVote;
}

/**
 * Sign and encode a non-persistent vote for the RB `rbHash`, carrying the pool's eligibility
 * signature for the RB's slot (see `faLocalSortition`; only a pool with k >= 1 votes).
 *
 * @example
 * ```ts
 * const v = createNonPersistentFaVote(voteSk, header.hash, myPoolId, sortition.eligSig);
 * ```
 */
export function createNonPersistentFaVote(
  voteSecretKey: Uint8Array,
  rbHash: Hash32 | Uint8Array,
  poolId: PoolId | Uint8Array,
  eligSig: Uint8Array,
): FaNonPersistentVote {
  const signature = blsSign(voteSecretKey, voteMessage(rbHash));
  return decodeFaVote(encodeFaVote({ kind: 'nonpersistent', rbHash, poolId, eligSig, signature })) as FaNonPersistentVote;
}

/**
 * Dedup / trace key of a vote: `"<rb_hash_hex>:<seat>"` for a persistent vote (as top-stake),
 * `"<rb_hash_hex>:<pool_id_hex>"` for a non-persistent one (§6.7: deduplicated per (RB, pool)).
 *
 * @example
 * ```ts
 * faVoteId(v) // 'ab12…:3' or 'ab12…:0f9e…'
 * ```
 */
export function faVoteId(v: FaVoteFields): string {
  return `${toHex(v.rbHash)}:${v.kind === 'persistent' ? v.seat : toHex(v.poolId)}`;
}

// ---------------------------------------------------------------------------------------------
// fa_certificate

/**
 * Read one `fa_certificate` at the reader's position, keeping its raw bytes. Throws
 * {@link DecodeError}.
 *
 * @example
 * ```ts
 * const cert = readFaCertificate(r, 'rb_body.certificate');
 * ```
 */
export function readFaCertificate(r: CborReader, path = 'fa_certificate'): FaCertificate {
  const start = r.pos;
  r.readArray(path, { len: 5 });
  const electionId = r.readUint(`${path}.election_id`) as Slot;
  const ebHash = r.readBytes(`${path}.eb_hash`, { len: 32 }) as Hash32;
  const persistentSigners = r.readBytes(`${path}.persistent_signers`, { max: MAX_SIGNERS_LENGTH });
  const mpath = `${path}.nonpersistent`;
  const n = r.readMap(mpath, { max: MAX_FA_NONPERSISTENT });
  const nonpersistent: FaEligibilityEntry[] = [];
  let prev: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const poolId = r.readBytes(`${mpath}{${i}}`, { len: 28 }) as PoolId;
    if (prev) {
      const c = compareBytes(prev, poolId);
      if (c === 0) r.fail(`${mpath}{${i}}`, 'duplicate-key', 'duplicate pool id', at);
      if (c > 0) r.fail(`${mpath}{${i}}`, 'key-order', 'pool ids must be strictly ascending', at);
    }
    prev = poolId;
    const eligSig = r.readBytes(`${mpath}{${i}}.elig_sig`, { len: BLS_SIG_LENGTH });
    nonpersistent.push({ poolId, eligSig });
  }
  const signature = r.readBytes(`${path}.signature`, { len: BLS_SIG_LENGTH });
  return { electionId, ebHash, persistentSigners, nonpersistent, signature, bytes: r.bytes.subarray(start, r.pos) };
}

/**
 * Strictly decode a standalone `fa_certificate` (canonical, nothing trailing).
 *
 * @example
 * ```ts
 * const cert = decodeFaCertificate(bytes);
 * ```
 */
export function decodeFaCertificate(bytes: Uint8Array, path = 'fa_certificate'): FaCertificate {
  const c = decodeStrict(bytes, path, (r) => readFaCertificate(r, path));
  return { ...c, bytes };
}

/** Fields of a certificate to encode (without `bytes`). */
export interface FaCertificateFields {
  readonly electionId: number;
  readonly ebHash: Uint8Array;
  readonly persistentSigners: Uint8Array;
  readonly nonpersistent: ReadonlyArray<{ readonly poolId: Uint8Array; readonly eligSig: Uint8Array }>;
  readonly signature: Uint8Array;
}

/**
 * Canonical encoding of an `fa_certificate`. `nonpersistent` must already be strictly ascending
 * by pool id. Throws {@link ValidationError}.
 *
 * @example
 * ```ts
 * encodeFaCertificate({ electionId: rb.slot, ebHash, persistentSigners, nonpersistent, signature })
 * ```
 */
export function encodeFaCertificate(c: FaCertificateFields): Uint8Array {
  if (!Number.isSafeInteger(c.electionId) || c.electionId < 0) {
    throw new ValidationError('fa_certificate.election_id', `expected a slot, got ${c.electionId}`);
  }
  checkLen('fa_certificate.eb_hash', c.ebHash, 32);
  checkLen('fa_certificate.signature', c.signature, BLS_SIG_LENGTH);
  if (c.persistentSigners.length > MAX_SIGNERS_LENGTH) {
    throw new ValidationError('fa_certificate.persistent_signers', `longer than ${MAX_SIGNERS_LENGTH} bytes`);
  }
  if (c.nonpersistent.length > MAX_FA_NONPERSISTENT) {
    throw new ValidationError('fa_certificate.nonpersistent', `more than ${MAX_FA_NONPERSISTENT} entries`);
  }
  const w = new CborWriter(128 + c.persistentSigners.length + 80 * c.nonpersistent.length);
  w.array(5).uint(c.electionId).bytes(c.ebHash).bytes(c.persistentSigners).map(c.nonpersistent.length);
  c.nonpersistent.forEach((e, i) => {
    checkLen(`fa_certificate.nonpersistent{${i}}`, e.poolId, 28);
    checkLen(`fa_certificate.nonpersistent{${i}}.elig_sig`, e.eligSig, BLS_SIG_LENGTH);
    if (i > 0 && compareBytes(c.nonpersistent[i - 1]!.poolId, e.poolId) >= 0) {
      throw new ValidationError(`fa_certificate.nonpersistent{${i}}`, 'pool ids must be strictly ascending');
    }
    w.bytes(e.poolId).bytes(e.eligSig);
  });
  return w.bytes(c.signature).finish();
}
