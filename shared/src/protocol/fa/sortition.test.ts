import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortitionError, ValidationError } from '../../errors/index';
import type { Rational } from '../params/index';
import { faSeatCount, MAX_SORTITION_TERMS } from './index';

const TWO_256 = 1n << 256n;

/** Exact `[L_m, U_m]` bracket of e^λ as rationals (the §6.7 formulas, written out independently). */
function expBracket(l: Rational, m: number): { L: Rational; U: Rational } {
  let num = 0n;
  let den = 1n;
  let termNum = 1n; // λ^j/j! = termNum/termDen
  let termDen = 1n;
  for (let j = 0; j <= m; j++) {
    if (j > 0) {
      termNum *= l.num;
      termDen *= l.den * BigInt(j);
    }
    num = num * termDen + termNum * den;
    den *= termDen;
  }
  // next term λ^(m+1)/(m+1)! times (m+2)/(m+2−λ)
  const tNum = termNum * l.num * BigInt(m + 2) * l.den;
  const tDen = termDen * l.den * BigInt(m + 1) * (BigInt(m + 2) * l.den - l.num);
  return { L: { num, den }, U: { num: num * tDen + tNum * den, den: den * tDen } };
}

/**
 * Reference seat count in fixed point with P fractional bits: e^λ·2^P from exactly floored series
 * terms (error < J + 3), A_k exact, decision `A_k > σ·e^λ` only where the error cannot flip it.
 * Returns undefined if some comparison is within the error (then the property skips the case).
 */
function referenceSeats(l: Rational, sigma: Rational, cap: number, P = 1024n): number | undefined {
  const one = 1n << P;
  // e^λ·2^P: Σ floor(2^P·a^j/(b^j·j!)) until the term is 0 and j + 2 >= 2λ (tail < 2)
  let eLow = 0n;
  let j = 0;
  let pa = 1n;
  let pb = 1n;
  for (;;) {
    const t = (one * pa) / pb;
    eLow += t;
    if (t === 0n && BigInt(j + 2) * l.den >= 2n * l.num) break;
    j++;
    pa *= l.num;
    pb *= l.den * BigInt(j);
  }
  const eHigh = eLow + BigInt(j + 3);
  // A_k = aNum/aDen incrementally
  let aNum = 1n;
  let aDen = 1n;
  let tNum = 1n;
  let tDen = 1n;
  for (let k = 0; k < cap; k++) {
    if (k > 0) {
      tNum *= l.num;
      tDen *= l.den * BigInt(k);
      aNum = aNum * tDen + tNum * aDen;
      aDen *= tDen;
    }
    // A_k > σ·e^λ  ⇔  aNum·q·2^P > p·e·aDen
    const lhs = aNum * sigma.den * one;
    if (lhs > sigma.num * eHigh * aDen) return k;
    if (lhs <= sigma.num * eLow * aDen) continue;
    return undefined;
  }
  return cap;
}

const lambdaArb = fc
  .record({ num: fc.bigInt({ min: 0n, max: 8000n }), den: fc.bigInt({ min: 1n, max: 1000n }) })
  .filter((l) => l.num <= 8n * l.den);
const sigmaArb = fc.bigInt({ min: 0n, max: TWO_256 - 1n }).map((y) => ({ num: y, den: TWO_256 }));

