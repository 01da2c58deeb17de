import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes/index';
import {
  type BlsKeyPair,
  blsKeyGen,
  blsSign,
  blsStats,
  decodeSignature,
  eligibilityMessage,
  encodeSignature,
  fastAggregateVerify,
  hashToG1,
  popProve,
  voteMessage,
} from '../../crypto/index';
import { CertificateError, type CertificateErrorName, ValidationError } from '../../errors/index';
import type { Hash32, PoolId } from '../../types/index';
import type { PoolInput } from '../committee/index';
import {
  buildFaCertificate,
  buildFaCommittee,
  checkFaVote,
  createNonPersistentFaVote,
  createPersistentFaVote,
  decodeFaCertificate,
  eligibilitySigma,
  encodeFaCertificate,
  type FaCertificate,
  type FaCertificateVote,
  type FaCommittee,
  type FaElection,
  faLocalSortition,
  faPartition,
  signEligibility,
  verifyEligibility,
  verifyFaCertificate,
} from './index';

const TAU = { num: 3n, den: 4n };
const ETA = fromHex('e7'.repeat(32));
const RB = fromHex('5a'.repeat(32)) as Hash32;
const EB = fromHex('eb'.repeat(32)) as Hash32;
const MSG = voteMessage(RB);

const KEYS: Array<BlsKeyPair & { pop: Uint8Array }> = Array.from({ length: 9 }, (_, i) => {
  const k = blsKeyGen(new Uint8Array(32).fill(0xc0 + i));
  return { ...k, pop: popProve(k.secretKey) };
});

function poolId(i: number): PoolId {
  const id = new Uint8Array(28);
  id[0] = i + 1;
  return id as PoolId;
}
/** Pool i signs with KEYS[i] (or is keyless). */
function pool(i: number, stake: bigint, keyless = false): PoolInput {
  const k = KEYS[i]!;
  return {
    poolId: poolId(i),
    coldVk: new Uint8Array(32),
    stake,
    vrfKey: { vk: k.publicKey, pop: k.pop },
    voteKey: keyless ? null : { vk: k.publicKey, pop: k.pop },
  };
}
const indexOf = (id: Uint8Array) => id[0]! - 1;

// A small network: stakes 40, 20, 10, 8, 7, 6, 5, 4 (S = 100), n = 5. At i = 4,
// (30 − 8)^2·2 = 968 >= 1·30^2 = 900 while i = 1..3 fail, so i* = 4: persistent seats 0..2
// (stakes 40, 20, 10; the stake-10 pool is keyless), n2 = 2, ρ* = 30, a non-persistent seat weighs 15.
const STAKES = [40n, 20n, 10n, 8n, 7n, 6n, 5n, 4n];
const POOLS = STAKES.map((s, i) => pool(i, s, i === 2));
const C = buildFaCommittee(POOLS, { faCommitteeSize: 5, quorum: TAU });
/** The same network with every pool keyed: the persistent seats alone leave slack for bisection tests. */
const C_KEYED = buildFaCommittee(
  STAKES.map((s, i) => pool(i, s)),
  { faCommitteeSize: 5, quorum: TAU },
);

// Sign caches: BLS signing costs milliseconds, and the tests re-use signatures a lot.
const sigCache = new Map<string, Uint8Array>();
function cachedSign(i: number, msg: Uint8Array): Uint8Array {
  const key = `${i}:${toHex(msg)}`;
  let s = sigCache.get(key);
  if (!s) {
    s = blsSign(KEYS[i]!.secretKey, msg);
    sigCache.set(key, s);
  }
  return s;
}
const voteSig = (i: number, msg = MSG) => cachedSign(i, msg);
const eligSig = (i: number, slot: number) => cachedSign(i, eligibilityMessage(ETA, slot));
const seatsAt = (c: FaCommittee, i: number, slot: number) =>
  faLocalSortition(c, poolId(i), KEYS[i]!.secretKey, ETA, slot)?.seats;

/**
 * The first election slot (from 100, bounded) where some candidate holds exactly 1 seat and some
 * other holds none; the sortition draws come from real eligibility signatures.
 */
