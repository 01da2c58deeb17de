import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, concatBytes, fromHex, toHex } from '../../bytes/index';
import { CborReader, CborWriter } from '../../cbor/index';
import { DecodeError, ValidationError } from '../../errors/index';
import {
  decodeFaCertificate,
  decodeFaVote,
  encodeFaCertificate,
  encodeFaVote,
  type FaVoteFields,
  faVoteId,
  MAX_FA_NONPERSISTENT,
  MAX_FA_PERSISTENT_VOTE_SIZE,
  MAX_FA_VOTE_SIZE,
  readFaCertificate,
  readFaVote,
} from './index';

const RB = fromHex('5a'.repeat(32));
const SIG = fromHex('a1'.repeat(48));
const ELIG = fromHex('b2'.repeat(48));
const POOL = fromHex('0c'.repeat(28));

const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const persistentArb = fc.record({
  kind: fc.constant('persistent' as const),
  rbHash: bytesN(32),
  seat: fc.integer({ min: 0, max: 65535 }),
  signature: bytesN(48),
});
const nonPersistentArb = fc.record({
  kind: fc.constant('nonpersistent' as const),
  rbHash: bytesN(32),
  poolId: bytesN(28),
  eligSig: bytesN(48),
  signature: bytesN(48),
});
const certArb = fc.record({
  electionId: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  ebHash: bytesN(32),
  persistentSigners: fc.uint8Array({ maxLength: 40 }),
  nonpersistent: fc
    .uniqueArray(bytesN(28), { maxLength: 12, selector: (b) => toHex(b) })
    .chain((ids) => fc.tuple(fc.constant(ids), fc.array(bytesN(48), { minLength: ids.length, maxLength: ids.length })))
    .map(([ids, sigs]) =>
      ids.map((poolId, i) => ({ poolId, eligSig: sigs[i]! })).sort((a, b) => compareBytes(a.poolId, b.poolId)),
    ),
  signature: bytesN(48),
});

