import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from './index';

describe('Backoff', () => {
  it('doubles from 250 ms up to the 30 s cap without jitter, and reset starts over', () => {
    const b = new Backoff({ initialMs: 250, maxMs: 30_000, jitter: 0 });
    const seq = Array.from({ length: 10 }, () => b.next());
    expect(seq).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    b.reset();
    expect(b.next()).toBe(250);
  });

  it('every delay lies within [(1 − jitter)·base, base] and never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 80 }),
        (initialMs, factor, jitter, draws) => {
          const maxMs = initialMs * factor;
          let i = 0;
          const b = new Backoff({ initialMs, maxMs, jitter, random: () => draws[i++ % draws.length]! });
          for (let n = 0; n < draws.length; n++) {
            const base = Math.min(maxMs, initialMs * 2 ** n);
            const d = b.next();
            expect(d).toBeLessThanOrEqual(maxMs);
            expect(d).toBeLessThanOrEqual(Math.round(base));
            expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
            expect(d).toBeGreaterThan(0);
          }
        },
      ),
    );
  });

  it('rejects nonsensical bounds', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 500, maxMs: 100 })).toThrow(RangeError);
    expect(() => new Backoff({ jitter: 2 })).toThrow(RangeError);
  });
});
