import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, fromHex, toHex } from '../../bytes/index';
import { CborReader, CborWriter } from '../../cbor/index';
import { blake2b256 } from '../../crypto/blake2b';
import { DecodeError, ValidationError } from '../../errors/index';
import { checkClosureTx, DEFAULT_EB_LIMITS, decodeEb, ebEncodedLength, ebMatchesAnnouncement, encodeEb } from './index';

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return 'ok';
};

const ref = fc.record({ hash: fc.uint8Array({ minLength: 32, maxLength: 32 }), size: fc.integer({ min: 1, max: 16_384 }) });
const refs = fc.uniqueArray(ref, { minLength: 1, maxLength: 60, selector: (r) => toHex(r.hash) });

/** Hand-encode an EB with the generic writer (no checks), for building bad inputs. */
function rawEb(entries: Array<[Uint8Array, number]>): Uint8Array {
  const w = new CborWriter();
  w.map(entries.length);
  for (const [k, v] of entries) w.bytes(k).uint(v);
  return w.finish();
}

/** Reference decoder over the generic strict reader: the same rules, written the slow way. */
function slowDecode(bytes: Uint8Array): Array<[string, number]> {
  const lim = DEFAULT_EB_LIMITS;
  if (bytes.length > lim.maxEbSize) throw new DecodeError('eb', 'limit', 'size', 0);
  const r = new CborReader(bytes);
  const n = r.readMap('eb', { min: 1 });
  const out: Array<[string, number]> = [];
  const seen = new Set<string>();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const k = toHex(r.readBytes('k', { len: 32 }));
    if (seen.has(k)) throw new DecodeError('eb', 'duplicate-key', 'dup', 0);
    seen.add(k);
    const v = r.readUint('v', 0xffffffff);
    if (v < 1 || v > lim.maxTxSize) throw new DecodeError('eb', 'value', 'size', 0);
    sum += v;
    if (sum > lim.maxEbTxBytes) throw new DecodeError('eb', 'limit', 'sum', 0);
    out.push([k, v]);
  }
  r.done('eb');
  return out;
}

