/**
 * A fast Ed25519 verifier for Node with exactly the strict semantics of shared's
 * `ed25519Verify` (PROTOCOL.md §2.2), for ledger `apply` (§5.3) and header checks.
 *
 * Primer: noble's strict verify costs ~1.1 ms of CPU; OpenSSL's (node:crypto) ~87 µs. But the two
 * are not the same function, and any disagreement is a consensus hazard (one node accepts a tx its
 * peer rejects). The differences:
 *
 * 1. `S < L`: OpenSSL checks it; shared checks it explicitly. We check it first (cheap, no BigInt).
 * 2. Public key A: OpenSSL decodes `y` modulo p (so `y >= p` encodings load) and does not reject
 *    small-order keys; noble strict rejects both, and also "negative zero" (x = 0 with the sign
 *    bit set). We reject `y >= p`, and a table of the encodings of the 8 small-order points plus
 *    the two negative-zero ones (the only points with x = 0 are small-order: y = 1 and y = p-1).
 * 3. R: OpenSSL recomputes `R' = [S]B - [k]A` and compares its canonical encoding with the given
 *    bytes, so a non-canonical R can never pass; we still reject `y >= p` and negative zero up
 *    front so such junk costs nothing.
 * 4. The equation: OpenSSL is cofactorless (`R == [S]B - [k]A`), noble cofactored
 *    (`[8](R + [k]A - [S]B) == 0`). They differ only when R or A has a small-order component,
 *    which an honest signer never produces, but an adversary can (e.g. R = rB + T, T of order 8).
 *    Cofactorless acceptance implies cofactored acceptance, never the reverse.
 *
 * So the verifier is: pre-checks (each one a case where noble returns false too) → false; else
 * OpenSSL accepts → true (by 1–4 noble accepts too: A and R decode to the same points, same k);
 * else the answer is shared's `ed25519Verify` itself. Every `false` is either a pre-check noble
 * agrees with or noble's own answer, so the function equals noble's on every input; the
 * differential tests (index.test.ts / ed25519.test.ts) check it on random, mutated and crafted
 * inputs, including torsion-component signatures where OpenSSL and noble disagree.
 *
 * Cost: valid signatures take the OpenSSL path; invalid ones that pass the pre-checks pay OpenSSL
 * plus noble (the same cost as before this backend, ~+10%). KeyObjects are cached per public key
 * in a bounded LRU, since creating one costs ~10 µs and wallets sign many txs.
 *
 * @module
 */
import { createPublicKey, type KeyObject, verify as opensslVerify } from 'node:crypto';
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, ed25519Verify } from '@leios/shared/crypto';
import { ValidationError } from '@leios/shared/errors';

/** DER SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410): the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** L, little-endian, as bytes (RFC 8032 §5.1): `S` must be below it. */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/**
 * The 8 small-order points in canonical encoding, plus the two "negative zero" encodings (x = 0
 * with the sign bit set; y = 1 and y = p-1). Non-canonical `y >= p` variants are rejected before
 * this table is consulted. The test derives the 8 points with noble and checks this table.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = Object.freeze([
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (order 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  '0100000000000000000000000000000000000000000000000000000000000080', // identity, negative zero
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // (0, -1), negative zero
]);
const SMALL_ORDER = new Set(SMALL_ORDER_ENCODINGS);

/** Whether `S` (bytes 32..63, little-endian) is below L. */
function sBelowL(sig: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i] as number;
    const l = L_LE[i] as number;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/**
 * Whether the 255-bit `y` of a point encoding (bytes `off..off+31`, sign bit masked) is below
 * p = 2^255 - 19, i.e. the encoding is canonical in y. `y >= p` iff the top byte is 0x7f, the
 * middle 30 bytes are 0xff and the low byte is >= 0xed.
 */
