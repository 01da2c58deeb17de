import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../bytes/index';
import { DecodeError } from '../errors/index';
import { CborMap, CborReader, type CborValue, CborWriter, decodeStrict, decodeValue, encodeValue } from './index';

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return 'ok';
};

/** Arbitrary canonical values (map keys made distinct by construction). */
const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.nat(),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
    fc.integer({ min: -1_000_000, max: -1 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.nat(), tie('v')), { maxLength: 4, selector: (e) => e[0] })
      .map((es) => new CborMap(es as Array<[CborValue, CborValue]>)),
  ),
})).v;

describe('CborReader / CborWriter', () => {
  it('encodes integers with the shortest head', () => {
    const enc = (n: number | bigint) => toHex(new CborWriter().uint(n).finish());
    expect(enc(0)).toBe('00');
    expect(enc(23)).toBe('17');
    expect(enc(24)).toBe('1818');
    expect(enc(255)).toBe('18ff');
    expect(enc(256)).toBe('190100');
    expect(enc(65536)).toBe('1a00010000');
    expect(enc(2 ** 32)).toBe('1b0000000100000000');
    expect(enc((1n << 64n) - 1n)).toBe('1bffffffffffffffff');
  });

  it('rejects non-minimal heads, indefinite lengths, tags, floats and odd simple values', () => {
    expect(reason(() => decodeValue(fromHex('1817')))).toBe('non-canonical');
    expect(reason(() => decodeValue(fromHex('190017')))).toBe('non-canonical');
    expect(reason(() => decodeValue(fromHex('1a0000ffff')))).toBe('non-canonical');
    expect(reason(() => decodeValue(fromHex('1b00000000ffffffff')))).toBe('non-canonical');
    expect(reason(() => decodeValue(fromHex('b90005')))).toBe('non-canonical'); // §16.2 non-minimal map head
    expect(reason(() => decodeValue(fromHex('9f01ff')))).toBe('indefinite');
    expect(reason(() => decodeValue(fromHex('bf0101ff')))).toBe('indefinite');
    expect(reason(() => decodeValue(fromHex('5f4101ff')))).toBe('indefinite');
    expect(reason(() => decodeValue(fromHex('c11a514b67b0')))).toBe('unsupported');
    expect(reason(() => decodeValue(fromHex('f93c00')))).toBe('unsupported');
    expect(reason(() => decodeValue(fromHex('f7')))).toBe('unsupported');
    expect(reason(() => decodeValue(fromHex('f820')))).toBe('unsupported');
    expect(reason(() => decodeValue(fromHex('1c')))).toBe('non-canonical');
  });

  it('rejects duplicate map keys, trailing bytes and truncation', () => {
    expect(reason(() => decodeValue(fromHex('a201010102')))).toBe('duplicate-key');
    expect(reason(() => decodeValue(fromHex('0101')))).toBe('trailing');
    expect(reason(() => decodeValue(fromHex('43 0102'.replace(' ', ''))))).toBe('truncated');
    expect(reason(() => decodeValue(fromHex('9a7fffffff')))).toBe('truncated');
  });

  it('checks a declared length against the input before allocating', () => {
    // a byte string claiming 2^32-1 bytes in a 5-byte input: refused without allocation
    expect(reason(() => decodeStrict(fromHex('5affffffff'), 'b', (r) => r.readBytes('b', { max: 100 })))).toBe('limit');
    expect(reason(() => decodeStrict(fromHex('5affffffff'), 'b', (r) => r.readBytes('b')))).toBe('truncated');
    expect(reason(() => decodeStrict(fromHex('9b00000001000000000000'), 'a', (r) => r.readArray('a')))).toBe('truncated');
  });

  it('reports the path and offset of the bad field', () => {
    try {
      decodeStrict(fromHex('8301020f'), 'vote', (r) => {
        r.readArray('vote', { len: 3 });
        r.readUint('vote.a');
        r.readUint('vote.b');
        r.readBytes('vote.sig', { len: 48 });
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      const d = e as DecodeError;
      expect(d.path).toBe('vote.sig');
      expect(d.reason).toBe('type');
      expect(d.offset).toBe(3);
    }
  });

  it('reads raw spans as views of the input', () => {
    const bytes = fromHex('82a1010243010203');
    const r = new CborReader(bytes);
    r.readArray('x', { len: 2 });
    const a = r.readRaw('x.0');
    const b = r.readRaw('x.1');
    r.done('x');
    expect(toHex(a)).toBe('a10102');
    expect(toHex(b)).toBe('43010203');
    expect(a.buffer).toBe(bytes.buffer);
  });

  it('accepts an indefinite map only where asked', () => {
    const bytes = fromHex('bf0001ff');
    const r = new CborReader(bytes);
    expect(r.readMapMaybeIndefinite('m')).toBe(-1);
    expect(r.readUint('k')).toBe(0);
    expect(r.readUint('v')).toBe(1);
    expect(r.atBreak()).toBe(true);
    r.readBreak('m');
    r.done('m');
  });

  it('round-trips arbitrary canonical values (fast-check)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeValue(v);
        const back = decodeValue(bytes);
        expect(encodeValue(back)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but DecodeError on random or mutated input (fuzz)', () => {
    const seeds = fc.sample(value, 50).map((v) => encodeValue(v));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 }))
            .map(([s, i, b]) => {
              const m = s.slice();
              if (m.length > 0) m[i % m.length] = b;
              return m;
            }),
          fc.tuple(fc.constantFrom(...seeds), fc.nat()).map(([s, n]) => s.subarray(0, n % (s.length + 1))),
        ),
        (bytes) => {
          try {
            const v = decodeValue(bytes);
            // whatever decodes must re-encode to exactly the input: one encoding per value
            expect(encodeValue(v)).toEqual(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