describe('EB codec (§4.3)', () => {
  it('round-trips: encode → decode gives the same bytes, order and sizes', () => {
    fc.assert(
      fc.property(refs, (rs) => {
        const bytes = encodeEb(rs);
        const eb = decodeEb(bytes);
        expect(eb.bytes).toBe(bytes);
        expect(eb.count).toBe(rs.length);
        expect(bytes.length).toBe(ebEncodedLength(rs.map((r) => r.size)));
        rs.forEach((r, i) => {
          expect(toHex(eb.hashAt(i))).toBe(toHex(r.hash));
          expect(eb.sizeAt(i)).toBe(r.size);
        });
        expect(eb.refs.map((r) => [toHex(r.hash), r.size])).toEqual(rs.map((r) => [toHex(r.hash), r.size]));
        expect(eb.totalTxBytes).toBe(rs.reduce((a, r) => a + r.size, 0));
        expect(toHex(eb.hash)).toBe(toHex(blake2b256(bytes)));
        // hashes are views into the received bytes (§1.3), not copies
        expect(eb.hashAt(0).buffer).toBe(bytes.buffer);
      }),
    );
  });

  it('§16 case 2: non-minimal head, indefinite map, duplicate key, empty map, S_EB + 1 bytes are rejected', () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const five = [1, 2, 3, 4, 5].map((i): [Uint8Array, number] => [new Uint8Array(32).fill(i), 100 + i]);
    const good = rawEb(five);
    expect(reason(() => decodeEb(good))).toBe('ok');
    // B9 00 05: the same five entries behind a non-minimal map head
    const nonMinimal = concatBytes(fromHex('b90005'), good.subarray(1));
    expect(reason(() => decodeEb(nonMinimal))).toBe('non-canonical');
    expect(reason(() => decodeEb(concatBytes(fromHex('b805'), good.subarray(1))))).toBe('non-canonical');
    // BF … FF
    expect(reason(() => decodeEb(concatBytes(fromHex('bf'), good.subarray(1), fromHex('ff'))))).toBe('indefinite');
    expect(reason(() => decodeEb(rawEb([[k1, 10], [k2, 20], [k1, 30]])))).toBe('duplicate-key');
    expect(reason(() => decodeEb(fromHex('a0')))).toBe('value');
    // S_EB + 1 bytes: a well-formed EB that is one byte too long, rejected on length alone
    // 3 (map head) + 14,628 entries of 35 bytes (size 1) + 9 × 2 extra bytes (size 300) = 512,001
    const entries: Array<[Uint8Array, number]> = [];
    for (let i = 0; i < 14_628; i++) {
      const k = new Uint8Array(32);
      new DataView(k.buffer).setUint32(0, i);
      entries.push([k, i < 9 ? 300 : 1]);
    }
    const big = rawEb(entries);
    expect(big.length).toBe(DEFAULT_EB_LIMITS.maxEbSize + 1);
    expect(reason(() => decodeEb(big))).toBe('limit');
    expect(reason(() => decodeEb(big, { ...DEFAULT_EB_LIMITS, maxEbSize: big.length }))).toBe('ok');
    // the length check comes first: S_EB + 1 bytes of garbage also give `limit`
    expect(reason(() => decodeEb(new Uint8Array(DEFAULT_EB_LIMITS.maxEbSize + 1).fill(0xff)))).toBe('limit');
  });

  it('rejects size 0, sizes above MAX_TX_SIZE or uint .size 4, and sums above S_EB_tx', () => {
    const k = (i: number) => new Uint8Array(32).fill(i);
    expect(reason(() => decodeEb(rawEb([[k(1), 0]])))).toBe('value');
    expect(reason(() => decodeEb(rawEb([[k(1), 16_385]])))).toBe('limit');
    expect(reason(() => decodeEb(rawEb([[k(1), 16_384]])))).toBe('ok');
    expect(reason(() => decodeEb(rawEb([[k(1), 2 ** 32]])))).toBe('limit');
    expect(reason(() => decodeEb(rawEb([[k(1), 2 ** 32]]), { ...DEFAULT_EB_LIMITS, maxTxSize: 2 ** 33 }))).toBe('limit');
    const lim = { ...DEFAULT_EB_LIMITS, maxEbTxBytes: 1000 };
    expect(reason(() => decodeEb(rawEb([[k(1), 500], [k(2), 500]]), lim))).toBe('ok');
    expect(reason(() => decodeEb(rawEb([[k(1), 500], [k(2), 501]]), lim))).toBe('limit');
  });

  it('rejects wrong key shapes, non-canonical sizes and trailing bytes', () => {
    const k = new Uint8Array(32).fill(9);
    const good = rawEb([[k, 300]]);
    expect(toHex(good)).toBe(`a15820${'09'.repeat(32)}19012c`);
    // key as a non-minimal byte string head 59 00 20
    expect(reason(() => decodeEb(fromHex(`a1590020${'09'.repeat(32)}19012c`)))).toBe('non-canonical');
    // 31-byte key (then the value lands on the wrong byte)
    expect(reason(() => decodeEb(fromHex(`a1581f${'09'.repeat(31)}19012c00`)))).toBe('non-canonical');
    // text key
    expect(reason(() => decodeEb(fromHex(`a17820${'09'.repeat(32)}19012c`)))).toBe('type');
    // size 300 as 1a 0000012c, size 24 as 18 18 is fine but 10 as 18 0a is not
    expect(reason(() => decodeEb(fromHex(`a15820${'09'.repeat(32)}1a0000012c`)))).toBe('non-canonical');
    expect(reason(() => decodeEb(fromHex(`a15820${'09'.repeat(32)}1818`)))).toBe('ok');
    expect(reason(() => decodeEb(fromHex(`a15820${'09'.repeat(32)}180a`)))).toBe('non-canonical');
    expect(reason(() => decodeEb(fromHex(`a15820${'09'.repeat(32)}390100`)))).toBe('type');
    expect(reason(() => decodeEb(fromHex(`a15820${'09'.repeat(32)}1c`)))).toBe('non-canonical');
    expect(reason(() => decodeEb(concatBytes(good, fromHex('00'))))).toBe('trailing');
    expect(reason(() => decodeEb(good.subarray(0, good.length - 1)))).toBe('truncated');
    expect(reason(() => decodeEb(fromHex('82')))).toBe('type');
    expect(reason(() => decodeEb(new Uint8Array(0)))).toBe('truncated');
  });

  it('finds duplicates among many keys, including keys that share most bytes', () => {
    const keys: Array<[Uint8Array, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const k = new Uint8Array(32).fill(0xaa);
      new DataView(k.buffer).setUint16(30, i);
      keys.push([k, 100]);
    }
    expect(decodeEb(rawEb(keys)).count).toBe(5000);
    keys.push([keys[4321]![0].slice(), 7]);
    expect(reason(() => decodeEb(rawEb(keys)))).toBe('duplicate-key');
  });

  it('fuzz: random bytes never raise anything but DecodeError, and agree with the generic reader', () => {
    const agree = (b: Uint8Array) => {
      let fast: Array<[string, number]> | string;
      let slow: Array<[string, number]> | string;
      try {
        const eb = decodeEb(b);
        fast = eb.refs.map((r) => [toHex(r.hash), r.size]);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        fast = 'error';
      }
      try {
        slow = slowDecode(b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        slow = 'error';
      }
      expect(fast).toEqual(slow);
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        agree(b);
      }),
      { numRuns: 2000 },
    );
    // mutations of valid EBs: flip, insert, delete bytes
    fc.assert(
      fc.property(refs, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete'), (rs, pos, byte, op) => {
        const bytes = encodeEb(rs);
        const at = pos % bytes.length;
        let m: Uint8Array;
        if (op === 'set') {
          m = bytes.slice();
          m[at] = byte;
        } else if (op === 'insert') m = concatBytes(bytes.subarray(0, at), Uint8Array.of(byte), bytes.subarray(at));
        else m = concatBytes(bytes.subarray(0, at), bytes.subarray(at + 1));
        agree(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('encoder refuses what receivers reject', () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof ValidationError) return e.field;
        throw e;
      }
      return 'ok';
    };
    const k = new Uint8Array(32);
    expect(field(() => encodeEb([]))).toBe('eb');
    expect(field(() => encodeEb([{ hash: k, size: 0 }]))).toBe('eb{0}.size');
    expect(field(() => encodeEb([{ hash: k, size: 16_385 }]))).toBe('eb{0}.size');
    expect(field(() => encodeEb([{ hash: new Uint8Array(31), size: 1 }]))).toBe('eb{0}.key');
    expect(field(() => encodeEb([{ hash: k, size: 1 }, { hash: k.slice(), size: 2 }]))).toBe('eb{1}.key');
    expect(field(() => encodeEb([{ hash: k, size: 10 }, { hash: new Uint8Array(32).fill(1), size: 10 }], { ...DEFAULT_EB_LIMITS, maxEbTxBytes: 19 }))).toBe('eb{1}.size');
    expect(field(() => encodeEb([{ hash: k, size: 10 }], { ...DEFAULT_EB_LIMITS, maxEbSize: 30 }))).toBe('eb');
  });
});

