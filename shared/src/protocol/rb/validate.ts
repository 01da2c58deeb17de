/**
 * RB header and body validity (PROTOCOL.md §4.1, §4.2, §7.2, §10.4).
 *
 * Primer: header checks split in two. {@link validateHeaderStateless} needs only the pool snapshot
 * of `epoch(slot)` and the clock: it is what a relay runs before forwarding a BlockAnnouncement
 * (§10.4) and what a node runs before anything else. {@link validateHeaderAgainstParent} needs the
 * parent header (chain state): block number, prev hash, slot order and the §7.2 certificate rule.
 * Checks run cheapest first (sizes and arithmetic, then the BigInt leader check, then Ed25519, then
 * the BLS pairing of the VRF proof), so a flood of junk headers costs little.
 *
 * Every failure is a {@link ValidationError} whose `field` names the header field at fault.
 *
 * @module
 */
import { bytesEqual } from '../../bytes/index';
import { blake2b224 } from '../../crypto/blake2b';
import { isLeader, leaderThresholdConstant, vrfVerify } from '../../crypto/bls/index';
import { ed25519Verify } from '../../crypto/ed25519';
import { ValidationError } from '../../errors/index';
import type { PoolSnapshot } from '../genesis/snapshot';
import type { ProtocolParams, Rational } from '../params/index';
import { canCertify, epochOfSlot, latestAcceptableSlot, type SlotClock } from '../timing/index';
import type { RbBody, RbHeader } from './index';

/** Parameters header validation reads. */
export type HeaderParams = Pick<
  ProtocolParams,
  'maxRbBodySize' | 'maxEbSize' | 'maxSkewMs' | 'epochLength' | 'activeSlotCoeff' | 'lHdr' | 'lVote' | 'lDiff'
>;

/** What {@link validateHeaderStateless} needs besides the header. */
export interface HeaderContext {
  /** The pool snapshot (with η) of `epoch(header.slot)`. */
  readonly snapshot: PoolSnapshot;
  readonly params: HeaderParams;
  readonly clock: SlotClock;
  /** Local wall-clock time of receipt, ms since the Unix epoch. */
  readonly nowMs: number;
}

const leaderConstants = new Map<string, Rational>();
/** §3.5 step 1 constant C, once per f (it is a long exact series). */
function leaderConstant(f: Rational): Rational {
  const key = `${f.num}/${f.den}`;
  let c = leaderConstants.get(key);
  if (c === undefined) {
    c = leaderThresholdConstant(f);
    leaderConstants.set(key, c);
  }
  return c;
}

const fail = (field: string, detail: string): never => {
  throw new ValidationError(`rb_header.${field}`, detail);
};

/**
 * The §4.1 checks that need no parent state (§10.4): `prev_hash` null iff block 1; slot not in
 * the future (`slot <= slot(now + MAX_SKEW)`); `body_size <= S_RB`; announced `eb_size` in
 * `1..S_EB`; `issuer_pool_id = H224(issuer_cold_vk)` and the pool is in the snapshot of
 * `epoch(slot)` with that cold key; the leader check of §3.5 on `output`; the Ed25519 signature
 * over `8A || first ten fields`; `output = H256(proof)` and the proof verifies under the pool's
 * registered VRF key. Canonical encoding and MAX_HEADER were enforced by the decoder.
 * Throws {@link ValidationError}.
 *
 * @example
 * ```ts
 * validateHeaderStateless(header, { snapshot, params, clock, nowMs: Date.now() });
 * ```
 */