const SLOT = (() => {
  for (let slot = 100; slot < 140; slot++) {
    const ks = C.candidates.map((c) => seatsAt(C, indexOf(c.poolId), slot)!);
    if (ks.includes(0) && ks.includes(1)) return slot;
  }
  throw new Error('no suitable election in 40 slots');
})();
const ELECTION: FaElection = { rbHash: RB, slot: SLOT, ebHash: EB, eta: ETA };
const CANDS = C.candidates.map((c) => indexOf(c.poolId));
const ELIGIBLE = CANDS.filter((i) => seatsAt(C, i, SLOT)! >= 1);
const INELIGIBLE = CANDS.filter((i) => seatsAt(C, i, SLOT) === 0);
const ONE_SEAT = ELIGIBLE.find((i) => seatsAt(C, i, SLOT) === 1)!;

/** Hand-made certificate: persistent seats, non-persistent pools (with given or genuine eligibility), aggregate over `signers`. */
function makeCert(o: {
  persistent: number[];
  np: Array<{ i: number; elig?: Uint8Array }>;
  signers?: number[];
  msg?: Uint8Array;
  electionId?: number;
  ebHash?: Uint8Array;
  signersBytes?: Uint8Array;
  n1?: number;
}): FaCertificate {
  const n1 = o.n1 ?? 3;
  const bits = o.signersBytes ?? new Uint8Array(Math.ceil(n1 / 8));
  if (!o.signersBytes) for (const s of o.persistent) bits[s >> 3]! |= 0x80 >> (s & 7);
  const signers = o.signers ?? [...o.persistent, ...o.np.map((e) => e.i)];
  let agg = decodeSignature(voteSig(signers[0]!, o.msg));
  for (const s of signers.slice(1)) agg = agg.add(decodeSignature(voteSig(s, o.msg)));
  const nonpersistent = [...o.np]
    .sort((a, b) => a.i - b.i)
    .map((e) => ({ poolId: poolId(e.i), eligSig: e.elig ?? eligSig(e.i, SLOT) }));
  return decodeFaCertificate(
    encodeFaCertificate({
      electionId: o.electionId ?? SLOT,
      ebHash: o.ebHash ?? EB,
      persistentSigners: bits,
      nonpersistent,
      signature: encodeSignature(agg),
    }),
  );
}

function errorOf(f: () => unknown): CertificateErrorName | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(CertificateError);
    return (e as CertificateError).error;
  }
}