describe('closure checks (§4.3, §10.2)', () => {
  it('§16 case 3: a tx matching its reference hash but not its stated size invalidates the EB', () => {
    const tx = fromHex('8282825820'.padEnd(200, 'ab'));
    const h = blake2b256(tx);
    expect(checkClosureTx({ hash: h, size: tx.length }, tx)).toBe('ok');
    expect(checkClosureTx({ hash: h, size: tx.length + 1 }, tx)).toBe('size-mismatch');
    expect(checkClosureTx({ hash: h, size: tx.length - 1 }, tx)).toBe('size-mismatch');
    const other = tx.slice();
    other[5] = 0;
    expect(checkClosureTx({ hash: h, size: tx.length }, other)).toBe('hash-mismatch');
    // through a decoded EB
    const eb = decodeEb(encodeEb([{ hash: h, size: tx.length + 3 }]));
    expect(checkClosureTx({ hash: eb.hashAt(0), size: eb.sizeAt(0) }, tx)).toBe('size-mismatch');
  });

  it('checks the announced eb_size and hash', () => {
    const bytes = encodeEb([{ hash: new Uint8Array(32).fill(3), size: 99 }]);
    const eb = decodeEb(bytes);
    expect(ebMatchesAnnouncement(eb, { ebHash: blake2b256(bytes), ebSize: bytes.length })).toBe(true);
    expect(ebMatchesAnnouncement(eb, { ebHash: blake2b256(bytes), ebSize: bytes.length + 1 })).toBe(false);
    expect(ebMatchesAnnouncement(eb, { ebHash: new Uint8Array(32), ebSize: bytes.length })).toBe(false);
    expect(bytesEqual(eb.hash, blake2b256(bytes))).toBe(true);
  });
});
