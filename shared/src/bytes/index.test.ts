import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToBigInt, compareBytes, concatBytes, fromHex, toHex, u64be } from './index';

describe('bytes', () => {
  it('hex round-trips', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
      }));
  });
  it('rejects bad hex', () => {
    expect(() => fromHex('0')).toThrow(RangeError);
    expect(() => fromHex('zz')).toThrow(RangeError);
  });
  it('u64be is big-endian', () => {
    expect(toHex(u64be(258))).toBe('0000000000000102');
    expect(bytesToBigInt(u64be(2n ** 63n))).toBe(2n ** 63n);
  });
  it('compare and concat', () => {
    expect(compareBytes(fromHex('01'), fromHex('0100'))).toBeLessThan(0);
    expect(compareBytes(fromHex('02'), fromHex('0100'))).toBeGreaterThan(0);
    expect(toHex(concatBytes(fromHex('01'), fromHex('0203')))).toBe('010203');
  });
});