describe('fait-accompli committee (PROTOCOL.md §6.7 steps 1–4)', () => {
  it('§16 case 24: stakes 8, 1, 1 with n = 2 give i* = 2, one persistent seat of weight 8, n2 = 1, seat weight 2', () => {
    expect(faPartition([8n, 1n, 1n], 2)).toEqual({ iStar: 2, n1: 1, n2: 1, rhoStar: 2n });
    const c = buildFaCommittee([pool(1, 1n), pool(0, 8n), pool(2, 1n)], { faCommitteeSize: 2, quorum: TAU });
    expect(c.n1).toBe(1);
    expect(c.seat(0)!.stake).toBe(8n);
    expect(toHex(c.seat(0)!.poolId)).toBe(toHex(poolId(0)));
    expect(c.seat(1)).toBeUndefined();
    expect(c.n2).toBe(1);
    expect(c.seatWeight()).toEqual({ num: 2n, den: 1n });
    expect(c.totalStake).toBe(10n);
    expect(c.signersLength).toBe(1);
    // the two stake-1 pools are the candidates, λ = n2·1/ρ* = 1/2
    expect(c.candidates.map((x) => toHex(x.poolId))).toEqual([toHex(poolId(1)), toHex(poolId(2))]);
    expect(c.candidates.map((x) => x.lambda)).toEqual([
      { num: 1n, den: 2n },
      { num: 1n, den: 2n },
    ]);
    // weight 8 + K·2 against 3/4 of 10: the persistent seat alone certifies, one seat short of it does not
    expect(c.meetsQuorum(8n, 0)).toBe(true);
    expect(c.meetsQuorum(0n, 3)).toBe(false);
    expect(c.meetsQuorum(0n, 4)).toBe(true);
  });

  it('the example network: i* = 4, a keyless persistent seat, candidates with λ = 2·s/30', () => {
    expect(C.n1).toBe(3);
    expect(C.n2).toBe(2);
    expect(C.rhoStar).toBe(30n);
    expect(C.seatWeight()).toEqual({ num: 30n, den: 2n });
    expect(C.persistent.map((s) => s.keyless)).toEqual([null, null, 'no-key']);
    expect([0, 1, 2, 3].map((i) => C.canSign(i))).toEqual([true, true, false, false]);
    expect(C.seatOfPool(poolId(1))).toBe(1);
    expect(C.candidate(poolId(1))).toBeUndefined();
    expect(C.candidates.map((c) => c.lambda)).toEqual([8n, 7n, 6n, 5n, 4n].map((s) => ({ num: 2n * s, den: 30n })));
    // exact weight rule: 2·W_p + 30·K >= 150
    expect(C.meetsQuorum(60n, 1)).toBe(true);
    expect(C.meetsQuorum(59n, 1)).toBe(false);
    expect(C.meetsQuorum(0n, 5)).toBe(true);
    expect(C.meetsQuorum(0n, 4)).toBe(false);
  });

  it('candidates exclude keyless and bad-PoP pools and include zero-stake keyed ones (λ = 0); all-persistent stake leaves none', () => {
    const pools: PoolInput[] = [
      pool(0, 50n),
      pool(1, 5n, true),
      { ...pool(2, 5n), voteKey: { vk: KEYS[2]!.publicKey, pop: KEYS[3]!.pop } },
      pool(3, 4n),
      pool(4, 0n),
    ];
    // i = 1: 14^2·3 < 2·64^2; i = 2: 9^2·2 < 14^2; i = 3 = n holds: persistent pools 0 and 1 (keyless)
    const c = buildFaCommittee(pools, { faCommitteeSize: 3, quorum: TAU });
    expect(c.n1).toBe(2);
    expect(c.persistent.map((x) => x.keyless)).toEqual([null, 'no-key']);
    expect(c.candidates.map((x) => indexOf(x.poolId))).toEqual([3, 4]);
    expect(c.candidate(poolId(4))!.lambda.num).toBe(0n);
    // FA_N above the pools: every staked pool is persistent, ρ* = 0, no staked candidate
    const all = buildFaCommittee([pool(0, 5n), pool(1, 3n)], { faCommitteeSize: 10, quorum: TAU });
    expect(all.n1).toBe(2);
    expect(all.n2).toBe(8);
    expect(all.rhoStar).toBe(0n);
    expect(all.candidates).toEqual([]);
    expect(all.meetsQuorum(6n, 0)).toBe(true);
    expect(all.meetsQuorum(5n, 100)).toBe(false);
  });

  it('rejects a bad FA_N, duplicate pool ids and unsorted partition input', () => {
    expect(() => buildFaCommittee([pool(0, 1n)], { faCommitteeSize: 0, quorum: TAU })).toThrow(ValidationError);
    expect(() => buildFaCommittee([pool(0, 1n)], { faCommitteeSize: 65_537, quorum: TAU })).toThrow(ValidationError);
    expect(() => buildFaCommittee([pool(0, 1n), pool(0, 2n)], { faCommitteeSize: 2, quorum: TAU })).toThrow(ValidationError);
    expect(() => faPartition([1n, 2n], 2)).toThrow(ValidationError);
    expect(() => faPartition([-1n], 2)).toThrow(ValidationError);
  });

  it('property: i* is the least i meeting the §6.7 inequality, n2 >= 1 and every candidate has λ <= 1', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 1n << 50n }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 50 }),
        (raw, n) => {
          const s = [...raw].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
          const p = faPartition(s, n);
          const rho = (i: number) => s.slice(i - 1).reduce((a, b) => a + b, 0n);
          const holds = (i: number) => {
            const r = rho(i);
            if (r === 0n) return true;
            const d = r - s[i - 1]!;
            return d * d * BigInt(n - i + 1) >= BigInt(n - i) * r * r;
          };
          expect(holds(p.iStar)).toBe(true);
          for (let i = 1; i < p.iStar; i++) expect(holds(i)).toBe(false);
          expect(p.n1 + p.n2).toBe(n);
          expect(p.n2).toBeGreaterThanOrEqual(1);
          expect(p.rhoStar).toBe(rho(p.iStar));
          // λ_i = n2·s_i/ρ* <= 1 for every non-persistent pool
          for (const x of s.slice(p.n1)) expect(BigInt(p.n2) * x <= p.rhoStar).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fait-accompli sortition with real signatures (§6.7, §2.4)', () => {
  it('the eligibility message is "LEIOS-ELIG" || η || u64be(slot), 50 bytes, and σ = H256(sig)/2^256', () => {
    const m = eligibilityMessage(ETA, SLOT);
    expect(m.length).toBe(50);
    expect(new TextDecoder().decode(m.subarray(0, 10))).toBe('LEIOS-ELIG');
    expect(toHex(m.subarray(42))).toBe(SLOT.toString(16).padStart(16, '0'));
    const i = CANDS[0]!;
    const sig = signEligibility(KEYS[i]!.secretKey, ETA, SLOT);
    expect(sig).toEqual(eligSig(i, SLOT));
    expect(verifyEligibility(KEYS[i]!.publicPoint, ETA, SLOT, sig)).toBe(true);
    expect(verifyEligibility(KEYS[i]!.publicPoint, ETA, SLOT + 1, sig)).toBe(false);
    expect(verifyEligibility(KEYS[i]!.publicPoint, ETA, SLOT, sig.subarray(1))).toBe(false);
    expect(eligibilitySigma(sig).den).toBe(1n << 256n);
    expect(faLocalSortition(C, poolId(0), KEYS[0]!.secretKey, ETA, SLOT)).toBeUndefined();
  });

  it('§16 case 25 with real signatures: k = 0 exactly when σ < e^−λ (σ·e^λ < 1, bracketed exactly)', () => {
    for (const i of CANDS) {
      const c = C.candidate(poolId(i))!;
      const sigma = eligibilitySigma(eligSig(i, SLOT));
      // e^λ bracket at m = 40: L < e^λ < U; σ·U < 1 ⇒ σ < e^−λ, σ·L > 1 ⇒ σ > e^−λ
      let L = { num: 0n, den: 1n };
      let t = { num: 1n, den: 1n };
      for (let j = 0; j <= 40; j++) {
        if (j > 0) t = { num: t.num * c.lambda.num, den: t.den * c.lambda.den * BigInt(j) };
        L = { num: L.num * t.den + t.num * L.den, den: L.den * t.den };
      }
      // the tail beyond m = 40 is below 10^-30 for λ <= 1, so L + 10^-30 > e^λ
      const E30 = 10n ** 30n;
      const below = sigma.num * (L.num * E30 + L.den) < sigma.den * L.den * E30; // σ·(L + 10^-30) < 1
      const above = sigma.num * L.num > sigma.den * L.den; // σ·L > 1
      expect(below || above).toBe(true);
      expect(seatsAt(C, i, SLOT) === 0).toBe(below);
    }
    expect(INELIGIBLE.length).toBeGreaterThan(0);
    expect(ELIGIBLE.length).toBeGreaterThan(0);
  });
});

