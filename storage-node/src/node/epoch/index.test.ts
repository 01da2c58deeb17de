import { blake2b224, blsKeyGen, ed25519KeyFromSeed, popProve } from '@leios/shared/crypto';
import type { PoolInput } from '@leios/shared/protocol';
import type { PoolId } from '@leios/shared/types';
import { describe, expect, it } from 'vitest';
import { EpochState } from './index';

function pool(i: number, stake: bigint, opts: { badVrfPop?: boolean; voteKey?: boolean } = {}) {
  const cold = ed25519KeyFromSeed(new Uint8Array(32).fill(i));
  const vrf = blsKeyGen(new Uint8Array(32).fill(100 + i));
  const vote = blsKeyGen(new Uint8Array(32).fill(200 + i));
  const other = blsKeyGen(new Uint8Array(32).fill(50 + i));
  const p: PoolInput = {
    poolId: blake2b224(cold.publicKey) as PoolId,
    coldVk: cold.publicKey,
    stake,
    vrfKey: { vk: vrf.publicKey, pop: opts.badVrfPop ? popProve(other.secretKey) : popProve(vrf.secretKey) },
    voteKey: opts.voteKey === false ? null : { vk: vote.publicKey, pop: popProve(vote.secretKey) },
  };
  return { p, vrf, vote };
}

const params = { committeeSize: 2, quorum: { num: 3n, den: 4n }, activeSlotCoeff: { num: 1n, den: 2n } };

describe('EpochState', () => {
  it('seats the top-stake pools and applies a key registration two epochs later (§3.3a)', () => {
    const a = pool(1, 10n, { voteKey: false });
    const b = pool(2, 5n);
    const c = pool(3, 10n);
    const es = new EpochState({ pools: [a.p, b.p, c.p], params });
    const c0 = es.committee(0);
    expect(c0.size).toBe(2);
    expect(c0.totalStake).toBe(25n);
    const seatA = c0.seatOfPool(a.p.poolId)!;
    expect(c0.canSign(seatA)).toBe(false); // keyless
    const newKey = blsKeyGen(new Uint8Array(32).fill(77));
    es.addRegistrations([{ blockNo: 5, epoch: 1, poolId: a.p.poolId, voteKey: { vk: newKey.publicKey, pop: popProve(newKey.secretKey) } }]);
    expect(es.committee(2).canSign(es.committee(2).seatOfPool(a.p.poolId)!)).toBe(false);
    expect(es.committee(3).canSign(es.committee(3).seatOfPool(a.p.poolId)!)).toBe(true);
    // a registration with a bad PoP leaves the seat keyless
    es.addRegistrations([{ blockNo: 6, epoch: 2, poolId: a.p.poolId, voteKey: { vk: newKey.publicKey, pop: popProve(c.vote.secretKey) } }]);
    expect(es.committee(4).canSign(es.committee(4).seatOfPool(a.p.poolId)!)).toBe(false);
    // rolling back block 6 restores the epoch-3 key for epoch 4
    es.rollbackTo(5);
    expect(es.committee(4).canSign(es.committee(4).seatOfPool(a.p.poolId)!)).toBe(true);
    es.rollbackTo(0);
    expect(es.committee(4).canSign(es.committee(4).seatOfPool(a.p.poolId)!)).toBe(false);
  });

  it('follows the stake schedule', () => {
    const a = pool(1, 10n);
    const b = pool(2, 5n);
    const es = new EpochState({ pools: [a.p], stakeSchedule: [{ fromEpoch: 2, pools: [a.p, b.p] }], params });
    expect(es.pools(1).length).toBe(1);
    expect(es.pools(2).length).toBe(2);
    expect(es.leaderPool(5, b.p.poolId)?.totalStake).toBe(15n);
  });

  it('elects leaders at about rate f for sigma = 1, never a pool with a bad VRF PoP (§3.3, §3.5)', () => {
    const a = pool(1, 10n);
    const bad = pool(2, 10n, { badVrfPop: true });
    const solo = new EpochState({ pools: [a.p], params });
    const eta = new Uint8Array(32).fill(9);
    let wins = 0;
    for (let s = 0; s < 60; s++) {
      const w = solo.checkLeader(0, eta, s, a.p.poolId, a.vrf.secretKey);
      if (w) {
        wins++;
        expect(solo.isLeader(0, a.p.poolId, w.output)).toBe(true);
      }
    }
    // f = 1/2: 60 trials, P(outside [15, 45]) < 1e-4
    expect(wins).toBeGreaterThan(15);
    expect(wins).toBeLessThan(45);
    const es = new EpochState({ pools: [a.p, bad.p], params });
    for (let s = 0; s < 10; s++) expect(es.checkLeader(0, eta, s, bad.p.poolId, bad.vrf.secretKey)).toBeNull();
    expect(es.isLeader(0, new Uint8Array(28), new Uint8Array(32))).toBe(false);
  });
});
