import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCopyBinaryBytes, decodeCopyBinaryIndexed, encodeCopyBinary, packBlobs, packHashes } from './copy';

describe('binary COPY codec', () => {
  it('round-trips (int4, bytea) tuples in any order, placing them by index (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), fc.integer(), (blobs, seed) => {
        const order = blobs.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97));
        const data = encodeCopyBinary(
          2,
          order.map((i) => [
            { t: 'int4', v: i },
            { t: 'bytes', v: blobs[i]! },
          ]),
        );
        const back = decodeCopyBinaryIndexed(data);
        expect(back.map((b) => [...b])).toEqual(blobs.map((b) => [...b]));
      }),
    );
  });

  it('round-trips single bytea columns and encodes NULL and int8 per the Postgres format', () => {
    const rows = [[{ t: 'bytes' as const, v: new Uint8Array([1, 2]) }], [{ t: 'bytes' as const, v: new Uint8Array(0) }]];
    expect(decodeCopyBinaryBytes(encodeCopyBinary(1, rows)).map((b) => [...b])).toEqual([[1, 2], []]);
    const enc = encodeCopyBinary(2, [[null, { t: 'int8', v: 258 }]]);
    // signature(11) flags(4) ext(4) | count 0002 | len ffffffff | len 00000008 value | trailer ffff
    expect(Buffer.from(enc.subarray(19)).toString('hex')).toBe('0002ffffffff000000080000000000000102ffff');
    expect(() => decodeCopyBinaryBytes(new Uint8Array(21))).toThrow(/not a binary COPY/);
  });

  it('packs hashes and blobs for SQL-side splitting', () => {
    expect(packHashes([new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]).length).toBe(64);
    expect(() => packHashes([new Uint8Array(31)])).toThrow();
    expect([...packBlobs([new Uint8Array([1]), new Uint8Array([2, 3])])]).toEqual([1, 2, 3]);
  });
});
