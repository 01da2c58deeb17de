/**
 * Ed25519 (RFC 8032, pure) for RB header signatures, tx witnesses and cold keys (PROTOCOL.md §2.2).
 *
 * Primer: Ed25519 verifiers disagree on edge cases (ZIP-215 vs RFC 8032 strictness), which is a
 * consensus hazard: one node could accept a header another rejects. The spec fixes the strict
 * rules: `S >= L` and non-canonical point encodings (`y >= p`, or `x = 0` with the sign bit set)
 * are rejected. We use @noble/curves with `zip215: false`, which decodes `A` and `R` strictly
 * (`0 <= y < p`, no negative zero) and, in addition, rejects small-order public keys (no honest
 * key is small-order; it also rules out keys that verify many messages). The `S < L` check is
 * repeated here explicitly so the rule does not depend on a library detail.
 *
 * Secret keys are the 32-byte RFC 8032 seeds; the expanded key is derived on each call.
 *
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { CryptoError } from '../errors/index';

/** Lengths of Ed25519 objects in bytes. */
export const ED25519_SEED_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

/** The prime order L of the Ed25519 base point (RFC 8032 §5.1). */
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** An Ed25519 key pair: `secretKey` is the 32-byte RFC 8032 seed, `publicKey` the 32-byte encoding of A. */
export interface Ed25519KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

function checkLength(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new CryptoError(what, `expected ${n} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
}

/**
 * Derive the key pair of a 32-byte seed (RFC 8032 §5.1.5). Deterministic.
 *
 * @example
 * ```ts
 * const { secretKey, publicKey } = ed25519KeyFromSeed(new Uint8Array(32).fill(7));
 * ```
 */
export function ed25519KeyFromSeed(seed: Uint8Array): Ed25519KeyPair {
  checkLength('ed25519.seed', seed, ED25519_SEED_LENGTH);
  return { secretKey: seed.slice(), publicKey: ed25519.getPublicKey(seed) };
}

/**
 * Sign `message` with a 32-byte seed (RFC 8032 §5.1.6; deterministic, 64-byte `R || S`).
 *
 * @example
 * ```ts
 * const sig = ed25519Sign(secretKey, headerSignedBytes);
 * ```
 */
export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  checkLength('ed25519.secret_key', secretKey, ED25519_SEED_LENGTH);
  return ed25519.sign(message, secretKey);
}

/** `S` of a 64-byte signature: the upper 32 bytes, little-endian. */
function scalarS(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
  return s;
}

/**
 * Strict RFC 8032 verification (§2.2): false for a wrong length, `S >= L`, a non-canonical or
 * small-order public key, a non-canonical `R`, or a failing equation. Never throws on bad input.
 *
 * @example
 * ```ts
 * if (!ed25519Verify(sig, msg, coldVk)) throw new CryptoError('rb_header.signature', 'invalid');
 * ```
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  // §2.2: reject S >= L (malleability), independently of the library.
  if (scalarS(signature) >= ED25519_L) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    // noble throws only for argument-type errors, which the checks above already exclude; a
    // throw here means "not a valid signature" and nothing else.
    return false;
  }
}

/**
 * Whether 32 bytes are a canonical encoding of a point of prime order usable as a public key
 * (strict decoding, as {@link ed25519Verify} applies it).
 *
 * @example
 * ```ts
 * ed25519IsValidPublicKey(coldVk) // true for any key from ed25519KeyFromSeed
 * ```
 */
export function ed25519IsValidPublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  try {
    const p = ed25519.Point.fromBytes(publicKey, false);
    return !p.isSmallOrder();
  } catch {
    return false;
  }
}