describe('local sortition seat count (PROTOCOL.md §6.7)', () => {
  it('small examples: λ = 1/2 gives 0 seats below e^−1/2 ≈ 0.6065 and 1 up to 0.9098', () => {
    const half = { num: 1n, den: 2n };
    expect(faSeatCount(half, { num: 1n, den: 2n }, 5)).toBe(0);
    expect(faSeatCount(half, { num: 7n, den: 10n }, 5)).toBe(1);
    expect(faSeatCount(half, { num: 95n, den: 100n }, 5)).toBe(2);
    expect(faSeatCount(half, { num: 0n, den: 1n }, 5)).toBe(0);
  });

  for (const l of [
    { num: 1n, den: 2n },
    { num: 1n, den: 1n },
    { num: 1n, den: 7n },
    { num: 16n, den: 30n },
    { num: 123_456_789n, den: 987_654_321n },
  ]) {
    it(`§16 case 25: λ = ${l.num}/${l.den}, σ just below e^−λ gives 0 seats, just above gives >= 1`, () => {
      // e^λ < U_m  ⇒  1/U_m < e^−λ;  L_m < e^λ  ⇒  1/L_m > e^−λ; at m = 60 they are ~1/61! apart
      const { L, U } = expBracket(l, 60);
      const below = { num: U.den, den: U.num };
      const above = { num: L.den, den: L.num };
      expect(faSeatCount(l, below, 4)).toBe(0);
      expect(faSeatCount(l, above, 4)).toBeGreaterThanOrEqual(1);
      // the same at the 2^-256 resolution of a real σ: adjacent hash values straddle e^−λ
      const yBelow = (TWO_256 * U.den) / U.num;
      const yAbove = (TWO_256 * L.den + L.num - 1n) / L.num;
      expect(yAbove).toBe(yBelow + 1n);
      expect(faSeatCount(l, { num: yBelow, den: TWO_256 }, 4)).toBe(0);
      expect(faSeatCount(l, { num: yAbove, den: TWO_256 }, 4)).toBe(1);
    });
  }

  it('λ = 0 never seats; the cap n2 bounds the count; cap 0 gives 0', () => {
    fc.assert(
      fc.property(sigmaArb, (s) => {
        expect(faSeatCount({ num: 0n, den: 5n }, s, 10)).toBe(0);
      }),
      { numRuns: 50 },
    );
    // λ = 5, σ = 0.999: the Poisson quantile is 13, capped at 3
    expect(faSeatCount({ num: 5n, den: 1n }, { num: 999n, den: 1000n }, 100)).toBe(13);
    expect(faSeatCount({ num: 5n, den: 1n }, { num: 999n, den: 1000n }, 3)).toBe(3);
    expect(faSeatCount({ num: 5n, den: 1n }, { num: 999n, den: 1000n }, 0)).toBe(0);
  });

  it('a σ closer to a threshold than the term bound can separate throws SortitionError', () => {
    const l = { num: 1n, den: 2n };
    const { U } = expBracket(l, 60);
    const sigma = { num: U.den, den: U.num };
    expect(() => faSeatCount(l, sigma, 4, 10)).toThrow(SortitionError);
    try {
      faSeatCount(l, sigma, 4, 10);
    } catch (e) {
      expect((e as SortitionError).terms).toBe(10);
    }
    // a λ whose bracket cannot even start within the bound
    expect(() => faSeatCount({ num: 2000n, den: 1n }, { num: 1n, den: 2n }, 4, 1000)).toThrow(SortitionError);
    expect(MAX_SORTITION_TERMS).toBeGreaterThanOrEqual(256);
  });

  it('rejects λ < 0, σ outside [0, 1), a negative or fractional cap', () => {
    const l = { num: 1n, den: 2n };
    expect(() => faSeatCount({ num: -1n, den: 2n }, { num: 0n, den: 1n }, 1)).toThrow(ValidationError);
    expect(() => faSeatCount({ num: 1n, den: 0n }, { num: 0n, den: 1n }, 1)).toThrow(ValidationError);
    expect(() => faSeatCount(l, { num: 1n, den: 1n }, 1)).toThrow(ValidationError);
    expect(() => faSeatCount(l, { num: -1n, den: 2n }, 1)).toThrow(ValidationError);
    expect(() => faSeatCount(l, { num: 1n, den: 2n }, -1)).toThrow(ValidationError);
    expect(() => faSeatCount(l, { num: 1n, den: 2n }, 1.5)).toThrow(ValidationError);
  });

  it('property: the count is <= n2, non-decreasing in σ and in λ', () => {
    fc.assert(
      fc.property(lambdaArb, lambdaArb, sigmaArb, sigmaArb, fc.integer({ min: 0, max: 20 }), (l1, l2, s1, s2, cap) => {
        const [sLo, sHi] = s1.num <= s2.num ? [s1, s2] : [s2, s1];
        const kLo = faSeatCount(l1, sLo, cap);
        const kHi = faSeatCount(l1, sHi, cap);
        expect(kLo).toBeLessThanOrEqual(cap);
        expect(kHi).toBeLessThanOrEqual(cap);
        expect(kLo).toBeLessThanOrEqual(kHi);
        const [lLo, lHi] = l1.num * l2.den <= l2.num * l1.den ? [l1, l2] : [l2, l1];
        expect(faSeatCount(lLo, s1, cap)).toBeLessThanOrEqual(faSeatCount(lHi, s1, cap));
      }),
      { numRuns: 200 },
    );
  });

  it('property: agrees with a 1024-bit fixed-point reference on random σ', () => {
    fc.assert(
      fc.property(lambdaArb, sigmaArb, fc.integer({ min: 1, max: 20 }), (l, s, cap) => {
        const ref = referenceSeats(l, s, cap);
        fc.pre(ref !== undefined);
        expect(faSeatCount(l, s, cap)).toBe(ref);
      }),
      { numRuns: 300 },
    );
  });

  it('property: agrees with the reference for σ within ±2^16 ulps (of 2^-256) of a threshold e^−λ·A_k', () => {
    fc.assert(
      fc.property(
        lambdaArb.filter((l) => l.num > 0n),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: -65536, max: 65536 }),
        (l, k, delta) => {
          // threshold e^−λ·A_k ≈ A_k / U_80, to far better than 2^-256
          const { U } = expBracket(l, 80);
          const { L: A } = expBracket(l, k);
          const y = (TWO_256 * A.num * U.den) / (A.den * U.num) + BigInt(delta);
          fc.pre(y >= 0n && y < TWO_256);
          const s = { num: y, den: TWO_256 };
          const ref = referenceSeats(l, s, 8);
          fc.pre(ref !== undefined);
          expect(faSeatCount(l, s, 8)).toBe(ref);
        },
      ),
      { numRuns: 300 },
    );
  });
});