export function validateHeaderStateless(h: RbHeader, ctx: HeaderContext): void {
  const { params: p, snapshot } = ctx;
  if ((h.prevHash === null) !== (h.blockNumber === 1)) fail('prev_hash', 'must be null if and only if block_number = 1');
  if (h.blockNumber < 1) fail('block_number', 'the first block has number 1');
  if (h.slot > latestAcceptableSlot(ctx.clock, ctx.nowMs, p.maxSkewMs)) fail('slot', `slot ${h.slot} is in the future`);
  if (h.bodySize > p.maxRbBodySize) fail('body_size', `${h.bodySize} > S_RB ${p.maxRbBodySize}`);
  if (h.ebAnnouncement !== null && (h.ebAnnouncement.ebSize < 1 || h.ebAnnouncement.ebSize > p.maxEbSize)) {
    fail('eb_announcement.eb_size', `must be in 1..${p.maxEbSize}, got ${h.ebAnnouncement.ebSize}`);
  }
  if (epochOfSlot(h.slot, p.epochLength) !== snapshot.epoch) {
    // a caller bug, but never accept a header checked against the wrong stake distribution
    fail('slot', `snapshot is for epoch ${snapshot.epoch}, header is in epoch ${epochOfSlot(h.slot, p.epochLength)}`);
  }
  if (!bytesEqual(h.issuerPoolId, blake2b224(h.issuerColdVk))) fail('issuer_pool_id', 'must equal H224(issuer_cold_vk)');
  const pool = snapshot.pool(h.issuerPoolId);
  if (pool === undefined) fail('issuer_pool_id', 'not a pool of the epoch snapshot');
  else if (!bytesEqual(pool.coldVk, h.issuerColdVk)) fail('issuer_cold_vk', 'differs from the pool cold key');
  const stake = pool?.stake ?? 0n;
  if (!isLeader(h.vrfOutput, stake, snapshot.totalStake, leaderConstant(p.activeSlotCoeff))) {
    fail('leader_vrf.output', 'the pool is not leader in this slot (§3.5)');
  }
  if (!ed25519Verify(h.signature, h.signedBytes(), h.issuerColdVk)) fail('signature', 'does not verify');
  const vrfKey = snapshot.leaderVrfKey(h.issuerPoolId);
  if (vrfKey === null) fail('leader_vrf', 'the pool has no registered VRF key (PoP fails)');
  else if (!vrfVerify(vrfKey, snapshot.nonce, h.slot, h.vrfProof, h.vrfOutput)) {
    fail('leader_vrf', 'output is not H256(proof) or the proof does not verify');
  }
}

/**
 * The §4.1 / §7.2 checks against the parent header (`null` = origin: the block must be number 1):
 * `block_number = parent + 1`, `prev_hash = H(parent)`, `slot > parent slot`, and `certified_eb`
 * only if the parent announces an EB and `slot >= parent slot + 3·L_hdr + L_vote + L_diff`
 * (§16 case 22: a certificate at s + 13, or for a grandparent's EB, is invalid).
 * Throws {@link ValidationError}.
 *
 * @example
 * ```ts
 * validateHeaderAgainstParent(header, tipHeader, params);
 * ```
 */
export function validateHeaderAgainstParent(
  h: RbHeader,
  parent: Pick<RbHeader, 'hash' | 'blockNumber' | 'slot' | 'ebAnnouncement'> | null,
  p: Pick<ProtocolParams, 'lHdr' | 'lVote' | 'lDiff'>,
): void {
  if (parent === null) {
    if (h.blockNumber !== 1) fail('block_number', `must be 1 on origin, got ${h.blockNumber}`);
    if (h.prevHash !== null) fail('prev_hash', 'must be null for block 1');
    if (h.certifiedEb) fail('certified_eb', 'block 1 has no parent EB to certify');
    return;
  }
  if (h.blockNumber !== parent.blockNumber + 1) fail('block_number', `must be ${parent.blockNumber + 1}, got ${h.blockNumber}`);
  if (h.prevHash === null || !bytesEqual(h.prevHash, parent.hash)) fail('prev_hash', 'is not the parent hash');
  if (h.slot <= parent.slot) fail('slot', `must exceed the parent slot ${parent.slot}`);
  if (h.certifiedEb) {
    if (parent.ebAnnouncement === null) fail('certified_eb', 'the parent announces no EB');
    if (!canCertify(parent.slot, h.slot, p)) {
      fail('certified_eb', `a certificate needs slot >= ${parent.slot + 3 * p.lHdr + p.lVote + p.lDiff} (§7.2)`);
    }
  }
}

/**
 * Body validity against its header (§4.2): `H256(body) = body_hash`, `len(body) = body_size`,
 * `certified_eb` ⇔ `certificate != null`, and a CertRB carries no txs (§16 case 23). Applying the
 * txs / closure is the ledger's. Throws {@link ValidationError}.
 *
 * @example
 * ```ts
 * validateBody(block.header, block.body);
 * ```
 */
export function validateBody(h: Pick<RbHeader, 'bodyHash' | 'bodySize' | 'certifiedEb'>, body: RbBody): void {
  if (body.bytes.length !== h.bodySize) {
    throw new ValidationError('rb_body', `length ${body.bytes.length} differs from body_size ${h.bodySize}`);
  }
  if (!bytesEqual(body.hash, h.bodyHash)) throw new ValidationError('rb_body', 'H256(body) differs from body_hash');
  if (h.certifiedEb !== (body.certificate !== null)) {
    throw new ValidationError('rb_body.certificate', h.certifiedEb ? 'certified_eb is set but the body has no certificate' : 'a certificate requires certified_eb');
  }
  if (body.certificate !== null && body.txs.length > 0) throw new ValidationError('rb_body.txs', 'a CertRB carries no txs');
}