function yCanonical(b: Uint8Array, off: number): boolean {
  if (((b[off + 31] as number) & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (b[off + i] !== 0xff) return true;
  return (b[off] as number) < 0xed;
}

/** Whether R (signature bytes 0..31) is a negative-zero encoding (x = 0, sign bit set). */
function rNegativeZero(sig: Uint8Array): boolean {
  if (((sig[31] as number) & 0x80) === 0) return false;
  const y0 = sig[0] as number;
  if (y0 === 0x01) {
    for (let i = 1; i < 31; i++) if (sig[i] !== 0) return false;
    return sig[31] === 0x80;
  }
  if (y0 === 0xec) {
    for (let i = 1; i < 32; i++) if (sig[i] !== 0xff) return false;
    return true;
  }
  return false;
}

/** How each call was decided (for benchmarks and metrics). */
export interface NodeEd25519Stats {
  /** Rejected by a pre-check (bad length, `S >= L`, non-canonical or small-order A, bad R). */
  preRejected: number;
  /** Accepted by OpenSSL (noble provably agrees). */
  fastAccepted: number;
  /** OpenSSL said no (or threw): the answer came from shared's noble verifier. */
  fallbacks: number;
  /** KeyObject cache hits and misses. */
  keyHits: number;
  keyMisses: number;
}

/** A strict Ed25519 verifier with the signature of shared's `ed25519Verify`, plus its stats. */
export interface NodeEd25519Verifier {
  (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** Counters since creation (a live object; copy it to keep a snapshot). */
  readonly stats: Readonly<NodeEd25519Stats>;
  /** Number of cached KeyObjects (≤ the configured `keyCacheSize`). */
  readonly cachedKeys: () => number;
}

/** Options of {@link createNodeEd25519Verifier}. */
export interface NodeEd25519Options {
  /** Max cached KeyObjects (LRU); default 8,192 (~ a few MB). Must be ≥ 1. */
  readonly keyCacheSize?: number;
}

/** Default bound of the KeyObject LRU. */
export const DEFAULT_KEY_CACHE_SIZE = 8192;

/**
 * Create a strict Ed25519 verifier backed by node:crypto (OpenSSL) with a bounded KeyObject LRU.
 * Equal to shared's `ed25519Verify` on every input (see the module comment); never throws.
 *
 * @example
 * ```ts
 * const verify = createNodeEd25519Verifier();
 * if (!verify(sig, txId, vk)) reject('bad-signature');
 * ```
 */
export function createNodeEd25519Verifier(opts: NodeEd25519Options = {}): NodeEd25519Verifier {
  const cap = opts.keyCacheSize ?? DEFAULT_KEY_CACHE_SIZE;
  if (!Number.isInteger(cap) || cap < 1) throw new ValidationError('ed25519.keyCacheSize', `must be an integer >= 1, got ${cap}`);
  const keys = new Map<string, KeyObject>();
  const stats: NodeEd25519Stats = { preRejected: 0, fastAccepted: 0, fallbacks: 0, keyHits: 0, keyMisses: 0 };

  const keyObject = (id: string, pk: Uint8Array): KeyObject => {
    const hit = keys.get(id);
    if (hit !== undefined) {
      stats.keyHits++;
      // LRU: move to the most recent end (Map iterates in insertion order).
      keys.delete(id);
      keys.set(id, hit);
      return hit;
    }
    stats.keyMisses++;
    const der = Buffer.concat([SPKI_PREFIX, pk]);
    const k = createPublicKey({ key: der, format: 'der', type: 'spki' });
    keys.set(id, k);
    if (keys.size > cap) {
      const oldest = keys.keys().next();
      if (!oldest.done) keys.delete(oldest.value);
    }
    return k;
  };

  const verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean => {
    if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return reject();
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return reject();
    if (!(message instanceof Uint8Array)) return reject();
    // §2.2: S < L; non-canonical A or R (y >= p, negative zero); small-order A (shared's rule).
    if (!sBelowL(signature) || !yCanonical(publicKey, 0) || !yCanonical(signature, 0) || rNegativeZero(signature)) {
      return reject();
    }
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, ED25519_PUBLIC_KEY_LENGTH).toString('hex');
    if (SMALL_ORDER.has(id)) return reject();
    let ok = false;
    try {
      ok = opensslVerify(null, message, keyObject(id, publicKey), signature);
    } catch {
      // OpenSSL refusing the key or signature is not an answer we rely on: noble decides below.
      ok = false;
    }
    if (ok) {
      stats.fastAccepted++;
      return true;
    }
    // Cofactorless OpenSSL said no: cofactored noble may still say yes (torsion components), and
    // its answer is the rule (§2.2 as shared implements it).
    stats.fallbacks++;
    return ed25519Verify(signature, message, publicKey);
  };

  const reject = (): false => {
    stats.preRejected++;
    return false;
  };

  return Object.assign(verify, { stats, cachedKeys: () => keys.size });
}
