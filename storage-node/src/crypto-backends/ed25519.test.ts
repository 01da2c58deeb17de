/**
 * Differential tests: the Node Ed25519 verifier must give exactly shared's strict answer
 * (PROTOCOL.md §2.2) on every input. Besides random and mutated signatures, the crafted cases
 * below are the ones where raw OpenSSL and noble disagree, and each asserts that the disagreement
 * really exists (so the test would fail if the pre-check or the fall-back were removed).
 */
import { createHash, createPublicKey, verify as opensslVerify } from 'node:crypto';
import { ED25519_L, ed25519KeyFromSeed, ed25519Sign, ed25519Verify } from '@leios/shared/crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNodeEd25519Verifier, SMALL_ORDER_ENCODINGS } from './ed25519';

const Point = ed25519.Point;
type EdPoint = InstanceType<typeof Point>;
const P = 2n ** 255n - 19n;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

function leBytes(n: bigint, len = 32): Uint8Array {
  const out = new Uint8Array(len);
  let x = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
function leNumber(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number);
  return n;
}
const modL = (x: bigint): bigint => ((x % ED25519_L) + ED25519_L) % ED25519_L;

/** k = SHA-512(R || A || M) mod L (RFC 8032 §5.1.7). */
function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return modL(leNumber(createHash('sha512').update(r).update(a).update(m).digest()));
}

/** The secret scalar of a seed (RFC 8032 §5.1.5). */
function secretScalar(seed: Uint8Array): bigint {
  return ed25519.utils.getExtendedPublicKey(seed).scalar;
}

/** Raw OpenSSL verify, without any pre-check or fall-back. */
function rawOpenssl(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pk]), format: 'der', type: 'spki' });
    return opensslVerify(null, msg, key, sig);
  } catch {
    return false;
  }
}

const sig64 = (r: Uint8Array, s: bigint): Uint8Array => {
  const out = new Uint8Array(64);
  out.set(r, 0);
  out.set(leBytes(s), 32);
  return out;
};

/** A point of order exactly 8. */
const T8: EdPoint = Point.fromBytes(unhex(SMALL_ORDER_ENCODINGS[4] as string));

const fast = createNodeEd25519Verifier();
function agree(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  const want = ed25519Verify(sig, msg, pk);
  expect(fast(sig, msg, pk)).toBe(want);
  return want;
}

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const msgArb = fc.uint8Array({ maxLength: 300 });