describe('fait-accompli certificates (§6.7)', () => {
  it('round trip: build from real votes, decode, verify; weight = W_p + K·ρ*/n2', () => {
    const votes = [
      createPersistentFaVote(KEYS[0]!.secretKey, RB, 0),
      createPersistentFaVote(KEYS[1]!.secretKey, RB, 1),
      ...ELIGIBLE.map((i) => createNonPersistentFaVote(KEYS[i]!.secretKey, RB, poolId(i), eligSig(i, SLOT))),
    ];
    for (const v of votes) expect(checkFaVote(C, ELECTION, v).ok).toBe(true);
    const r = buildFaCertificate(C, ELECTION, votes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dropped).toEqual([]);
    const K = ELIGIBLE.reduce((sum, i) => sum + seatsAt(C, i, SLOT)!, 0);
    expect(r.verified.persistentSeats).toEqual([0, 1]);
    expect(r.verified.persistentStake).toBe(60n);
    expect(r.verified.nonpersistentSeats).toBe(K);
    expect(r.verified.weight).toEqual({ num: 2n * 60n + BigInt(K) * 30n, den: 2n });
    const decoded = decodeFaCertificate(r.certificate.bytes);
    expect(decoded.electionId).toBe(SLOT);
    expect(decoded.nonpersistent.map((e) => indexOf(e.poolId))).toEqual([...ELIGIBLE].sort((a, b) => a - b));
    expect(verifyFaCertificate(decoded, C, ELECTION)).toEqual(r.verified);
  });

  it('exactly at quorum: persistent 40 + 20 with one seat of weight 15 certifies (2·60 + 30 = 150); seat 1 alone with it does not', () => {
    expect(errorOf(() => verifyFaCertificate(makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }] }), C, ELECTION))).toBe('ok');
    expect(errorOf(() => verifyFaCertificate(makeCert({ persistent: [1], np: [{ i: ONE_SEAT }] }), C, ELECTION))).toBe(
      'InsufficientWeight',
    );
    expect(errorOf(() => verifyFaCertificate(makeCert({ persistent: [0], np: [] }), C, ELECTION))).toBe('InsufficientWeight');
  });

  it('checks in the §6.7 order: election, EB, bitfield, keyless signer (no pairing), candidacy', () => {
    const good = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }] });
    expect(errorOf(() => verifyFaCertificate(good, C, { ...ELECTION, slot: SLOT + 1 }))).toBe('ElectionMismatch');
    expect(errorOf(() => verifyFaCertificate(good, C, { ...ELECTION, ebHash: RB }))).toBe('EbMismatch');
    // §6.5 rules over n1 = 3: one byte exactly, bits 3..7 zero
    const longer = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }], signersBytes: new Uint8Array([0xc0, 0]) });
    expect(errorOf(() => verifyFaCertificate(longer, C, ELECTION))).toBe('MalformedSigners');
    const trailing = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }], signersBytes: new Uint8Array([0xd0]) });
    expect(errorOf(() => verifyFaCertificate(trailing, C, ELECTION))).toBe('MalformedSigners');
    const short = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }], signersBytes: new Uint8Array(0) });
    expect(errorOf(() => verifyFaCertificate(short, C, ELECTION))).toBe('MalformedSigners');
    // a set bit on the keyless persistent seat 2: rejected with no pairing at all
    const keyless = makeCert({ persistent: [0, 1, 2], np: [{ i: ONE_SEAT }], signers: [0, 1, ONE_SEAT] });
    const before = blsStats().pairings;
    expect(errorOf(() => verifyFaCertificate(keyless, C, ELECTION))).toBe('SignerWithoutKey');
    expect(blsStats().pairings).toBe(before);
    // a persistent pool (0) or a keyless pool (2) listed as non-persistent, an unknown pool
    const persistentAsNp = makeCert({ persistent: [1], np: [{ i: 0, elig: eligSig(0, SLOT) }, { i: ONE_SEAT }] });
    expect(errorOf(() => verifyFaCertificate(persistentAsNp, C, ELECTION))).toBe('NotCandidate');
    const keylessAsNp = makeCert({
      persistent: [0, 1],
      np: [{ i: 2, elig: eligSig(2, SLOT) }, { i: ONE_SEAT }],
    });
    expect(errorOf(() => verifyFaCertificate(keylessAsNp, C, ELECTION))).toBe('NotCandidate');
    const unknown = makeCert({ persistent: [0, 1], np: [{ i: 8, elig: eligSig(8, SLOT) }] });
    expect(errorOf(() => verifyFaCertificate(unknown, C, ELECTION))).toBe('NotCandidate');
    // a hand-built object with pools out of order (the decoder never yields one)
    const twoNp = makeCert({ persistent: [0, 1], np: [{ i: CANDS[0]! }, { i: CANDS[1]! }], signers: [0, 1] });
    const reversed = { ...twoNp, nonpersistent: [...twoNp.nonpersistent].reverse() };
    expect(errorOf(() => verifyFaCertificate(reversed, C, ELECTION))).toBe('MalformedSigners');
  });

  it('§16 case 25: a bad eligibility signature, or a pool with k = 0 in nonpersistent, invalidates the certificate', () => {
    // eligibility signed for another election (a valid point, wrong message)
    const wrongElection = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT, elig: eligSig(ONE_SEAT, SLOT + 1) }] });
    expect(errorOf(() => verifyFaCertificate(wrongElection, C, ELECTION))).toBe('InvalidEligibility');
    // eligibility signed by another pool's key
    const otherKey = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT, elig: eligSig(0, SLOT) }] });
    expect(errorOf(() => verifyFaCertificate(otherKey, C, ELECTION))).toBe('InvalidEligibility');
    // an undecodable eligibility signature (compression flag clear)
    const flat = eligSig(ONE_SEAT, SLOT).slice();
    flat[0]! &= 0x7f;
    const undecodable = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT, elig: flat }] });
    expect(errorOf(() => verifyFaCertificate(undecodable, C, ELECTION))).toBe('InvalidEligibility');
    // genuine eligibility but k = 0, with its vote in the aggregate and quorum met without it
    const zero = INELIGIBLE[0]!;
    const withZero = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }, { i: zero }] });
    expect(errorOf(() => verifyFaCertificate(withZero, C, ELECTION))).toBe('NotEligible');
  });

  it('eligibility is never checked by plain sum: sig_a + Δ, sig_b − Δ pass a plain-sum batch but fail the certificate', () => {
    const [a, b] = [CANDS[0]!, CANDS[1]!];
    const delta = hashToG1(new Uint8Array([1, 2, 3]));
    const ea = encodeSignature(decodeSignature(eligSig(a, SLOT)).add(delta));
    const eb = encodeSignature(decodeSignature(eligSig(b, SLOT)).subtract(delta));
    const m = eligibilityMessage(ETA, SLOT);
    const sum = [
      { pk: KEYS[a]!.publicPoint, sig: decodeSignature(ea) },
      { pk: KEYS[b]!.publicPoint, sig: decodeSignature(eb) },
    ];
    expect(fastAggregateVerify(m, sum)).toBe(true);
    const shifted = makeCert({ persistent: [0, 1], np: [{ i: a, elig: ea }, { i: b, elig: eb }] });
    expect(errorOf(() => verifyFaCertificate(shifted, C, ELECTION))).toBe('InvalidEligibility');
  });

  it('InvalidSignature: an aggregate over the EB hash, one missing signer, an undecodable aggregate', () => {
    const overEb = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }], msg: voteMessage(EB) });
    expect(errorOf(() => verifyFaCertificate(overEb, C, ELECTION))).toBe('InvalidSignature');
    const missing = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }], signers: [0, 1] });
    expect(errorOf(() => verifyFaCertificate(missing, C, ELECTION))).toBe('InvalidSignature');
    const good = makeCert({ persistent: [0, 1], np: [{ i: ONE_SEAT }] });
    const bad = { ...good, signature: new Uint8Array(48).fill(0xc0) };
    expect(errorOf(() => verifyFaCertificate(bad, C, ELECTION))).toBe('InvalidSignature');
  });

  it('checkFaVote applies the single-vote rules', () => {
    const zero = INELIGIBLE[0]!;
    const np = (i: number, elig = eligSig(i, SLOT), msg = MSG): FaCertificateVote => ({
      kind: 'nonpersistent',
      poolId: poolId(i),
      eligSig: elig,
      signature: voteSig(i, msg),
    });
    const reason = (v: FaCertificateVote) => {
      const r = checkFaVote(C, ELECTION, v);
      return r.ok ? `ok:${r.seats}` : r.reason;
    };
    expect(reason({ kind: 'persistent', seat: 0, signature: voteSig(0) })).toBe('ok:1');
    expect(reason({ kind: 'persistent', seat: 0, signature: voteSig(0), rbHash: EB })).toBe('wrong-rb');
    expect(reason({ kind: 'persistent', seat: 3, signature: voteSig(3) })).toBe('unknown-seat');
    expect(reason({ kind: 'persistent', seat: 2, signature: voteSig(2) })).toBe('keyless');
    expect(reason({ kind: 'persistent', seat: 1, signature: voteSig(0) })).toBe('invalid-signature');
    expect(reason(np(ONE_SEAT))).toBe('ok:1');
    expect(reason(np(0))).toBe('not-candidate');
    expect(reason(np(ONE_SEAT, eligSig(ONE_SEAT, SLOT + 1)))).toBe('invalid-eligibility');
    expect(reason(np(zero))).toBe('not-eligible');
    expect(reason(np(ONE_SEAT, undefined, voteMessage(EB)))).toBe('invalid-signature');
  });

  it('the builder drops unusable votes and keeps a valid one of two for a seat or pool', () => {
    const zero = INELIGIBLE[0]!;
    const e0 = ELIGIBLE[0]!;
    const votes: FaCertificateVote[] = [
      { kind: 'persistent', seat: 1, signature: voteSig(1, voteMessage(EB)) }, // 0: bad, replaced by 2
      { kind: 'persistent', seat: 0, signature: voteSig(0) }, // 1
      { kind: 'persistent', seat: 1, signature: voteSig(1) }, // 2
      { kind: 'persistent', seat: 2, signature: voteSig(2) }, // 3: keyless seat
      { kind: 'persistent', seat: 3, signature: voteSig(3) }, // 4: beyond n1
      { kind: 'persistent', seat: 0, signature: voteSig(0) }, // 5: exact duplicate
      { kind: 'persistent', seat: 0, signature: voteSig(0), rbHash: EB }, // 6: another RB
      ...ELIGIBLE.map((i) => createNonPersistentFaVote(KEYS[i]!.secretKey, RB, poolId(i), eligSig(i, SLOT))), // 7..
    ];
    const n = votes.length;
    votes.push(
      { kind: 'nonpersistent', poolId: poolId(zero), eligSig: eligSig(zero, SLOT), signature: voteSig(zero) }, // k = 0
      { kind: 'nonpersistent', poolId: poolId(0), eligSig: eligSig(0, SLOT), signature: voteSig(0) }, // not a candidate
      { kind: 'nonpersistent', poolId: poolId(e0), eligSig: eligSig(e0, SLOT + 1), signature: voteSig(e0) }, // 2nd for e0, bad elig
      { kind: 'persistent', seat: 0, signature: new Uint8Array(48) }, // undecodable
    );
    const r = buildFaCertificate(C, ELECTION, votes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dropped).toEqual([0, 3, 4, 5, 6, n, n + 1, n + 2, n + 3]);
    expect(r.verified.persistentSeats).toEqual([0, 1]);
    expect(r.verified.nonpersistent.map((e) => indexOf(e.poolId))).toEqual([...ELIGIBLE].sort((a, b) => a - b));
    expect(errorOf(() => verifyFaCertificate(decodeFaCertificate(r.certificate.bytes), C, ELECTION))).toBe('ok');
  });

  it('the builder drops a lone bad eligibility by batch and a lone bad vote signature by bisection', () => {
    // C_KEYED: persistent 40 + 20 + 10 = 70, so one seat of 15 more is needed; seat 2 signs badly
    const e0 = ELIGIBLE[0]!;
    const zero = INELIGIBLE[0]!;
    const votes: FaCertificateVote[] = [
      { kind: 'persistent', seat: 0, signature: voteSig(0) },
      { kind: 'persistent', seat: 1, signature: voteSig(1) },
      { kind: 'persistent', seat: 2, signature: voteSig(2, voteMessage(EB)) },
      { kind: 'nonpersistent', poolId: poolId(e0), eligSig: eligSig(e0, SLOT), signature: voteSig(e0) },
      // a pool with k = 0 here presenting another election's eligibility
      { kind: 'nonpersistent', poolId: poolId(zero), eligSig: eligSig(zero, SLOT + 7), signature: voteSig(zero) },
    ];
    const r = buildFaCertificate(C_KEYED, ELECTION, votes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dropped).toEqual([2, 4]);
    expect(r.verified.persistentSeats).toEqual([0, 1]);
    // without the non-persistent vote even the three persistent seats miss quorum (2·70 < 150),
    // which the builder sees before any pairing
    const short = buildFaCertificate(C_KEYED, ELECTION, votes.slice(0, 3));
    expect(short).toMatchObject({ ok: false, reason: 'InsufficientWeight', persistentStake: 70n, nonpersistentSeats: 0, dropped: [] });
    expect(buildFaCertificate(C_KEYED, ELECTION, [])).toMatchObject({ ok: false, reason: 'InsufficientWeight' });
  });
});
