import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../bytes/index';
import { CryptoError } from '../errors/index';
import { ED25519_L, ed25519IsValidPublicKey, ed25519KeyFromSeed, ed25519Sign, ed25519Verify } from './ed25519';

// RFC 8032 §7.1, TEST 1..3 (secret key = seed, public key, message, signature).
const RFC8032 = [
  {
    name: 'TEST 1',
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

const P = 2n ** 255n - 19n;

function le32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
  return out;
}
function leToBig(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

/**
 * A signature whose R is the given 32 bytes (decoding to the identity), valid for key a·B under
 * the cofactored equation: S = k·a with k = H(R || A || M). Lets one test R's encoding rules alone.
 */
function forgeWithR(rBytes: Uint8Array, msg: Uint8Array): { sig: Uint8Array; pk: Uint8Array } {
  const a = 123456789n;
  const pk = ed25519.Point.BASE.multiply(a).toBytes();
  const k = leToBig(sha512(concatBytes(rBytes, pk, msg))) % ED25519_L;
  const s = (k * a) % ED25519_L;
  return { sig: concatBytes(rBytes, le32(s)), pk };
}

describe('ed25519 (PROTOCOL.md §2.2)', () => {
  for (const v of RFC8032) {
    it(`RFC 8032 ${v.name}: key, signature and verification`, () => {
      const kp = ed25519KeyFromSeed(fromHex(v.sk));
      expect(toHex(kp.publicKey)).toBe(v.pk);
      const sig = ed25519Sign(kp.secretKey, fromHex(v.msg));
      expect(toHex(sig)).toBe(v.sig);
      expect(ed25519Verify(sig, fromHex(v.msg), kp.publicKey)).toBe(true);
      // any single flipped bit of the signature, message or key fails
      const bad = sig.slice();
      bad[10]! ^= 1;
      expect(ed25519Verify(bad, fromHex(v.msg), kp.publicKey)).toBe(false);
      expect(ed25519Verify(sig, fromHex(`${v.msg}00`), kp.publicKey)).toBe(false);
      const badPk = kp.publicKey.slice();
      badPk[0]! ^= 1;
      expect(ed25519Verify(sig, fromHex(v.msg), badPk)).toBe(false);
    });
  }

  it('rejects S >= L (S + L of a valid signature)', () => {
    const v = RFC8032[0]!;
    const sig = fromHex(v.sig);
    const s = leToBig(sig.subarray(32));
    expect(s + ED25519_L < 2n ** 256n).toBe(true);
    const malleated = concatBytes(sig.subarray(0, 32), le32(s + ED25519_L));
    expect(ed25519Verify(malleated, fromHex(v.msg), fromHex(v.pk))).toBe(false);
    // and S = L exactly
    const atL = concatBytes(sig.subarray(0, 32), le32(ED25519_L));
    expect(ed25519Verify(atL, fromHex(v.msg), fromHex(v.pk))).toBe(false);
  });

  it('accepts a crafted signature with canonical R (control for the next cases)', () => {
    const msg = new TextEncoder().encode('control');
    const canonicalIdentity = le32(1n);
    const { sig, pk } = forgeWithR(canonicalIdentity, msg);
    expect(ed25519Verify(sig, msg, pk)).toBe(true);
  });

  it('rejects a non-canonical R encoding (y = p + 1) that ZIP-215 would accept', () => {
    const msg = new TextEncoder().encode('non-canonical R');
    const { sig, pk } = forgeWithR(le32(P + 1n), msg);
    expect(ed25519.verify(sig, msg, pk, { zip215: true })).toBe(true);
    expect(ed25519Verify(sig, msg, pk)).toBe(false);
  });

  it('rejects R = identity with the x sign bit set (negative zero)', () => {
    const msg = new TextEncoder().encode('negative zero');
    const r = le32(1n);
    r[31]! |= 0x80;
    const { sig, pk } = forgeWithR(r, msg);
    expect(ed25519.verify(sig, msg, pk, { zip215: true })).toBe(true);
    expect(ed25519Verify(sig, msg, pk)).toBe(false);
  });

  it('rejects non-canonical and small-order public keys', () => {
    // y = p + 1 (identity, non-canonical), canonical identity (small order), y >= p generally
    expect(ed25519IsValidPublicKey(le32(P + 1n))).toBe(false);
    expect(ed25519IsValidPublicKey(le32(1n))).toBe(false);
    expect(ed25519IsValidPublicKey(le32(P))).toBe(false);
    expect(ed25519IsValidPublicKey(fromHex(RFC8032[1]!.pk))).toBe(true);
    // identity key with S = 0 and identity R verifies every message under ZIP-215; never here
    const msg = new TextEncoder().encode('any');
    const sig = concatBytes(le32(1n), le32(0n));
    expect(ed25519.verify(sig, msg, le32(1n), { zip215: true })).toBe(true);
    expect(ed25519Verify(sig, msg, le32(1n))).toBe(false);
    expect(ed25519Verify(sig, msg, le32(P + 1n))).toBe(false);
  });

  it('rejects wrong lengths without throwing; key derivation rejects a bad seed with CryptoError', () => {
    const v = RFC8032[1]!;
    expect(ed25519Verify(fromHex(v.sig).subarray(0, 63), fromHex(v.msg), fromHex(v.pk))).toBe(false);
    expect(ed25519Verify(fromHex(v.sig), fromHex(v.msg), fromHex(v.pk).subarray(0, 31))).toBe(false);
    expect(() => ed25519KeyFromSeed(new Uint8Array(31))).toThrow(CryptoError);
    expect(() => ed25519Sign(new Uint8Array(33), new Uint8Array(1))).toThrow(CryptoError);
  });

  it('sign/verify round trip for arbitrary seeds and messages', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        (seed, msg) => {
          const kp = ed25519KeyFromSeed(seed);
          const sig = ed25519Sign(kp.secretKey, msg);
          expect(ed25519Verify(sig, msg, kp.publicKey)).toBe(true);
          const other = concatBytes(msg, new Uint8Array([1]));
          expect(ed25519Verify(sig, other, kp.publicKey)).toBe(false);
        },
      ),
      { numRuns: 30 },
    );
  });
});
