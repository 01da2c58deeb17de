import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborReader, CborWriter } from '../../cbor/index';
import { fromHex, toHex } from '../../bytes/index';
import { type BlsKeyPair, blsKeyGen, blsSign, blsStats, decodeSignature, popProve, voteMessage } from '../../crypto/index';
import { CertificateError, type CertificateErrorName, DecodeError } from '../../errors/index';
import type { PoolId } from '../../types/index';
import { buildTopStakeCommittee, type Committee, type PoolInput } from '../committee/index';
import {
  buildCertificate,
  type CertificateVote,
  decodeCertificate,
  encodeCertificate,
  readCertificate,
  signerSeats,
  signersBitfield,
  verifyCertificate,
} from './index';

const TAU = { num: 3n, den: 4n };
const RB = fromHex('5a'.repeat(32));
const EB = fromHex('eb'.repeat(32));
const MSG = voteMessage(RB);

const KEYS: Array<BlsKeyPair & { pop: Uint8Array }> = Array.from({ length: 20 }, (_, i) => {
  const k = blsKeyGen(new Uint8Array(32).fill(0x90 + i));
  return { ...k, pop: popProve(k.secretKey) };
});

function poolId(i: number): PoolId {
  const id = new Uint8Array(28);
  id[0] = i;
  return id as PoolId;
}
function pool(i: number, stake: bigint, key: number | null): PoolInput {
  const k = key === null ? null : KEYS[key]!;
  return {
    poolId: poolId(i),
    coldVk: new Uint8Array(32),
    stake,
    vrfKey: { vk: KEYS[0]!.publicKey, pop: KEYS[0]!.pop },
    voteKey: k && { vk: k.publicKey, pop: k.pop },
  };
}
/** Committee whose seat i is pool i with key i (stakes must be given in descending order). */
function committeeOf(stakes: bigint[], keyless: number[] = [], extra: PoolInput[] = []): Committee {
  const pools = stakes.map((s, i) => pool(i, s, keyless.includes(i) ? null : i));
  return buildTopStakeCommittee([...pools, ...extra], { committeeSize: stakes.length, quorum: TAU });
}
const sigOf = (seat: number, msg = MSG) => blsSign(KEYS[seat]!.secretKey, msg);
const aggregate = (seats: number[], msg = MSG): Uint8Array => {
  let agg = decodeSignature(sigOf(seats[0]!, msg));
  for (const s of seats.slice(1)) agg = agg.add(decodeSignature(sigOf(s, msg)));
  return agg.toBytes(true);
};

function errorOf(f: () => unknown): CertificateErrorName | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(CertificateError);
    return (e as CertificateError).error;
  }
}

const C4 = committeeOf([10n, 10n, 10n, 10n]);

