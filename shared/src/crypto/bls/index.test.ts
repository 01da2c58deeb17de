import { bls12_381 } from '@noble/curves/bls12-381.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, bytesToBigInt, fromHex, toHex } from '../../bytes/index';
import { CryptoError } from '../../errors/index';
import {
  aggregatePublicKeys,
  aggregateSignatures,
  BLS_P,
  BLS_R,
  BlsDecodeError,
  type BlsDecodeReason,
  blsKeyGen,
  blsPublicKey,
  blsSign,
  blsVerify,
  DecodedKeyCache,
  decodePublicKey,
  decodeSignature,
  encodePublicKey,
  encodeSignature,
  hashToG1,
  POP_DST,
  popProve,
  popVerify,
  SIG_DST,
  verifySingle,
  voteMessage,
} from './index';

const Fp = bls12_381.fields.Fp;
const Fp2 = bls12_381.fields.Fp2;

function seed(i: number): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = 0x5e;
  s[31] = i;
  return s;
}
const K1 = blsKeyGen(seed(1));
const K2 = blsKeyGen(seed(2));
const RB = fromHex('11'.repeat(32));
const MSG = voteMessage(RB);

function be48(x: bigint): Uint8Array {
  const out = new Uint8Array(48);
  for (let i = 47; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function reasonOf(f: () => unknown): BlsDecodeReason | 'none' {
  try {
    f();
    return 'none';
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    expect(e).toBeInstanceOf(BlsDecodeError);
    return (e as BlsDecodeError).decodeReason;
  }
}

const isSquareFp = (a: bigint): boolean => a === 0n || Fp.pow(a, (BLS_P - 1n) / 2n) === 1n;
// An Fp2 element is a square iff its norm c0² + c1² is a square in Fp (p ≡ 3 mod 4).
const isSquareFp2 = (a: { c0: bigint; c1: bigint }): boolean => isSquareFp(Fp.add(Fp.sqr(a.c0), Fp.sqr(a.c1)));

/** Smallest x >= start whose curve right-hand side x³ + 4 is (or is not) a square in Fp. */
function g1X(start: bigint, square: boolean): bigint {
  for (let x = start; ; x++) if (isSquareFp(Fp.add(Fp.pow(x, 3n), 4n)) === square) return x;
}
function g2X(start: bigint, square: boolean): { c0: bigint; c1: bigint } {
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let k = start; ; k++) {
    const x = Fp2.create({ c0: k, c1: 1n });
    if (isSquareFp2(Fp2.add(Fp2.mul(Fp2.sqr(x), x), b)) === square) return x;
  }
}
function encG1x(x: bigint): Uint8Array {
  const b = be48(x);
  b[0]! |= 0x80;
  return b;
}
function encG2x(x: { c0: bigint; c1: bigint }): Uint8Array {
  const out = new Uint8Array(96);
  out.set(be48(x.c1), 0);
  out.set(be48(x.c0), 48);
  out[0]! |= 0x80;
  return out;
}

describe('BLS keys (PROTOCOL.md §2.3)', () => {
  it('KeyGen matches the EIP-2333 derive_master_SK vectors (same HKDF construction)', () => {
    const vectors: Array<[string, string]> = [
      [
        'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
        '6083874454709270928345386274498605044986640685124978867557563392430687146096',
      ],
      [
        '3141592653589793238462643383279502884197169399375105820974944592',
        '29757020647961307431480504535336562678282505419141012933316116377660817309383',
      ],
      [
        '0099ff991111002299dd7744ee3355bbdd8844115566cc55663355668888cc00',
        '27580842291869792442942448775674722299803720648445448686099262467207037398656',
      ],
    ];
    for (const [s, sk] of vectors) {
      const kp = blsKeyGen(fromHex(s));
      expect(bytesToBigInt(kp.secretKey)).toBe(BigInt(sk));
      expect(kp.secretKey.length).toBe(32);
      expect(kp.publicKey).toEqual(blsPublicKey(kp.secretKey));
      expect(kp.publicKey).toEqual(encodePublicKey(bls12_381.G2.Point.BASE.multiply(BigInt(sk))));
    }
  });

  it('secret keys must satisfy 0 < sk < r; seeds must have >= 32 bytes', () => {
    expect(() => blsPublicKey(new Uint8Array(32))).toThrow(CryptoError);
    const r = fromHex(BLS_R.toString(16).padStart(64, '0'));
    expect(() => blsPublicKey(r)).toThrow(CryptoError);
    expect(() => blsSign(r, MSG)).toThrow(CryptoError);
    const rMinus1 = fromHex((BLS_R - 1n).toString(16).padStart(64, '0'));
    expect(blsPublicKey(rMinus1).length).toBe(96);
    expect(() => blsKeyGen(new Uint8Array(31))).toThrow(CryptoError);
  });
});

describe('RFC 9380 hash to G1, suite BLS12381G1_XMD:SHA-256_SSWU_RO_ (Appendix J.9.1)', () => {
  const DST = 'QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_';
  const vectors: Array<[string, string, string]> = [
    [
      '',
      '052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1',
      '08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265',
    ],
    [
      'abc',
      '03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903',
      '0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d',
    ],
    [
      'abcdef0123456789',
      '11e0b079dea29a68f0383ee94fed1b940995272407e3bb916bbf268c263ddd57a6a27200a784cbc248e84f357ce82d98',
      '03a87ae2caf14e8ee52e51fa2ed8eefe80f02457004ba4d486d6aa1f517c0889501dc7413753f9599b099ebcbbd2d709',
    ],
    [
      `q128_${'q'.repeat(128)}`,
      '15f68eaa693b95ccb85215dc65fa81038d69629f70aeee0d0f677cf22285e7bf58d7cb86eefe8f2e9bc3f8cb84fac488',
      '1807a1d50c29f430b8cafc4f8638dfeeadf51211e1602a5f184443076715f91bb90a48ba1e370edce6ae1062f5e6dd38',
    ],
    [
      `a512_${'a'.repeat(512)}`,
      '082aabae8b7dedb0e78aeb619ad3bfd9277a2f77ba7fad20ef6aabdc6c31d19ba5a6d12283553294c1825c4b3ca2dcfe',
      '05b84ae5a942248eea39e1d91030458c40153f3b654ab7872d779ad1e942856a20c438e8d99bc8abfbf74729ce1f7ac8',
    ],
  ];
  for (const [msg, x, y] of vectors) {
    it(`msg = "${msg.slice(0, 8)}${msg.length > 8 ? '…' : ''}"`, () => {
      const p = hashToG1(ascii(msg), DST).toAffine();
      expect(p.x.toString(16).padStart(96, '0')).toBe(x);
      expect(p.y.toString(16).padStart(96, '0')).toBe(y);
    });
  }

  it('the signing and PoP DSTs give different points from each other and from _NUL_', () => {
    const a = hashToG1(MSG, SIG_DST);
    const b = hashToG1(MSG, POP_DST);
    const c = hashToG1(MSG, 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_');
    expect(a.equals(b)).toBe(false);
    expect(a.equals(c)).toBe(false);
    // noble's own default DST is _NUL_, which is why every call here passes one explicitly
    expect(bls12_381.shortSignatures.hash(MSG).equals(c)).toBe(true);
  });
});

describe('sign / verify / PoP', () => {
  it('sign and verify a vote message; wrong key, message or signature fail', () => {
    const sig = blsSign(K1.secretKey, MSG);
    expect(sig.length).toBe(48);
    expect(blsVerify(K1.publicKey, MSG, sig)).toBe(true);
    expect(verifySingle(K1.publicPoint, MSG, decodeSignature(sig))).toBe(true);
    expect(blsVerify(K2.publicKey, MSG, sig)).toBe(false);
    expect(blsVerify(K1.publicKey, voteMessage(fromHex('12'.repeat(32))), sig)).toBe(false);
    expect(blsVerify(K1.publicKey, MSG, blsSign(K2.secretKey, MSG))).toBe(false);
    // signing is deterministic (unique signatures, §2.3)
    expect(blsSign(K1.secretKey, MSG)).toEqual(sig);
  });

  it('§16 case 7: a signature under the _NUL_ DST or the PoP DST fails vote verification', () => {
    const nul = bls12_381.shortSignatures.sign(bls12_381.shortSignatures.hash(MSG), K1.secretKey);
    // control: noble accepts it under its own default (_NUL_) hash
    expect(bls12_381.shortSignatures.verify(nul, bls12_381.shortSignatures.hash(MSG), K1.publicPoint)).toBe(true);
    expect(blsVerify(K1.publicKey, MSG, encodeSignature(nul))).toBe(false);
    expect(blsVerify(K1.publicKey, MSG, blsSign(K1.secretKey, MSG, POP_DST))).toBe(false);
    expect(blsVerify(K1.publicKey, MSG, blsSign(K1.secretKey, MSG, 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_'))).toBe(
      false,
    );
  });

  it('§16 case 8: a PoP over a different key fails; a PoP checked under the signing DST fails', () => {
    const pop1 = popProve(K1.secretKey);
    expect(popVerify(K1.publicKey, pop1)).toBe(true);
    expect(popVerify(K2.publicKey, pop1)).toBe(false);
    // K2's key signing K1's key bytes is not a PoP for either
    expect(popVerify(K1.publicKey, blsSign(K2.secretKey, K1.publicKey, POP_DST))).toBe(false);
    // the PoP checked as an ordinary signature over the key bytes (signing DST) fails …
    expect(blsVerify(K1.publicKey, K1.publicKey, pop1, SIG_DST)).toBe(false);
    // … and an ordinary signature over the key bytes is not a PoP
    expect(popVerify(K1.publicKey, blsSign(K1.secretKey, K1.publicKey, SIG_DST))).toBe(false);
  });

  it('a signature round-trips through encode/decode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (m) => {
        const sig = blsSign(K2.secretKey, m);
        expect(encodeSignature(decodeSignature(sig))).toEqual(sig);
        expect(blsVerify(K2.publicPoint, m, sig)).toBe(true);
      }),
      { numRuns: 8 },
    );
  });
});

