import { describe, expect, it } from 'vitest';
import { fromHex } from '../../bytes/index';
import {
  type BlsKeyPair,
  blsKeyGen,
  blsSign,
  decodeSignature,
  blsStats,
  fastAggregateVerify,
  findInvalidRandomized,
  hashToG1,
  PopCache,
  popProve,
  randomizedBatchVerify,
  resolveDuplicateVote,
  type SignedVote,
  verifyPops,
  verifySingle,
  verifyVoteBatch,
  voteMessage,
} from './index';

const N = 100;
const KEYS: BlsKeyPair[] = Array.from({ length: N }, (_, i) => {
  const s = new Uint8Array(32);
  s[0] = 0xba;
  s[30] = i >> 8;
  s[31] = i & 0xff;
  return blsKeyGen(s);
});
const RB = fromHex('ab'.repeat(32));
const MSG = voteMessage(RB);
const OTHER = voteMessage(fromHex('cd'.repeat(32)));
const VOTES: SignedVote[] = KEYS.map((k) => ({ pk: k.publicPoint, sig: decodeSignature(blsSign(k.secretKey, MSG)) }));

function withBad(indices: number[]): SignedVote[] {
  return VOTES.map((v, i) =>
    indices.includes(i) ? { pk: v.pk, sig: decodeSignature(blsSign(KEYS[i]!.secretKey, OTHER)) } : v,
  );
}

describe('fast aggregate verify and bisection (§2.3; §16 case 11)', () => {
  it('100 valid votes pass with one pairing check', () => {
    expect(fastAggregateVerify(MSG, VOTES)).toBe(true);
    const r = verifyVoteBatch(MSG, VOTES);
    expect(r).toEqual({ allValid: true, invalid: [], pairings: 1 });
    expect(fastAggregateVerify(OTHER, VOTES)).toBe(false);
    expect(fastAggregateVerify(MSG, [])).toBe(false);
  });

  it('case 11: 100 votes with one bad signature fail the single check; bisection finds exactly that vote', () => {
    for (const bad of [0, 37, 99]) {
      const votes = withBad([bad]);
      expect(fastAggregateVerify(MSG, votes)).toBe(false);
      const r = verifyVoteBatch(MSG, votes);
      expect(r.allValid).toBe(false);
      expect(r.invalid).toEqual([bad]);
      // one check for the whole batch, then about two per level of a 7-level bisection
      expect(r.pairings).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(N)));
    }
  });

  it('several bad votes, adjacent ones and a vote with a wrong key are all found', () => {
    const votes = withBad([3, 4, 50, 98]);
    // a valid signature attached to the wrong seat's key is bad too
    votes[70] = { pk: VOTES[71]!.pk, sig: VOTES[70]!.sig };
    expect(verifyVoteBatch(MSG, votes).invalid).toEqual([3, 4, 50, 70, 98]);
    const allBad = withBad([0, 1, 2]).slice(0, 3);
    expect(verifyVoteBatch(MSG, allBad).invalid).toEqual([0, 1, 2]);
    expect(verifyVoteBatch(MSG, [VOTES[5]!])).toEqual({ allValid: true, invalid: [], pairings: 1 });
    expect(verifyVoteBatch(MSG, withBad([5]).slice(5, 6)).invalid).toEqual([0]);
  });
});