describe('certificate encoding (§6.5)', () => {
  it('§16 case 21: N = 4, all signing, encodes as 82 41 F0 58 30 ‖ signature (53 bytes)', () => {
    const r = buildCertificate(
      C4,
      RB,
      [0, 1, 2, 3].map((seat) => ({ seat, signature: sigOf(seat) })),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.certificate.bytes.length).toBe(53);
    expect(toHex(r.certificate.bytes.subarray(0, 5))).toBe('8241f05830');
    expect(r.certificate.bytes.subarray(5)).toEqual(aggregate([0, 1, 2, 3]));
    expect(r.seats).toEqual([0, 1, 2, 3]);
    expect(r.signedStake).toBe(40n);
    expect(verifyCertificate(decodeCertificate(r.certificate.bytes), C4, RB)).toEqual({ seats: [0, 1, 2, 3], signedStake: 40n });
  });

  it('bitfield is MSB first with seat i at bit 7 − i mod 8 of byte floor(i/8)', () => {
    expect(signersBitfield([0], 1)).toEqual(new Uint8Array([0x80]));
    expect(signersBitfield([0, 2, 9], 12)).toEqual(new Uint8Array([0xa0, 0x40]));
    expect(signerSeats(new Uint8Array([0xa0, 0x40]))).toEqual([0, 2, 9]);
    expect(signersBitfield([], 17).length).toBe(3);
    expect(() => signersBitfield([4], 4)).toThrow(RangeError);
  });

  it('the decoder is strict and keeps raw bytes', () => {
    const sig = aggregate([0]);
    const good = encodeCertificate(new Uint8Array([0x80]), sig);
    const cert = decodeCertificate(good);
    expect(cert.bytes).toEqual(good);
    const bad = (b: Uint8Array) => () => decodeCertificate(b);
    expect(bad(new Uint8Array([...good, 0]))).toThrow(DecodeError); // trailing byte
    expect(bad(Uint8Array.from([0x82, 0x58, 0x01, 0x80, ...good.subarray(3)]))).toThrow(DecodeError); // non-minimal head
    expect(bad(Uint8Array.from([0x83, ...good.subarray(1), 0x00]))).toThrow(DecodeError); // 3 elements
    expect(bad(good.subarray(0, 52))).toThrow(DecodeError); // truncated
    const short = new CborWriter().array(2).bytes(new Uint8Array([0x80])).bytes(sig.subarray(0, 47)).finish();
    expect(bad(short)).toThrow(DecodeError);
    const huge = new CborWriter().array(2).bytes(new Uint8Array(8193)).bytes(sig).finish();
    expect(bad(huge)).toThrow(DecodeError);
    // inside an enclosing structure the exact span is kept
    const outer = new CborWriter().array(2).uint(7).raw(good).finish();
    const r = new CborReader(outer);
    r.readArray('body', { len: 2 });
    r.readUint('x');
    const inner = readCertificate(r, 'body.certificate');
    r.done('body');
    expect(inner.bytes).toEqual(good);
  });

  it('round-trips arbitrary signers and signatures', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 48, maxLength: 48 }), (signers, sig) => {
        const bytes = encodeCertificate(signers, sig);
        const c = decodeCertificate(bytes);
        expect(c.signers).toEqual(signers);
        expect(c.signature).toEqual(sig);
        expect(c.bytes).toEqual(bytes);
        expect(encodeCertificate(c.signers, c.signature)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});

describe('certificate verification order (§6.5)', () => {
  const all = aggregate([0, 1, 2, 3]);

  it('§16 case 17: a trailing bit beyond N, a bitfield one byte short or long: MalformedSigners', () => {
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: all }, C4, RB))).toBe('ok');
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf8]), signature: all }, C4, RB))).toBe(
      'MalformedSigners',
    );
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf1]), signature: all }, C4, RB))).toBe(
      'MalformedSigners',
    );
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([]), signature: all }, C4, RB))).toBe(
      'MalformedSigners',
    );
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0, 0x00]), signature: all }, C4, RB))).toBe(
      'MalformedSigners',
    );
    // N = 9: two bytes, only the top bit of the second is usable
    const c9 = committeeOf(Array.from({ length: 9 }, () => 1n));
    const sig9 = aggregate([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xff, 0x80]), signature: sig9 }, c9, RB))).toBe(
      'ok',
    );
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xff, 0xc0]), signature: sig9 }, c9, RB))).toBe(
      'MalformedSigners',
    );
  });

  it('§16 case 18: a set bit on a keyless seat is SignerWithoutKey, with no pairing computed', () => {
    const c = committeeOf([10n, 10n, 10n, 10n], [2]);
    expect(c.seat(2)!.keyless).toBe('no-key');
    const junk = new Uint8Array(48).fill(0xff); // would be InvalidSignature if it were looked at
    const before = blsStats().pairings;
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: junk }, c, RB))).toBe(
      'SignerWithoutKey',
    );
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0x20]), signature: aggregate([0]) }, c, RB))).toBe(
      'SignerWithoutKey',
    );
    expect(blsStats().pairings).toBe(before);
    // the keyless seat's weight still counts in S: seats 0, 1, 3 (30 of 40) meet 3/4
    expect(verifyCertificate({ signers: new Uint8Array([0xd0]), signature: aggregate([0, 1, 3]) }, c, RB).signedStake).toBe(
      30n,
    );
  });

  it('§16 case 19: signed stake exactly τ·S is accepted; one lovelace below is InsufficientWeight', () => {
    const exact = committeeOf([150n, 100n, 100n, 50n]); // S = 400, τ·S = 300
    const sig = aggregate([0, 1, 3]);
    expect(verifyCertificate({ signers: new Uint8Array([0xd0]), signature: sig }, exact, RB).signedStake).toBe(300n);
    // the same three seats now hold 299 of S = 400 (one lovelace moved to a pool without a seat)
    const below = committeeOf([150n, 100n, 100n, 49n], [], [pool(9, 1n, null)]);
    expect(below.totalStake).toBe(400n);
    expect(below.size).toBe(4);
    const before = blsStats().pairings;
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xd0]), signature: sig }, below, RB))).toBe(
      'InsufficientWeight',
    );
    expect(blsStats().pairings).toBe(before);
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0x00]), signature: sig }, below, RB))).toBe(
      'InsufficientWeight',
    );
    // a committee whose snapshot has no stake at all has no seats: an empty certificate still fails
    const empty = buildTopStakeCommittee([pool(1, 0n, 1)], { committeeSize: 4, quorum: TAU });
    expect(empty.size).toBe(0);
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([]), signature: sig }, empty, RB))).toBe(
      'InsufficientWeight',
    );
  });

  it('§16 case 20: an aggregate over the EB hash instead of the RB vote message is InvalidSignature', () => {
    const overEb = aggregate([0, 1, 2, 3], EB);
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: overEb }, C4, RB))).toBe(
      'InvalidSignature',
    );
    const overEbVoteMsg = aggregate([0, 1, 2, 3], voteMessage(EB));
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: overEbVoteMsg }, C4, RB))).toBe(
      'InvalidSignature',
    );
    // right message, wrong signer set, undecodable or identity signature
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: aggregate([0, 1, 2]) }, C4, RB))).toBe(
      'InvalidSignature',
    );
    const identity = new Uint8Array(48);
    identity[0] = 0xc0;
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: identity }, C4, RB))).toBe(
      'InvalidSignature',
    );
    expect(errorOf(() => verifyCertificate({ signers: new Uint8Array([0xf0]), signature: all }, C4, EB))).toBe(
      'InvalidSignature',
    );
  });
});

