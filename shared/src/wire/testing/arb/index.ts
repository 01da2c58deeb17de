/**
 * fast-check arbitraries for wire messages (test support only; imports fast-check, so production
 * code must not import this module).
 *
 * @module
 */
import fc from 'fast-check';
import { CborMap, type CborValue, encodeValue } from '../../../cbor/index';
import type { BlockNo, Hash32, Slot } from '../../../types/index';
import { type EbPoint, type Point, type RawItem, raw, type Tip } from '../../common/index';

export const hash32: fc.Arbitrary<Hash32> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => b as Hash32);
export const slot: fc.Arbitrary<Slot> = fc.nat({ max: 2 ** 40 }).map((s) => s as Slot);
export const point: fc.Arbitrary<Point> = fc.option(fc.record({ slot, hash: hash32 }), { nil: null });
export const ebPoint: fc.Arbitrary<EbPoint> = fc.record({ slot, hash: hash32 });
export const tip: fc.Arbitrary<Tip> = fc.record({ point, blockNo: fc.nat({ max: 2 ** 32 }).map((n) => n as BlockNo) });

/** Canonical CBOR values (definite, no tags/floats), map keys distinct. */
export const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.nat(),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
    fc.integer({ min: -1_000_000, max: -1 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ maxLength: 12 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.nat(), tie('v')), { maxLength: 3, selector: (e) => e[0] })
      .map((es) => new CborMap(es as Array<[CborValue, CborValue]>)),
  ),
})).v;

/** A raw nested item (any canonical CBOR item, ≤ maxLen bytes). */
export function rawItem(maxLen = 256): fc.Arbitrary<RawItem> {
  return cborValue.map((v) => encodeValue(v)).filter((b) => b.length <= maxLen).map(raw);
}
