/**
 * The exact bytes each BLS signature signs (PROTOCOL.md §2.4). All use the signing DST; their
 * first bytes differ (`58 20`, `"LEIOS-VRF"`, `"LEIOS-ELIG"`), so no message of one kind can be a
 * message of another.
 *
 * @module
 */
import { ascii, concatBytes, u64be } from '../../bytes/index';
import { CryptoError } from '../../errors/index';
import type { Hash32 } from '../../types/index';

const VOTE_PREFIX = new Uint8Array([0x58, 0x20]);
const VRF_PREFIX = ascii('LEIOS-VRF');
const ELIG_PREFIX = ascii('LEIOS-ELIG');

function check32(what: string, b: Uint8Array): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new CryptoError(what, 'expected 32 bytes');
}

/**
 * Vote message `58 20 || rb_hash`: the CBOR byte string of the announcing RB hash, 34 bytes
 * (§2.4, §6.2, §16 case 1).
 *
 * @example
 * ```ts
 * voteMessage(rbHash) // Uint8Array(34) [0x58, 0x20, ...rbHash]
 * ```
 */
export function voteMessage(rbHash: Hash32 | Uint8Array): Uint8Array {
  check32('vote.rb_hash', rbHash);
  return concatBytes(VOTE_PREFIX, rbHash);
}

/**
 * Leader VRF message `"LEIOS-VRF" || η || u64be(slot)` (49 bytes, §2.4, §3.5).
 *
 * @example
 * ```ts
 * vrfMessage(eta, 42) // 49 bytes
 * ```
 */
export function vrfMessage(eta: Uint8Array, slot: number | bigint): Uint8Array {
  check32('vrf.eta', eta);
  return concatBytes(VRF_PREFIX, eta, u64be(slot));
}

/**
 * Fait-accompli eligibility message `"LEIOS-ELIG" || η || u64be(election_id)` (50 bytes, §2.4,
 * §6.7; election id = slot of the announcing RB).
 *
 * @example
 * ```ts
 * eligibilityMessage(eta, rbSlot) // 50 bytes
 * ```
 */
export function eligibilityMessage(eta: Uint8Array, electionId: number | bigint): Uint8Array {
  check32('elig.eta', eta);
  return concatBytes(ELIG_PREFIX, eta, u64be(electionId));
}