describe('batch caveat (§2.3; §16 case 12)', () => {
  const h = 10; // honest seat
  const a = 20; // attacker's seat
  const delta = hashToG1(new TextEncoder().encode('delta')).multiply(987654321n);
  const sigH = VOTES[h]!.sig;
  const sigA = VOTES[a]!.sig;
  const shiftedH = sigH.add(delta);
  const shiftedA = sigA.subtract(delta);

  it('sig_h + Δ and sig_a − Δ pass a plain-sum batch although neither is valid alone', () => {
    const votes = VOTES.map((v, i) => (i === h ? { pk: v.pk, sig: shiftedH } : i === a ? { pk: v.pk, sig: shiftedA } : v));
    expect(fastAggregateVerify(MSG, votes)).toBe(true);
    expect(verifyVoteBatch(MSG, votes).invalid).toEqual([]);
    expect(verifySingle(KEYS[h]!.publicPoint, MSG, shiftedH)).toBe(false);
    expect(verifySingle(KEYS[a]!.publicPoint, MSG, shiftedA)).toBe(false);
    // random-scalar batching has no such caveat
    expect(
      randomizedBatchVerify([
        { pk: KEYS[h]!.publicPoint, msg: MSG, sig: shiftedH },
        { pk: KEYS[a]!.publicPoint, msg: MSG, sig: shiftedA },
      ]),
    ).toBe(false);
  });

  it('once the genuine sig_h arrives it is kept, whichever arrived first', () => {
    const pk = KEYS[h]!.publicPoint;
    expect(resolveDuplicateVote(pk, MSG, shiftedH, sigH)).toEqual({
      keep: 'incoming',
      heldValid: false,
      incomingValid: true,
    });
    expect(resolveDuplicateVote(pk, MSG, sigH, shiftedH)).toEqual({
      keep: 'held',
      heldValid: true,
      incomingValid: false,
    });
    expect(resolveDuplicateVote(pk, MSG, shiftedH, shiftedH.add(delta)).keep).toBe('neither');
    expect(resolveDuplicateVote(pk, MSG, sigH, sigH).keep).toBe('held');
  });
});

describe('random-scalar batch verification', () => {
  it('accepts valid signatures over different messages and rejects one bad one', () => {
    const items = KEYS.slice(0, 6).map((k, i) => {
      const msg = voteMessage(fromHex(`${i}${i}`.repeat(32)));
      return { pk: k.publicPoint, msg, sig: decodeSignature(blsSign(k.secretKey, msg)) };
    });
    expect(randomizedBatchVerify(items)).toBe(true);
    const bad = items.map((it, i) => (i === 4 ? { ...it, msg: items[0]!.msg } : it));
    expect(randomizedBatchVerify(bad)).toBe(false);
    expect(randomizedBatchVerify([])).toBe(false);
  });
});

describe('PoP batches', () => {
  const pops = KEYS.slice(0, 12).map((k) => ({ vk: k.publicKey, pop: popProve(k.secretKey) }));

  it('verifyPops accepts valid PoPs in one batch and names the bad ones', () => {
    const before = blsStats();
    expect(verifyPops(pops)).toEqual(pops.map(() => true));
    const after = blsStats();
    expect(after.pairings - before.pairings).toBe(1); // one final exponentiation for all 12
    const items = pops.slice();
    items[2] = { vk: pops[2]!.vk, pop: pops[3]!.pop }; // PoP of another key
    items[7] = { vk: pops[7]!.vk, pop: new Uint8Array(48) }; // undecodable
    items[9] = { vk: pops[9]!.vk, pop: blsSign(KEYS[9]!.secretKey, pops[9]!.vk) }; // signing DST
    const ok = verifyPops(items);
    expect(ok.map((b, i) => (b ? -1 : i)).filter((i) => i >= 0)).toEqual([2, 7, 9]);
  });

  it('PopCache remembers verdicts so a second pass computes no pairing', () => {
    const cache = new PopCache(100);
    const items = pops.slice(0, 4);
    items[1] = { vk: pops[1]!.vk, pop: pops[0]!.pop };
    expect(verifyPops(items, { cache })).toEqual([true, false, true, true]);
    expect(cache.size).toBe(4);
    const before = blsStats().pairings;
    expect(verifyPops(items, { cache })).toEqual([true, false, true, true]);
    expect(blsStats().pairings).toBe(before);
  });

  it('findInvalidRandomized bisects with fresh scalars', () => {
    const items = KEYS.slice(0, 9).map((k, i) => {
      const msg = voteMessage(fromHex(`0${i}`.repeat(32)));
      return { pk: k.publicPoint, msg, sig: decodeSignature(blsSign(k.secretKey, msg)) };
    });
    expect(findInvalidRandomized(items)).toEqual([]);
    items[0] = { ...items[0]!, msg: items[1]!.msg };
    items[8] = { ...items[8]!, pk: items[7]!.pk };
    expect(findInvalidRandomized(items)).toEqual([0, 8]);
  });
});