describe('Node Ed25519 verifier: RFC 8032 §7.1', () => {
  // TEST 1–3: secret key, public key, message, signature.
  const vectors: [string, string, string, string][] = [
    [
      '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    ],
    [
      '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    ],
    [
      'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    ],
  ];
  it.each(vectors.map((v, i) => [i + 1, ...v, vectors[(i + 1) % vectors.length]?.[1] ?? ''] as const))('TEST %i', (_n, sk, pk, msg, sig, otherPk) => {
    expect(hex(ed25519KeyFromSeed(unhex(sk)).publicKey)).toBe(pk);
    expect(hex(ed25519Sign(unhex(sk), unhex(msg)))).toBe(sig);
    expect(fast(unhex(sig), unhex(msg), unhex(pk))).toBe(true);
    expect(agree(unhex(sig), unhex(msg), unhex(pk))).toBe(true);
    // another message, another key
    expect(agree(unhex(sig), unhex(`${msg}00`), unhex(pk))).toBe(false);
    expect(otherPk).toHaveLength(64);
    expect(agree(unhex(sig), unhex(msg), unhex(otherPk))).toBe(false);
  });
});

describe('Node Ed25519 verifier: differential against shared (noble strict)', () => {
  it('agrees on random valid signatures (all true)', () => {
    fc.assert(
      fc.property(seedArb, msgArb, (seed, msg) => {
        const { publicKey } = ed25519KeyFromSeed(seed);
        expect(agree(ed25519Sign(seed, msg), msg, publicKey)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('agrees on signatures, keys and messages with one bit flipped', () => {
    fc.assert(
      fc.property(seedArb, msgArb, fc.constantFrom('sig', 'pk', 'msg'), fc.nat(), (seed, msg, what, at) => {
        const { publicKey } = ed25519KeyFromSeed(seed);
        const sig = ed25519Sign(seed, msg);
        const target = what === 'sig' ? sig : what === 'pk' ? publicKey.slice() : msg.slice();
        if (target.length === 0) return;
        const bit = at % (target.length * 8);
        target[bit >> 3] = (target[bit >> 3] as number) ^ (1 << (bit & 7));
        const [s, m, k] = what === 'sig' ? [target, msg, publicKey] : what === 'pk' ? [sig, msg, target] : [sig, target, publicKey];
        agree(s, m, k);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees on arbitrary bytes (including wrong lengths)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 62, maxLength: 66 }), msgArb, fc.uint8Array({ minLength: 31, maxLength: 33 }), (sig, msg, pk) => {
        agree(sig, msg, pk);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees when S is replaced by S + L, L, L + x, or 2^256 - 1 (all false, pre-rejected)', () => {
    const counting = createNodeEd25519Verifier();
    fc.assert(
      fc.property(seedArb, msgArb, fc.bigInt({ min: 0n, max: 2n ** 255n }), (seed, msg, x) => {
        const { publicKey } = ed25519KeyFromSeed(seed);
        const sig = ed25519Sign(seed, msg);
        const s = leNumber(sig.subarray(32));
        for (const bad of [s + ED25519_L, ED25519_L, ED25519_L + (x % (2n ** 256n - ED25519_L)), 2n ** 256n - 1n]) {
          if (bad >= 2n ** 256n) continue;
          const forged = sig64(sig.subarray(0, 32), bad);
          // S + L satisfies the group equation: OpenSSL alone would reject it too, but the
          // answer must not depend on that, and junk must not reach the slow noble fall-back.
          const before = { ...counting.stats };
          expect(agree(forged, msg, publicKey)).toBe(false);
          expect(counting(forged, msg, publicKey)).toBe(false);
          expect(counting.stats.preRejected).toBe(before.preRejected + 1);
          expect(counting.stats.fallbacks).toBe(before.fallbacks);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('agrees on S = L - 1 and S = 0 boundaries', () => {
    const { publicKey } = ed25519KeyFromSeed(new Uint8Array(32).fill(3));
    const msg = new Uint8Array([1, 2, 3]);
    const r = ed25519Sign(new Uint8Array(32).fill(3), msg).subarray(0, 32);
    expect(agree(sig64(r, ED25519_L - 1n), msg, publicKey)).toBe(false);
    expect(agree(sig64(r, 0n), msg, publicKey)).toBe(false);
  });
});

describe('Node Ed25519 verifier: crafted edge cases', () => {
  it('SMALL_ORDER_ENCODINGS lists exactly the 8 small-order points and the two negative zeros', () => {
    const multiples: string[] = [];
    let q = Point.ZERO;
    for (let i = 0; i < 8; i++) {
      multiples.push(hex(q.toBytes()));
      q = q.add(T8);
    }
    expect(q.is0()).toBe(true); // T8 has order 8 …
    expect(T8.multiplyUnsafe(4n).is0()).toBe(false); // … exactly
    expect(new Set(multiples)).toEqual(new Set(SMALL_ORDER_ENCODINGS.slice(0, 8)));
    for (const e of SMALL_ORDER_ENCODINGS.slice(8)) {
      expect(() => Point.fromBytes(unhex(e), false)).toThrow(); // strict: x = 0 with sign bit
      expect(Point.fromBytes(unhex(e), true).isSmallOrder()).toBe(true);
    }
  });

  it('rejects small-order keys even where OpenSSL accepts (identity key, R = sB)', () => {
    const pkId = unhex(SMALL_ORDER_ENCODINGS[0] as string);
    let openSslAccepted = 0;
    for (let i = 1n; i <= 8n; i++) {
      const s = 1234567n * i;
      const sig = sig64(Point.BASE.multiply(s).toBytes(), s);
      const msg = new Uint8Array([Number(i)]);
      if (rawOpenssl(sig, msg, pkId)) openSslAccepted++;
      expect(agree(sig, msg, pkId)).toBe(false);
    }
    // the [S]B - [k]·identity = R equation holds, so the small-order pre-check is what rejects.
    // (Should a future OpenSSL reject small-order keys itself, the pre-check becomes redundant,
    // not wrong: then update this expectation.)
    expect(openSslAccepted).toBe(8);
  });

  it('rejects the order-2 key (0, -1) on signatures OpenSSL accepts (even k)', () => {
    const pk = unhex(SMALL_ORDER_ENCODINGS[1] as string);
    let openSslAccepted = 0;
    for (let i = 0; openSslAccepted < 3 && i < 64; i++) {
      const s = 987654321n + BigInt(i);
      const r = Point.BASE.multiply(s).toBytes();
      const msg = new Uint8Array([i]);
      if (challenge(r, pk, msg) % 2n !== 0n) continue;
      const sig = sig64(r, s);
      expect(rawOpenssl(sig, msg, pk)).toBe(true);
      openSslAccepted++;
      expect(agree(sig, msg, pk)).toBe(false);
    }
    expect(openSslAccepted).toBe(3);
  });

  it('rejects every small-order, non-canonical and negative-zero key with an R = sB signature', () => {
    // y + p for y < 19 are the non-canonical encodings (with and without the sign bit)
    const nonCanonical: Uint8Array[] = [];
    for (let y = 0n; y < 19n; y++) {
      const e = leBytes(y + P);
      nonCanonical.push(e);
      const neg = e.slice();
      neg[31] = (neg[31] as number) | 0x80;
      nonCanonical.push(neg);
    }
    const keys = [...SMALL_ORDER_ENCODINGS.map(unhex), ...nonCanonical];
    let openSslAccepted = 0;
    for (const [i, pk] of keys.entries()) {
      const s = 55555n + BigInt(i);
      const sig = sig64(Point.BASE.multiply(s).toBytes(), s);
      const msg = new Uint8Array([i, 1]);
      if (rawOpenssl(sig, msg, pk)) openSslAccepted++;
      expect(agree(sig, msg, pk)).toBe(false);
    }
    // OpenSSL reduces y mod p, so e.g. y = p + 1 loads as the identity and verifies
    expect(openSslAccepted).toBeGreaterThan(0);
  });

  it('rejects non-canonical R (y >= p) and negative-zero R; accepts R = identity with S = k·a', () => {
    const seed = new Uint8Array(32).fill(11);
    const { publicKey } = ed25519KeyFromSeed(seed);
    const a = secretScalar(seed);
    const msg = new Uint8Array([9, 9]);
    // R = identity (canonical 01 00…00): S = k·a satisfies R = [S]B - [k]A exactly
    const rId = unhex(SMALL_ORDER_ENCODINGS[0] as string);
    const good = sig64(rId, modL(challenge(rId, publicKey, msg) * a));
    expect(rawOpenssl(good, msg, publicKey)).toBe(true);
    expect(agree(good, msg, publicKey)).toBe(true);
    // negative-zero and non-canonical encodings of the identity / other small points as R
    const bads = [unhex(SMALL_ORDER_ENCODINGS[8] as string), unhex(SMALL_ORDER_ENCODINGS[9] as string), leBytes(P + 1n), leBytes(P), leBytes(P + 18n)];
    const counting = createNodeEd25519Verifier();
    for (const r of bads) {
      const sig = sig64(r, modL(challenge(r, publicKey, msg) * a));
      expect(agree(sig, msg, publicKey)).toBe(false);
      expect(counting(sig, msg, publicKey)).toBe(false);
    }
    // decided by the cheap R checks, not by OpenSSL + noble
    expect(counting.stats.preRejected).toBe(bads.length);
    expect(counting.stats.fallbacks).toBe(0);
  });

  it('accepts R with a torsion component (cofactored noble says yes, cofactorless OpenSSL no)', () => {
    fc.assert(
      fc.property(seedArb, msgArb, fc.bigInt({ min: 1n, max: ED25519_L - 1n }), fc.integer({ min: 1, max: 7 }), (seed, msg, r, t) => {
        const { publicKey } = ed25519KeyFromSeed(seed);
        const a = secretScalar(seed);
        const R = Point.BASE.multiply(r).add(T8.multiplyUnsafe(BigInt(t))).toBytes();
        const sig = sig64(R, modL(r + challenge(R, publicKey, msg) * a));
        expect(rawOpenssl(sig, msg, publicKey)).toBe(false);
        expect(agree(sig, msg, publicKey)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('accepts a mixed-order key A = aB + T exactly when noble does, whatever OpenSSL says', () => {
    let disagreements = 0;
    fc.assert(
      fc.property(seedArb, msgArb, fc.bigInt({ min: 1n, max: ED25519_L - 1n }), (seed, msg, r) => {
        const a = secretScalar(seed);
        const pk = Point.BASE.multiply(a).add(T8).toBytes();
        const R = Point.BASE.multiply(r).toBytes();
        const k = challenge(R, pk, msg);
        const sig = sig64(R, modL(r + k * a));
        if (rawOpenssl(sig, msg, pk) !== ed25519Verify(sig, msg, pk)) disagreements++;
        expect(agree(sig, msg, pk)).toBe(true);
      }),
      { numRuns: 40 },
    );
    // OpenSSL accepts only when 8 | k: most of these runs are real disagreements
    expect(disagreements).toBeGreaterThan(10);
  });

  it('never throws on junk and answers false, like shared', () => {
    const junk: unknown[] = [undefined, null, 'x', 42, new Uint16Array(32), [1, 2, 3]];
    const sig = new Uint8Array(64);
    const pk = ed25519KeyFromSeed(new Uint8Array(32)).publicKey;
    for (const j of junk) {
      expect(fast(j as Uint8Array, new Uint8Array(1), pk)).toBe(false);
      expect(fast(sig, new Uint8Array(1), j as Uint8Array)).toBe(false);
      expect(fast(sig, j as Uint8Array, pk)).toBe(false);
      expect(ed25519Verify(sig, j as Uint8Array, pk)).toBe(false);
    }
  });

  it('accepts Buffer and offset subarray views like plain arrays', () => {
    const seed = new Uint8Array(32).fill(5);
    const msg = new Uint8Array([1, 2, 3, 4]);
    const { publicKey } = ed25519KeyFromSeed(seed);
    const sig = ed25519Sign(seed, msg);
    const big = new Uint8Array(7 + 64 + 32 + 4);
    big.set(sig, 7);
    big.set(publicKey, 71);
    big.set(msg, 103);
    expect(fast(big.subarray(7, 71), big.subarray(103, 107), big.subarray(71, 103))).toBe(true);
    expect(fast(Buffer.from(sig), Buffer.from(msg), Buffer.from(publicKey))).toBe(true);
  });
});

describe('Node Ed25519 verifier: KeyObject cache', () => {
  it('is a bounded LRU and stays correct across evictions', () => {
    const v = createNodeEd25519Verifier({ keyCacheSize: 3 });
    const msg = new Uint8Array([7]);
    const signed = Array.from({ length: 5 }, (_, i) => {
      const seed = new Uint8Array(32).fill(i + 1);
      return { pk: ed25519KeyFromSeed(seed).publicKey, sig: ed25519Sign(seed, msg) };
    });
    for (const { pk, sig } of signed) expect(v(sig, msg, pk)).toBe(true);
    expect(v.cachedKeys()).toBe(3);
    expect(v.stats.keyMisses).toBe(5);
    // keys 2, 3, 4 are cached: 4 hits; key 0 was evicted: miss
    const s4 = signed[4];
    const s0 = signed[0];
    if (s4 === undefined || s0 === undefined) throw new Error('unreachable');
    expect(v(s4.sig, msg, s4.pk)).toBe(true);
    expect(v.stats.keyHits).toBe(1);
    expect(v(s0.sig, msg, s0.pk)).toBe(true);
    expect(v.stats.keyMisses).toBe(6);
    expect(v.cachedKeys()).toBe(3);
    // a wrong signature under a cached key still goes to noble and is rejected
    expect(v(s4.sig, msg, s0.pk)).toBe(false);
    expect(v.stats.fallbacks).toBe(1);
    expect(v.stats.fastAccepted).toBe(7);
  });

  it('refuses a cache size below 1', () => {
    expect(() => createNodeEd25519Verifier({ keyCacheSize: 0 })).toThrow(/keyCacheSize/);
  });
});