describe('strict point decoding (§2.3; §16 cases 9, 10)', () => {
  const sig = blsSign(K1.secretKey, MSG);
  const pk = K1.publicKey;

  it('valid points decode and re-encode to the same bytes', () => {
    expect(encodeSignature(decodeSignature(sig))).toEqual(sig);
    expect(encodePublicKey(decodePublicKey(pk))).toEqual(pk);
  });

  it('case 9: identity points (C0 then zeros) are rejected as key, signature, PoP and aggregate', () => {
    const id48 = new Uint8Array(48);
    id48[0] = 0xc0;
    const id96 = new Uint8Array(96);
    id96[0] = 0xc0;
    expect(reasonOf(() => decodeSignature(id48))).toBe('infinity');
    expect(reasonOf(() => decodePublicKey(id96))).toBe('infinity');
    // noble itself would accept them as points: the rejection is ours
    expect(bls12_381.shortSignatures.Signature.fromBytes(id48).is0()).toBe(true);
    expect(bls12_381.G2.Point.fromBytes(id96).is0()).toBe(true);
    expect(popVerify(id96, popProve(K1.secretKey))).toBe(false);
    expect(popVerify(pk, id48)).toBe(false);
    expect(blsVerify(pk, MSG, id48)).toBe(false);
    expect(blsVerify(id96, MSG, sig)).toBe(false);
    const s = decodeSignature(sig);
    expect(() => aggregateSignatures([s, s.negate()])).toThrow(CryptoError);
    expect(() => aggregatePublicKeys([K1.publicPoint, K1.publicPoint.negate()])).toThrow(CryptoError);
    expect(() => aggregateSignatures([])).toThrow(CryptoError);
    expect(aggregateSignatures([s, s]).equals(s.double())).toBe(true);
  });

  it('case 10: wrong length', () => {
    expect(reasonOf(() => decodeSignature(sig.subarray(0, 47)))).toBe('length');
    expect(reasonOf(() => decodeSignature(new Uint8Array([...sig, 0])))).toBe('length');
    expect(reasonOf(() => decodePublicKey(pk.subarray(0, 95)))).toBe('length');
    expect(reasonOf(() => decodePublicKey(new Uint8Array([...pk, 0])))).toBe('length');
    // a 96-byte uncompressed G1 point (noble's point decoder accepts it) is not a signature
    const uncompressed = decodeSignature(sig).toBytes(false);
    expect(uncompressed.length).toBe(96);
    expect(reasonOf(() => decodeSignature(uncompressed))).toBe('length');
    // a 192-byte uncompressed G2 key is not a key
    expect(reasonOf(() => decodePublicKey(K1.publicPoint.toBytes(false)))).toBe('length');
  });

  it('case 10: compression flag clear', () => {
    const s = sig.slice();
    s[0]! &= 0x7f;
    expect(reasonOf(() => decodeSignature(s))).toBe('compression-flag');
    const p = pk.slice();
    p[0]! &= 0x7f;
    expect(reasonOf(() => decodePublicKey(p))).toBe('compression-flag');
  });

  it('case 10: coordinate >= p', () => {
    expect(reasonOf(() => decodeSignature(encG1x(BLS_P)))).toBe('coordinate-range');
    // x = p + (a valid x): would decode to a valid point if reduced mod p
    const validX = decodeSignature(sig).toAffine().x;
    if (validX + BLS_P < 1n << 381n) {
      expect(reasonOf(() => decodeSignature(encG1x(validX + BLS_P)))).toBe('coordinate-range');
    }
    const x2 = K1.publicPoint.toAffine().x;
    expect(reasonOf(() => decodePublicKey(encG2x({ c0: x2.c0, c1: BLS_P })))).toBe('coordinate-range');
    expect(reasonOf(() => decodePublicKey(encG2x({ c0: BLS_P, c1: x2.c1 })))).toBe('coordinate-range');
    expect(reasonOf(() => decodePublicKey(encG2x({ c0: x2.c0 + BLS_P, c1: x2.c1 })))).toBe('coordinate-range');
    // control: the same coordinates reduced decode fine
    expect(reasonOf(() => decodePublicKey(encG2x(x2)))).toBe('none');
  });

  it('case 10: x not on the curve', () => {
    expect(reasonOf(() => decodeSignature(encG1x(g1X(1n, false))))).toBe('not-on-curve');
    expect(reasonOf(() => decodePublicKey(encG2x(g2X(1n, false))))).toBe('not-on-curve');
  });

  it('case 10: on-curve point outside the prime-order subgroup', () => {
    const x1 = g1X(1n, true);
    // independent check that the point has order != r: r·P != 0
    const P1 = bls12_381.G1.Point.fromAffine({ x: x1, y: Fp.sqrt(Fp.add(Fp.pow(x1, 3n), 4n)) });
    expect(P1.multiplyUnsafe(BLS_R - 1n).add(P1).is0()).toBe(false);
    expect(reasonOf(() => decodeSignature(encG1x(x1)))).toBe('not-in-subgroup');
    const x2 = g2X(1n, true);
    const b2 = Fp2.create({ c0: 4n, c1: 4n });
    const P2 = bls12_381.G2.Point.fromAffine({ x: x2, y: Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x2), x2), b2)) });
    expect(P2.multiplyUnsafe(BLS_R - 1n).add(P2).is0()).toBe(false);
    expect(reasonOf(() => decodePublicKey(encG2x(x2)))).toBe('not-in-subgroup');
    // and as a vote signature it is simply invalid, never thrown past blsVerify
    expect(blsVerify(pk, MSG, encG1x(x1))).toBe(false);
  });

  it('arbitrary 48 / 96 bytes either decode to a valid point or fail with BlsDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (b) => {
        b[0]! = (b[0]! & 0x1f) | 0x80; // compressed, finite: exercise the range / curve / subgroup paths
        const r = reasonOf(() => decodeSignature(b));
        expect(['none', 'coordinate-range', 'not-on-curve', 'not-in-subgroup']).toContain(r);
      }),
      { numRuns: 40 },
    );
  });
});

describe('DecodedKeyCache', () => {
  it('decodes once, returns the cached point, caches failures and stays bounded', () => {
    const cache = new DecodedKeyCache(2);
    const a = cache.get(K1.publicKey);
    expect(cache.get(K1.publicKey)).toBe(a);
    expect(a.equals(K1.publicPoint)).toBe(true);
    const bad = K2.publicKey.slice();
    bad[0]! &= 0x7f;
    expect(() => cache.get(bad)).toThrow(BlsDecodeError);
    expect(() => cache.get(bad)).toThrow(/compression-flag/);
    expect(cache.size).toBe(2);
    cache.get(K2.publicKey); // evicts the least recently used (K1)
    expect(cache.size).toBe(2);
    expect(cache.get(K1.publicKey)).not.toBe(a);
    expect(toHex(encodePublicKey(cache.get(K2.publicKey)))).toBe(toHex(K2.publicKey));
  });
});
