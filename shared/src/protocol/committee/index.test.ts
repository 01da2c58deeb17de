import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, toHex } from '../../bytes/index';
import { blsKeyGen, blsStats, DecodedKeyCache, PopCache, popProve } from '../../crypto/bls/index';
import { ValidationError } from '../../errors/index';
import type { PoolId } from '../../types/index';
import { buildTopStakeCommittee, type PoolInput } from './index';

const TAU = { num: 3n, den: 4n };

function poolId(...bytes: number[]): PoolId {
  const id = new Uint8Array(28);
  id.set(bytes);
  return id as PoolId;
}

const KEYS = Array.from({ length: 4 }, (_, i) => {
  const k = blsKeyGen(new Uint8Array(32).fill(0x70 + i));
  return { ...k, pop: popProve(k.secretKey) };
});
const VRF = { vk: KEYS[0]!.publicKey, pop: KEYS[0]!.pop };

function pool(id: PoolId, stake: bigint, key: number | null): PoolInput {
  const k = key === null ? null : KEYS[key]!;
  return { poolId: id, coldVk: new Uint8Array(32), stake, vrfKey: VRF, voteKey: k && { vk: k.publicKey, pop: k.pop } };
}

describe('top-stake committee (PROTOCOL.md §6.1)', () => {
  it('§16 case 16: stakes 10, 10, 5 with N_c = 2 seat the two stake-10 pools, lower pool id first', () => {
    const a = poolId(0x02);
    const b = poolId(0x01, 0xff);
    const c = poolId(0x00);
    const pools = [pool(a, 10n, 0), pool(c, 5n, 1), pool(b, 10n, 2)];
    const committee = buildTopStakeCommittee(pools, { committeeSize: 2, quorum: TAU });
    expect(committee.size).toBe(2);
    expect(toHex(committee.seat(0)!.poolId)).toBe(toHex(b));
    expect(toHex(committee.seat(1)!.poolId)).toBe(toHex(a));
    expect(committee.seat(0)!.voteKey!.equals(KEYS[2]!.publicPoint)).toBe(true);
    expect(committee.seat(1)!.stake).toBe(10n);
    expect(committee.seat(2)).toBeUndefined();
    expect(committee.seatOfPool(a)).toBe(1);
    expect(committee.seatOfPool(c)).toBeUndefined();
    // S counts every pool, including the unseated one
    expect(committee.totalStake).toBe(25n);
    expect(committee.signersLength).toBe(1);
  });

  it('§16 case 16: N_c above the count of staked pools gives one seat each and ceil(count/8) bitfield bytes', () => {
    const pools = Array.from({ length: 11 }, (_, i) => pool(poolId(i), i === 3 ? 0n : BigInt(100 + i), null));
    const c = buildTopStakeCommittee(pools, { committeeSize: 64, quorum: TAU });
    expect(c.size).toBe(10); // the zero-stake pool gets no seat
    expect(c.signersLength).toBe(2);
    expect(c.seatOfPool(poolId(3))).toBeUndefined();
    expect(c.seats.map((s) => s.stake)).toEqual([110n, 109n, 108n, 107n, 106n, 105n, 104n, 102n, 101n, 100n]);
    const eight = buildTopStakeCommittee(pools.slice(0, 9), { committeeSize: 64, quorum: TAU });
    expect(eight.size).toBe(8);
    expect(eight.signersLength).toBe(1);
  });

  it('keyless seats: no key, undecodable key, failing PoP; they keep their weight', () => {
    const badKey = KEYS[1]!.publicKey.slice();
    badKey[0]! &= 0x7f;
    const pools: PoolInput[] = [
      pool(poolId(1), 40n, 0),
      pool(poolId(2), 30n, null),
      { ...pool(poolId(3), 20n, null), voteKey: { vk: badKey, pop: KEYS[1]!.pop } },
      { ...pool(poolId(4), 10n, null), voteKey: { vk: KEYS[2]!.publicKey, pop: KEYS[3]!.pop } },
      pool(poolId(5), 5n, 3),
    ];
    const c = buildTopStakeCommittee(pools, { committeeSize: 10, quorum: TAU });
    expect(c.seats.map((s) => s.keyless)).toEqual([null, 'no-key', 'bad-key', 'bad-pop', null]);
    expect(c.seats.map((s) => c.canSign(s.seat))).toEqual([true, false, false, false, true]);
    expect(c.seats.map((s) => s.stake)).toEqual([40n, 30n, 20n, 10n, 5n]);
    expect(c.seat(3)!.voteKey).toBeNull();
    expect(c.seat(4)!.voteKeyBytes).toEqual(KEYS[3]!.publicKey);
    expect(c.canSign(5)).toBe(false);
  });

  it('quorum is exact against the total stake S in BigInt', () => {
    const pools = [pool(poolId(1), 10n, null), pool(poolId(2), 10n, null), pool(poolId(3), 5n, null)];
    const c = buildTopStakeCommittee(pools, { committeeSize: 2, quorum: TAU });
    expect(c.quorumStake()).toBe(19n); // ceil(3·25/4)
    expect(c.meetsQuorum(19n)).toBe(true);
    expect(c.meetsQuorum(18n)).toBe(false);
    const big = 10n ** 30n;
    const d = buildTopStakeCommittee([pool(poolId(1), 4n * big, null)], { committeeSize: 1, quorum: TAU });
    expect(d.meetsQuorum(3n * big)).toBe(true);
    expect(d.meetsQuorum(3n * big - 1n)).toBe(false);
  });

  it('PoPs are verified once when the committee is built; caches make a rebuild pairing-free', () => {
    const pools = KEYS.map((_, i) => pool(poolId(i + 1), BigInt(10 - i), i));
    const keyCache = new DecodedKeyCache();
    const popCache = new PopCache();
    const before = blsStats().pairings;
    const c1 = buildTopStakeCommittee(pools, { committeeSize: 4, quorum: TAU }, { keyCache, popCache });
    expect(blsStats().pairings - before).toBe(1); // one random-scalar batch for all four PoPs
    const mid = blsStats().pairings;
    const c2 = buildTopStakeCommittee(pools, { committeeSize: 4, quorum: TAU }, { keyCache, popCache });
    expect(blsStats().pairings).toBe(mid);
    expect(c2.seat(2)!.voteKey).toBe(c1.seat(2)!.voteKey); // the same decoded point object
  });

  it('rejects bad parameters and duplicate pool ids', () => {
    const p = pool(poolId(1), 1n, null);
    expect(() => buildTopStakeCommittee([p], { committeeSize: 0, quorum: TAU })).toThrow(ValidationError);
    expect(() => buildTopStakeCommittee([p], { committeeSize: 65537, quorum: TAU })).toThrow(ValidationError);
    expect(() => buildTopStakeCommittee([p, p], { committeeSize: 2, quorum: TAU })).toThrow(ValidationError);
    expect(() => buildTopStakeCommittee([pool(poolId(2), -1n, null)], { committeeSize: 2, quorum: TAU })).toThrow(
      ValidationError,
    );
  });

  it('seats are the first min(N_c, count) pools by (stake desc, pool id asc)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.uint8Array({ minLength: 28, maxLength: 28 }), fc.bigInt({ min: 0n, max: 5n })), {
          selector: ([id]) => toHex(id),
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 40 }),
        (entries, nc) => {
          const pools = entries.map(([id, stake]) => pool(id as PoolId, stake, null));
          const c = buildTopStakeCommittee(pools, { committeeSize: nc, quorum: TAU });
          const staked = pools.filter((p) => p.stake > 0n);
          expect(c.size).toBe(Math.min(nc, staked.length));
          expect(c.totalStake).toBe(pools.reduce((s, p) => s + p.stake, 0n));
          const before = (x: PoolInput | { stake: bigint; poolId: Uint8Array }, y: typeof x) =>
            x.stake > y.stake || (x.stake === y.stake && compareBytes(x.poolId, y.poolId) < 0);
          c.seats.forEach((s, i) => {
            expect(s.seat).toBe(i);
            const next = c.seats[i + 1];
            if (next) expect(before(s, next)).toBe(true);
          });
          const last = c.seats[c.size - 1];
          for (const p of staked) {
            if (c.seatOfPool(p.poolId) === undefined && last) expect(before(last, p)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('aggregateKey: the signers\' key sum, also when computed as total minus non-signers (§6.5 step 4)', () => {
    const keys = Array.from({ length: 10 }, (_, i) => {
      const k = blsKeyGen(new Uint8Array(32).fill(0x90 + i));
      return { ...k, pop: popProve(k.secretKey) };
    });
    // 14 pools: 10 keyed, 4 keyless (no key)
    const pools: PoolInput[] = Array.from({ length: 14 }, (_, i) => {
      const k = i < 10 ? keys[i]! : null;
      return { poolId: poolId(0x40, i), coldVk: new Uint8Array(32), stake: BigInt(100 - i), vrfKey: VRF, voteKey: k && { vk: k.publicKey, pop: k.pop } };
    });
    const committee = buildTopStakeCommittee(pools, { committeeSize: 14, quorum: TAU });
    const keyed = committee.seats.filter((s) => s.voteKey !== null).map((s) => s.seat as number);
    expect(keyed.length).toBe(10);
    fc.assert(
      fc.property(fc.subarray(keyed, { minLength: 1 }), (seats) => {
        let naive = committee.seat(seats[0]!)!.voteKey!;
        for (const s of seats.slice(1)) naive = naive.add(committee.seat(s)!.voteKey!);
        expect(committee.aggregateKey(seats).equals(naive)).toBe(true);
      }),
      { numRuns: 60 },
    );
    const keyless = committee.seats.find((s) => s.voteKey === null)!.seat;
    expect(() => committee.aggregateKey([keyed[0]!, keyless])).toThrow(/no vote key/);
    expect(() => committee.aggregateKey(keyed.concat([keyless]))).toThrow(/no vote key/);
    expect(() => committee.aggregateKey([])).toThrow(RangeError);
  });
});