describe('certificate building (§6.6)', () => {
  const C20 = committeeOf(Array.from({ length: 20 }, (_, i) => BigInt(100 - i)), [19]);

  it('includes every valid vote and bisects to drop bad ones; the result verifies', () => {
    const votes: CertificateVote[] = Array.from({ length: 19 }, (_, seat) => ({ seat, signature: sigOf(seat) }));
    votes[4] = { seat: 4, signature: sigOf(4, voteMessage(EB)) }; // over another message
    votes[11] = { seat: 11, signature: sigOf(12) }; // someone else's signature
    votes.push({ seat: 19, signature: sigOf(19) }); // keyless seat
    votes.push({ seat: 25, signature: sigOf(0) }); // no such seat
    votes.push({ seat: 7, signature: new Uint8Array(48) }); // undecodable
    const r = buildCertificate(C20, RB, votes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dropped).toEqual([4, 11, 19, 20, 21]);
    expect(r.seats).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18]);
    expect(verifyCertificate(decodeCertificate(r.certificate.bytes), C20, RB).seats).toEqual(r.seats);
  });

  it('one verification when all votes are valid; duplicate and conflicting votes per seat', () => {
    const votes: CertificateVote[] = [0, 1, 2, 3].map((seat) => ({ seat, signature: decodeSignature(sigOf(seat)) }));
    const before = blsStats().pairings;
    expect(buildCertificate(C4, RB, votes).ok).toBe(true);
    expect(blsStats().pairings - before).toBe(1);
    // seat 1: a bad signature first, then the genuine one: the genuine one is kept
    const conflict: CertificateVote[] = [
      { seat: 1, signature: sigOf(1, voteMessage(EB)) },
      ...votes,
      { seat: 2, signature: sigOf(2) }, // exact duplicate
    ];
    const r = buildCertificate(C4, RB, conflict);
    expect(r.ok && r.seats).toEqual([0, 1, 2, 3]);
    expect(r.dropped).toEqual([0, 5]);
  });

  it('reports InsufficientWeight when valid votes miss quorum', () => {
    const r = buildCertificate(C4, RB, [
      { seat: 0, signature: sigOf(0) },
      { seat: 1, signature: sigOf(1) },
      { seat: 2, signature: sigOf(2, voteMessage(EB)) },
    ]);
    expect(r).toEqual({ ok: false, reason: 'InsufficientWeight', signedStake: 20n, dropped: [2] });
    expect(buildCertificate(C4, RB, []).ok).toBe(false);
  });
});
