import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../bytes/index';
import { CborReader, CborWriter } from '../../cbor/index';
import { blsKeyGen, blsVerify, voteMessage } from '../../crypto/bls/index';
import { DecodeError } from '../../errors/index';
import { createVote, decodeVote, encodeVote, MAX_VOTE_SIZE, readVote, voteId } from './index';

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return 'ok';
};

const voteArb = fc.record({
  rbHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  voterId: fc.integer({ min: 0, max: 65_535 }),
  signature: fc.uint8Array({ minLength: 48, maxLength: 48 }),
});

describe('vote codec (§6.2)', () => {
  it('round-trips with the exact bytes kept', () => {
    fc.assert(
      fc.property(voteArb, (v) => {
        const bytes = encodeVote(v);
        expect(bytes.length).toBeLessThanOrEqual(MAX_VOTE_SIZE);
        const d = decodeVote(bytes);
        expect(d.bytes).toBe(bytes);
        expect(toHex(d.rbHash)).toBe(toHex(v.rbHash));
        expect(d.voterId).toBe(v.voterId);
        expect(toHex(d.signature)).toBe(toHex(v.signature));
        expect(toHex(encodeVote(d))).toBe(toHex(bytes));
      }),
    );
  });

  it('keeps each vote span inside a list', () => {
    fc.assert(
      fc.property(fc.array(voteArb, { minLength: 1, maxLength: 20 }), (vs) => {
        const enc = vs.map(encodeVote);
        const w = new CborWriter().array(vs.length);
        for (const e of enc) w.raw(e);
        const msg = w.finish();
        const r = new CborReader(msg);
        const n = r.readArray('votes', { max: 1024 });
        for (let i = 0; i < n; i++) expect(toHex(readVote(r, `votes[${i}]`).bytes)).toBe(toHex(enc[i]!));
        r.done('votes');
      }),
    );
  });

  it('rejects voter_id >= 65536, bad lengths, non-canonical heads and trailing bytes (§16 case 13, decoder part)', () => {
    const h = '11'.repeat(32);
    const s = '22'.repeat(48);
    expect(reason(() => decodeVote(fromHex(`835820${h}19ffff5830${s}`)))).toBe('ok');
    expect(reason(() => decodeVote(fromHex(`835820${h}1a000100005830${s}`)))).toBe('limit');
    expect(reason(() => decodeVote(fromHex(`835820${h}1900075830${s}`)))).toBe('non-canonical');
    expect(reason(() => decodeVote(fromHex(`83581f${h.slice(2)}075830${s}`)))).toBe('limit');
    expect(reason(() => decodeVote(fromHex(`835820${h}07582f${s.slice(2)}`)))).toBe('limit');
    expect(reason(() => decodeVote(fromHex(`845820${h}075830${s}00`)))).toBe('limit');
    expect(reason(() => decodeVote(fromHex(`835820${h}075830${s}00`)))).toBe('trailing');
    expect(reason(() => decodeVote(fromHex(`9f5820${h}075830${s}ff`)))).toBe('indefinite');
    expect(reason(() => decodeVote(new Uint8Array(MAX_VOTE_SIZE + 1)))).toBe('limit');
  });

  it('fuzz: random and mutated bytes only raise DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        reason(() => decodeVote(b));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(voteArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, pos, byte) => {
        const bytes = encodeVote(v);
        const m = bytes.slice();
        m[pos % m.length] = byte;
        const r = reason(() => decodeVote(m));
        if (r === 'ok') expect(decodeVote(m).bytes).toBe(m);
        reason(() => decodeVote(concatBytes(m, Uint8Array.of(byte))));
      }),
      { numRuns: 2000 },
    );
  });

  it('createVote signs the §2.4 vote message', () => {
    const kp = blsKeyGen(new Uint8Array(32).fill(5));
    const rbHash = new Uint8Array(32).fill(0xab);
    const v = createVote(kp.secretKey, rbHash, 12);
    expect(v.voterId).toBe(12);
    expect(blsVerify(kp.publicKey, voteMessage(rbHash), v.signature)).toBe(true);
    expect(blsVerify(kp.publicKey, rbHash, v.signature)).toBe(false);
    expect(voteId(v)).toBe(`${'ab'.repeat(32)}:12`);
  });
});
