/**
 * Vote codec (PROTOCOL.md §6.2): `vote = [announcing_rb_hash: hash32, voter_id: uint .lt 65536,
 * signature: bls_sig]`, about 87 bytes.
 *
 * Primer: votes are small and numerous (up to 1,024 per LeiosNotify message, §10.1), and relays
 * re-diffuse them unchanged, so a decoded {@link Vote} keeps the exact bytes it came from (§1.3)
 * and is cheap: no signature decoding here. Signature checks (single or batched, §2.3) and the
 * acceptance rules of §6.3 need the committee of the RB's epoch and live with the committee /
 * crypto code; the signed message is {@link voteMessage} from the BLS module.
 *
 * @module
 */
import { toHex } from '../../bytes/index';
import { type CborReader, CborWriter, decodeStrict } from '../../cbor/index';
import { BLS_SIG_LENGTH, blsSign, voteMessage } from '../../crypto/bls/index';
import { DecodeError, ValidationError } from '../../errors/index';
import type { Hash32, SeatIndex } from '../../types/index';

/** Largest canonical vote: 1 (array) + 34 (hash) + 3 (uint16 head) + 50 (signature). */
export const MAX_VOTE_SIZE = 88;
/** Voter ids are `uint .lt 65536` (§6.2). */
export const MAX_VOTER_ID = 65_535;

/** A decoded vote; `bytes` is the exact received (or encoded) CBOR of the vote. */
export interface Vote {
  readonly rbHash: Hash32;
  readonly voterId: SeatIndex;
  /** 48-byte compressed G1 signature over `58 20 || rbHash`, not yet decoded. */
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
}

/**
 * Read one vote at the reader's position (inside `[+ vote]` lists of §10.1 / §12), keeping its
 * byte span. Throws {@link DecodeError}.
 *
 * @example
 * ```ts
 * const n = r.readArray('votes', { min: 1, max: 1024 });
 * for (let i = 0; i < n; i++) votes.push(readVote(r, `votes[${i}]`));
 * ```
 */
export function readVote(r: CborReader, path = 'vote'): Vote {
  const start = r.pos;
  r.readArray(path, { len: 3 });
  const rbHash = r.readBytes(`${path}.announcing_rb_hash`, { len: 32 }) as Hash32;
  const voterId = r.readUint(`${path}.voter_id`, MAX_VOTER_ID) as SeatIndex;
  const signature = r.readBytes(`${path}.signature`, { len: BLS_SIG_LENGTH });
  return { rbHash, voterId, signature, bytes: r.bytes.subarray(start, r.pos) };
}

/**
 * Decode a standalone vote (at most {@link MAX_VOTE_SIZE} bytes, canonical, nothing trailing).
 *
 * @example
 * ```ts
 * const v = decodeVote(bytes); // v.bytes === bytes
 * ```
 */
export function decodeVote(bytes: Uint8Array): Vote {
  if (bytes.length > MAX_VOTE_SIZE) throw new DecodeError('vote', 'limit', `vote of ${bytes.length} bytes > ${MAX_VOTE_SIZE}`, 0);
  const v = decodeStrict(bytes, 'vote', (r) => readVote(r));
  // the whole input is the vote: keep the caller's array itself as the received bytes
  return { ...v, bytes };
}

/**
 * Canonical encoding of a vote.
 *
 * @example
 * ```ts
 * const bytes = encodeVote({ rbHash, voterId: 3, signature });
 * ```
 */
export function encodeVote(v: { rbHash: Uint8Array; voterId: number; signature: Uint8Array }): Uint8Array {
  if (v.rbHash.length !== 32) throw new ValidationError('vote.announcing_rb_hash', 'expected 32 bytes');
  if (!Number.isSafeInteger(v.voterId) || v.voterId < 0 || v.voterId > MAX_VOTER_ID) {
    throw new ValidationError('vote.voter_id', `expected 0..${MAX_VOTER_ID}, got ${v.voterId}`);
  }
  if (v.signature.length !== BLS_SIG_LENGTH) throw new ValidationError('vote.signature', `expected ${BLS_SIG_LENGTH} bytes`);
  return new CborWriter(MAX_VOTE_SIZE).array(3).bytes(v.rbHash).uint(v.voterId).bytes(v.signature).finish();
}

/**
 * Sign and encode a vote for the RB with hash `rbHash` from seat `voterId` (§6.2: the signature is
 * over {@link voteMessage}). The §6.4 voting rule is the caller's.
 *
 * @example
 * ```ts
 * const vote = createVote(voteSecretKey, header.hash, mySeat);
 * ```
 */
export function createVote(voteSecretKey: Uint8Array, rbHash: Hash32 | Uint8Array, voterId: number): Vote {
  const signature = blsSign(voteSecretKey, voteMessage(rbHash));
  const bytes = encodeVote({ rbHash, voterId, signature });
  return decodeVote(bytes);
}

/**
 * The trace id of a vote, `"<rb_hash_hex>:<voter_id>"` (§14.1), also a natural dedup key
 * for (RB, seat) (§6.3, §10.4).
 *
 * @example
 * ```ts
 * voteId(v) // 'ab12…:7'
 * ```
 */
export function voteId(v: Pick<Vote, 'rbHash' | 'voterId'>): string {
  return `${toHex(v.rbHash)}:${v.voterId}`;
}