function decodeErr(f: () => unknown): DecodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('fa_vote codec (PROTOCOL.md §6.7)', () => {
  it('encodes a persistent vote as 84 00 58 20 <rb> <seat> 58 30 <sig> and a non-persistent one with tag 1', () => {
    const p = encodeFaVote({ kind: 'persistent', rbHash: RB, seat: 3, signature: SIG });
    expect(toHex(p)).toBe(`84005820${toHex(RB)}035830${toHex(SIG)}`);
    const big = encodeFaVote({ kind: 'persistent', rbHash: RB, seat: 65535, signature: SIG });
    expect(big.length).toBe(MAX_FA_PERSISTENT_VOTE_SIZE);
    const np = encodeFaVote({ kind: 'nonpersistent', rbHash: RB, poolId: POOL, eligSig: ELIG, signature: SIG });
    expect(toHex(np)).toBe(`85015820${toHex(RB)}581c${toHex(POOL)}5830${toHex(ELIG)}5830${toHex(SIG)}`);
    expect(np.length).toBe(MAX_FA_VOTE_SIZE);
  });

  it('property: both shapes round-trip and keep the exact input bytes', () => {
    fc.assert(
      fc.property(fc.oneof(persistentArb, nonPersistentArb), (v: FaVoteFields) => {
        const bytes = encodeFaVote(v);
        const d = decodeFaVote(bytes);
        expect(d.bytes).toBe(bytes);
        expect(d).toEqual({ ...v, bytes });
        expect(encodeFaVote(d)).toEqual(bytes);
        // inside a list, the span is the vote's own bytes
        const list = concatBytes(new Uint8Array([0x82]), bytes, bytes);
        const r = new CborReader(list);
        r.readArray('votes', { len: 2 });
        readFaVote(r, 'votes[0]');
        expect(readFaVote(r, 'votes[1]').bytes).toEqual(bytes);
        r.done('votes');
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a tag that disagrees with the length, an unknown tag, and bad fields, naming the path', () => {
    const p = encodeFaVote({ kind: 'persistent', rbHash: RB, seat: 3, signature: SIG });
    const np = encodeFaVote({ kind: 'nonpersistent', rbHash: RB, poolId: POOL, eligSig: ELIG, signature: SIG });
    // tag 1 in a 4-element vote, tag 0 in a 5-element vote
    const t1 = p.slice();
    t1[1] = 0x01;
    expect(decodeErr(() => decodeFaVote(t1))).toMatchObject({ path: 'fa_vote', reason: 'limit' });
    const t0 = np.slice();
    t0[1] = 0x00;
    expect(decodeErr(() => decodeFaVote(t0))).toMatchObject({ path: 'fa_vote', reason: 'limit' });
    const t2 = p.slice();
    t2[1] = 0x02;
    expect(decodeErr(() => decodeFaVote(t2))).toMatchObject({ path: 'fa_vote.tag', reason: 'limit' });
    // array of 3 or 6
    const w3 = new CborWriter().array(3).uint(0).bytes(RB).uint(1).finish();
    expect(decodeErr(() => decodeFaVote(w3)).reason).toBe('limit');
    // non-minimal seat head 18 03
    const nm = concatBytes(p.subarray(0, 36), new Uint8Array([0x18, 0x03]), p.subarray(37));
    expect(decodeErr(() => decodeFaVote(nm))).toMatchObject({ path: 'fa_vote.seat', reason: 'non-canonical' });
    // seat 65536
    const w = new CborWriter().array(4).uint(0).bytes(RB).uint(65536).bytes(SIG).finish();
    expect(decodeErr(() => decodeFaVote(w))).toMatchObject({ path: 'fa_vote.seat', reason: 'limit' });
    // short pool id, short signature, trailing byte, oversized input
    const shortPool = new CborWriter().array(5).uint(1).bytes(RB).bytes(POOL.subarray(1)).bytes(ELIG).bytes(SIG).finish();
    expect(decodeErr(() => decodeFaVote(shortPool)).path).toBe('fa_vote.pool_id');
    const shortSig = new CborWriter().array(4).uint(0).bytes(RB).uint(1).bytes(SIG.subarray(1)).finish();
    expect(decodeErr(() => decodeFaVote(shortSig)).path).toBe('fa_vote.signature');
    expect(decodeErr(() => decodeFaVote(concatBytes(p, new Uint8Array([0])))).reason).toBe('trailing');
    expect(decodeErr(() => decodeFaVote(new Uint8Array(MAX_FA_VOTE_SIZE + 1))).reason).toBe('limit');
  });

  it('refuses to encode out-of-range fields; ids distinguish seats from pools', () => {
    expect(() => encodeFaVote({ kind: 'persistent', rbHash: RB, seat: 65536, signature: SIG })).toThrow(ValidationError);
    expect(() => encodeFaVote({ kind: 'persistent', rbHash: RB.subarray(1), seat: 0, signature: SIG })).toThrow(ValidationError);
    expect(() =>
      encodeFaVote({ kind: 'nonpersistent', rbHash: RB, poolId: POOL, eligSig: ELIG.subarray(1), signature: SIG }),
    ).toThrow(ValidationError);
    expect(faVoteId({ kind: 'persistent', rbHash: RB, seat: 7, signature: SIG })).toBe(`${toHex(RB)}:7`);
    expect(faVoteId({ kind: 'nonpersistent', rbHash: RB, poolId: POOL, eligSig: ELIG, signature: SIG })).toBe(
      `${toHex(RB)}:${toHex(POOL)}`,
    );
  });
});

describe('fa_certificate codec (PROTOCOL.md §6.7)', () => {
  it('property: round-trips and keeps the exact input bytes', () => {
    fc.assert(
      fc.property(certArb, (c) => {
        const bytes = encodeFaCertificate(c);
        const d = decodeFaCertificate(bytes);
        expect(d.bytes).toBe(bytes);
        expect(d).toEqual({ ...c, bytes });
        expect(encodeFaCertificate(d)).toEqual(bytes);
        const r = new CborReader(concatBytes(bytes, new Uint8Array([0xf6])));
        expect(readFaCertificate(r, 'rb_body.certificate').bytes).toEqual(bytes);
        expect(r.readNull('next')).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  const entry = (b: number) => ({ poolId: new Uint8Array(28).fill(b), eligSig: ELIG });
  const base = { electionId: 1000, ebHash: RB, persistentSigners: new Uint8Array([0xe0]), signature: SIG };
  /** A certificate body written by hand, with map entries in the given order. */
  const rawCert = (ids: number[]) => {
    const w = new CborWriter().array(5).uint(1000).bytes(RB).bytes(new Uint8Array([0xe0])).map(ids.length);
    for (const b of ids) w.bytes(new Uint8Array(28).fill(b)).bytes(ELIG);
    return w.bytes(SIG).finish();
  };

  it('pool ids must be strictly ascending: a repeat is duplicate-key, a descent key-order', () => {
    expect(decodeFaCertificate(rawCert([1, 2, 3])).nonpersistent.length).toBe(3);
    expect(decodeErr(() => decodeFaCertificate(rawCert([1, 3, 3])))).toMatchObject({
      path: 'fa_certificate.nonpersistent{2}',
      reason: 'duplicate-key',
    });
    expect(decodeErr(() => decodeFaCertificate(rawCert([2, 1])))).toMatchObject({
      path: 'fa_certificate.nonpersistent{1}',
      reason: 'key-order',
    });
    expect(() => encodeFaCertificate({ ...base, nonpersistent: [entry(2), entry(1)] })).toThrow(ValidationError);
    expect(() => encodeFaCertificate({ ...base, nonpersistent: [entry(2), entry(2)] })).toThrow(ValidationError);
  });

  it('caps are checked from the heads, before reading entries; shapes and lengths are strict', () => {
    // a map head claiming MAX + 1 entries fails on the cap, not on the missing bytes
    const w = new CborWriter().array(5).uint(1).bytes(RB).bytes(new Uint8Array(0)).map(MAX_FA_NONPERSISTENT + 1);
    expect(decodeErr(() => decodeFaCertificate(w.finish()))).toMatchObject({
      path: 'fa_certificate.nonpersistent',
      reason: 'limit',
    });
    const big = new CborWriter().array(5).uint(1).bytes(RB).bytes(new Uint8Array(8193)).map(0).bytes(SIG).finish();
    expect(decodeErr(() => decodeFaCertificate(big))).toMatchObject({
      path: 'fa_certificate.persistent_signers',
      reason: 'limit',
    });
    // an indefinite map, a 4-element array, a non-bytes key, a short elig_sig, trailing bytes
    const ok = encodeFaCertificate({ ...base, nonpersistent: [entry(1)] });
    const mapAt = 1 + 3 + 34 + 2;
    expect(ok[mapAt]).toBe(0xa1);
    const indef = concatBytes(
      ok.subarray(0, mapAt),
      new Uint8Array([0xbf]),
      ok.subarray(mapAt + 1, -50),
      new Uint8Array([0xff]),
      ok.subarray(-50),
    );
    expect(decodeErr(() => decodeFaCertificate(indef)).reason).toBe('indefinite');
    const four = ok.slice();
    four[0] = 0x84;
    expect(decodeErr(() => decodeFaCertificate(four))).toMatchObject({ path: 'fa_certificate', reason: 'limit' });
    const textKey = new CborWriter().array(5).uint(1).bytes(RB).bytes(new Uint8Array(0)).map(1).text('x').bytes(ELIG).bytes(SIG).finish();
    expect(decodeErr(() => decodeFaCertificate(textKey))).toMatchObject({ path: 'fa_certificate.nonpersistent{0}', reason: 'type' });
    const shortElig = new CborWriter()
      .array(5)
      .uint(1)
      .bytes(RB)
      .bytes(new Uint8Array(0))
      .map(1)
      .bytes(POOL)
      .bytes(ELIG.subarray(1))
      .bytes(SIG)
      .finish();
    expect(decodeErr(() => decodeFaCertificate(shortElig)).path).toBe('fa_certificate.nonpersistent{0}.elig_sig');
    expect(decodeErr(() => decodeFaCertificate(concatBytes(ok, new Uint8Array([0])))).reason).toBe('trailing');
    // a negative / non-uint election id
    const neg = ok.slice();
    neg[1] = 0x20;
    expect(decodeErr(() => decodeFaCertificate(neg)).path).toBe('fa_certificate.election_id');
    expect(() => encodeFaCertificate({ ...base, electionId: -1, nonpersistent: [] })).toThrow(ValidationError);
    expect(() => encodeFaCertificate({ ...base, ebHash: RB.subarray(2), nonpersistent: [] })).toThrow(ValidationError);
  });
});
