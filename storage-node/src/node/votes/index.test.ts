import { toHex } from '@leios/shared/bytes';
import { blake2b224, blake2b256, blsKeyGen, blsSign, popProve, voteMessage } from '@leios/shared/crypto';
import { buildTopStakeCommittee, encodeVote, type PoolInput } from '@leios/shared/protocol';
import type { Hash32, PoolId } from '@leios/shared/types';
import { describe, expect, it } from 'vitest';
import { decodeVote } from '../blocks';
import { VotePool } from './index';

// four pools, stakes 4, 3, 2, 1 (seat = rank); pool 3 is keyless
const keys = [0, 1, 2, 3].map((i) => blsKeyGen(new Uint8Array(32).fill(10 + i)));
const pools: PoolInput[] = keys.map((k, i) => ({
  poolId: blake2b224(new Uint8Array([i])) as PoolId,
  coldVk: new Uint8Array(32).fill(i),
  stake: BigInt(4 - i),
  vrfKey: { vk: k.publicKey, pop: popProve(k.secretKey) },
  voteKey: i === 3 ? null : { vk: k.publicKey, pop: popProve(k.secretKey) },
}));
const committee = buildTopStakeCommittee(pools, { committeeSize: 4, quorum: { num: 3n, den: 4n } });
const rbA = blake2b256(new Uint8Array([1])) as Hash32;
const rbNoEb = blake2b256(new Uint8Array([2])) as Hash32;
const rbLater = blake2b256(new Uint8Array([3])) as Hash32;

const vote = (rb: Uint8Array, seat: number, signer = seat) => encodeVote({ rbHash: rb, voterId: seat, signature: blsSign(keys[signer]!.secretKey, voteMessage(rb)) });

function pool(now = { inWindow: true }) {
  const known = new Map<string, { slot: number; announcesEb: boolean }>([
    [toHex(rbA), { slot: 10, announcesEb: true }],
    [toHex(rbNoEb), { slot: 11, announcesEb: false }],
  ]);
  const p = new VotePool({
    decode: decodeVote,
    rb: (h) => known.get(toHex(h)),
    committeeForSlot: () => committee,
    inWindow: () => now.inWindow,
    bufferTtlMs: 400,
    bufferMax: 2,
  });
  return { p, known, now };
}

describe('VotePool (§6.3)', () => {
  it('accepts valid votes, reports quorum when τ·S is signed, and rejects by §12 type', () => {
    const { p } = pool();
    const r1 = p.receive([vote(rbA, 0), vote(rbNoEb, 1), vote(rbA, 7, 0), vote(rbA, 3), new Uint8Array([0x80])], 0);
    expect(r1.outcomes).toEqual(['accepted', 'no-eb', 'unknown-seat', 'keyless-seat', 'malformed']);
    expect(r1.accepted.length).toBe(1);
    const r2 = p.receive([vote(rbA, 1), vote(rbA, 0)], 1);
    expect(r2.outcomes).toEqual(['accepted', 'duplicate']);
    // S = 10, τ = 3/4: 4 + 3 = 7 < 7.5
    expect(p.hasQuorum(rbA)).toBe(false);
    expect(r2.quorum).toEqual([]);
    const r3 = p.receive([vote(rbA, 2)], 2);
    expect(r3.quorum.map((h) => toHex(h))).toEqual([toHex(rbA)]);
    expect(p.hasQuorum(rbA)).toBe(true);
    expect(p.tally(rbA)).toEqual({ weight: 9n, seats: 3 });
    expect(p.votesFor(rbA).map((v) => v.seat)).toEqual([0, 1, 2]);
  });

  it('finds the bad signatures of a batch (bisection) and keeps the good ones', () => {
    const { p } = pool();
    // seat 1's vote signed by seat 2's key: a bad signature for seat 1
    const r = p.receive([vote(rbA, 0), vote(rbA, 1, 2), vote(rbA, 2)], 0);
    expect(r.outcomes).toEqual(['accepted', 'bad-signature', 'accepted']);
    expect(p.has(rbA, 1)).toBe(false);
  });

  it('keeps the valid one of two different signatures for one (RB, seat) (§2.3 caveat)', () => {
    const { p } = pool();
    expect(p.receive([vote(rbA, 1)], 0).outcomes).toEqual(['accepted']);
    // a different (invalid) signature for the held seat is a conflict and changes nothing
    expect(p.receive([vote(rbA, 1, 0)], 1).outcomes).toEqual(['conflict']);
    expect(p.tally(rbA).weight).toBe(3n);
  });

  it('refuses votes outside the diffusion window', () => {
    const { p } = pool({ inWindow: false });
    expect(p.receive([vote(rbA, 0)], 0).outcomes).toEqual(['outside-window']);
  });

  it('buffers votes for an unknown RB (bounded) and takes them when its header arrives', () => {
    const { p, known } = pool();
    const r = p.receive([vote(rbLater, 0), vote(rbLater, 1), vote(rbLater, 2)], 0);
    expect(r.outcomes).toEqual(['buffered', 'buffered', 'unknown-rb']);
    expect(p.buffered).toBe(2);
    known.set(toHex(rbLater), { slot: 20, announcesEb: true });
    const later = p.onHeader(rbLater, 100);
    expect(later.outcomes).toEqual(['accepted', 'accepted']);
    expect(p.buffered).toBe(0);
    // expired buffered votes are dropped, not accepted
    const rb4 = blake2b256(new Uint8Array([4])) as Hash32;
    p.receive([vote(rb4, 0)], 1000);
    known.set(toHex(rb4), { slot: 30, announcesEb: true });
    expect(p.onHeader(rb4, 2000).outcomes).toEqual([]);
  });
});
