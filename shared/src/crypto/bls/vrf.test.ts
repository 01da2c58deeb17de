import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, bytesToBigInt, concatBytes, fromHex, u64be } from '../../bytes/index';
import { CryptoError } from '../../errors/index';
import { blake2b256 } from '../blake2b';
import {
  blsKeyGen,
  blsSign,
  eligibilityMessage,
  isLeader,
  leaderThresholdConstant,
  vrfMessage,
  vrfOutput,
  vrfProve,
  vrfVerify,
  voteMessage,
} from './index';

const ETA = fromHex('e7'.repeat(32));
const KEY = blsKeyGen(new Uint8Array(32).fill(0x42));
const F = { num: 1n, den: 20n };
const C = leaderThresholdConstant(F);

function out(y: bigint): Uint8Array {
  return fromHex(y.toString(16).padStart(64, '0'));
}

describe('signed messages (§2.4)', () => {
  it('§16 case 1: the vote message for RB hash h is exactly 58 20 || h (34 bytes)', () => {
    const h = fromHex('0123456789abcdef'.repeat(4));
    const m = voteMessage(h);
    expect(m.length).toBe(34);
    expect(m).toEqual(concatBytes(new Uint8Array([0x58, 0x20]), h));
    expect(() => voteMessage(h.subarray(1))).toThrow(CryptoError);
  });

  it('VRF and eligibility messages have the stated layout and lengths', () => {
    const v = vrfMessage(ETA, 0x0102030405n);
    expect(v.length).toBe(49);
    expect(v).toEqual(concatBytes(ascii('LEIOS-VRF'), ETA, u64be(0x0102030405n)));
    const e = eligibilityMessage(ETA, 77);
    expect(e.length).toBe(50);
    expect(e).toEqual(concatBytes(ascii('LEIOS-ELIG'), ETA, u64be(77)));
  });
});

describe('VRF (§2.3 uniqueness, §3.5, §4.1)', () => {
  it('proof is the BLS signature of the VRF message and output = H256(proof)', () => {
    const r = vrfProve(KEY.secretKey, ETA, 1234);
    expect(r.proof).toEqual(blsSign(KEY.secretKey, vrfMessage(ETA, 1234)));
    expect(r.output).toEqual(blake2b256(r.proof));
    expect(vrfOutput(r.proof)).toEqual(r.output);
    expect(vrfVerify(KEY.publicPoint, ETA, 1234, r.proof, r.output)).toBe(true);
  });

  it('§16 case 29: output != H256(proof), another slot, nonce or key: invalid', () => {
    const r = vrfProve(KEY.secretKey, ETA, 1234);
    const wrongOut = r.output.slice();
    wrongOut[0]! ^= 1;
    expect(vrfVerify(KEY.publicPoint, ETA, 1234, r.proof, wrongOut)).toBe(false);
    expect(vrfVerify(KEY.publicPoint, ETA, 1235, r.proof, r.output)).toBe(false);
    expect(vrfVerify(KEY.publicPoint, fromHex('e8'.repeat(32)), 1234, r.proof, r.output)).toBe(false);
    const other = blsKeyGen(new Uint8Array(32).fill(0x43));
    expect(vrfVerify(other.publicPoint, ETA, 1234, r.proof, r.output)).toBe(false);
    // a garbage proof with a matching output fails decoding, reported as false
    const junk = new Uint8Array(48).fill(0xff);
    expect(vrfVerify(KEY.publicPoint, ETA, 1234, junk, blake2b256(junk))).toBe(false);
  });
});

describe('leader threshold constant (§3.5 step 1)', () => {
  it('f = 1/2 gives ln 2 truncated to 40 decimals', () => {
    const c = leaderThresholdConstant({ num: 1n, den: 2n });
    expect(c.den).toBe(10n ** 40n);
    expect(c.num).toBe(6931471805599453094172321214581765680755n);
  });

  it('f = 1/20 gives −ln(0.95) to double precision, with denominator 10^40', () => {
    expect(C.den).toBe(10n ** 40n);
    expect(Number(C.num) / 1e40).toBeCloseTo(-Math.log(0.95), 15);
  });

  it('rejects f outside (0, 1/2]', () => {
    expect(() => leaderThresholdConstant({ num: 0n, den: 1n })).toThrow(CryptoError);
    expect(() => leaderThresholdConstant({ num: 51n, den: 100n })).toThrow(CryptoError);
  });
});

describe('leader check (§3.5 step 2; §16 case 29)', () => {
  const TWO256 = 1n << 256n;

  it('a zero-stake pool never leads, whatever the output', () => {
    for (const y of [0n, 1n, TWO256 / 1000n, TWO256 - 1n]) expect(isLeader(out(y), 0n, 1000n, C)).toBe(false);
  });

  it('with σ = 1 the leader rate over 10^5 random outputs matches f = 1/20 within sampling error', () => {
    const n = 100_000;
    let leaders = 0;
    for (let i = 0; i < n; i++) if (isLeader(blake2b256(u64be(i)), 1n, 1n, C)) leaders++;
    const expected = n / 20;
    const sd = Math.sqrt(n * 0.05 * 0.95); // ≈ 69
    expect(Math.abs(leaders - expected)).toBeLessThan(5 * sd);
  });

  it('with σ = 1 the boundary is y = f·2^256 (up to the 10^-40 truncation of C)', () => {
    const y0 = TWO256 / 20n;
    expect(isLeader(out(y0 - (1n << 140n)), 1n, 1n, C)).toBe(true);
    expect(isLeader(out(y0 + (1n << 140n)), 1n, 1n, C)).toBe(false);
    expect(isLeader(out(0n), 1n, 1n, C)).toBe(true);
    expect(isLeader(out(TWO256 - 1n), 1n, 1n, C)).toBe(false);
  });

  it('agrees with the float formula 1 − (1−f)^σ away from the boundary', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        (o, stake) => {
          const total = 10n ** 6n;
          const p = 1 - 0.95 ** (Number(stake) / 1e6);
          const u = Number(bytesToBigInt(o) >> 200n) / 2 ** 56;
          if (Math.abs(u - p) < 1e-9) return;
          expect(isLeader(o, stake, total, C)).toBe(u < p);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is monotone in stake for a fixed output', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.bigInt({ min: 0n, max: 1000n }),
        (o, s1, s2) => {
          const [lo, hi] = s1 <= s2 ? [s1, s2] : [s2, s1];
          if (isLeader(o, lo, 1000n, C)) expect(isLeader(o, hi, 1000n, C)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
