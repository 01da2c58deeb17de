/**
 * Endorser block codec (PROTOCOL.md §4.3): `eb = { + hash32 => uint .size 4 }`, tx reference hash
 * to tx size, in insertion order (the order the txs apply).
 *
 * Primer: EBs are the largest structure a node parses in bulk (up to S_EB = 512,000 bytes, about
 * 13,800 references), and an ATK-LeiosProtocolBurst (§13.2) delivers hundreds of them at once, so
 * the decoder is a specialised tight loop rather than the generic {@link CborReader}: every key
 * must be exactly `58 20` + 32 bytes and every value one canonical uint head, which it checks
 * byte by byte without allocating per entry. It keeps offsets, not copies: the view's hashes
 * are subarrays of the received bytes (§1.3), materialised only on demand.
 *
 * Duplicate keys are found with an open-addressing table keyed by a multiply-add hash of all 32
 * key bytes under per-process random multipliers. The keys are attacker-chosen (they need not be
 * real tx hashes when the EB is decoded), so a fixed hash of a few bytes would let one EB force
 * quadratic work; with secret multipliers over every word, colliding keys cannot be precomputed,
 * and a collision only costs a 32-byte comparison.
 *
 * @module
 */
import { bytesEqual } from '../../bytes/index';
import { CborWriter } from '../../cbor/index';
import { blake2b256 } from '../../crypto/blake2b';
import { DecodeError, ValidationError } from '../../errors/index';
import type { Hash32 } from '../../types/index';
import { MAINNET_PARAMS, type ProtocolParams } from '../params/index';

/** The caps an EB is checked against (S_EB, S_EB_tx, MAX_TX_SIZE of §15). */
export type EbLimits = Pick<ProtocolParams, 'maxEbSize' | 'maxEbTxBytes' | 'maxTxSize'>;

/** The §15 caps (identical on mainnet and devnet). */
export const DEFAULT_EB_LIMITS: EbLimits = Object.freeze({
  maxEbSize: MAINNET_PARAMS.maxEbSize,
  maxEbTxBytes: MAINNET_PARAMS.maxEbTxBytes,
  maxTxSize: MAINNET_PARAMS.maxTxSize,
});

/** One EB entry: the tx reference hash `H256(full tx bytes)` and the tx's stated size. */
export interface EbRef {
  readonly hash: Hash32;
  readonly size: number;
}

/** Bytes of one encoded entry at least: `58 20` + 32-byte key + 1-byte value head. */
const MIN_ENTRY = 35;

/**
 * A decoded EB: the exact received bytes, its hash and its references (views into `bytes`).
 *
 * @example
 * ```ts
 * const eb = decodeEb(bytes);
 * for (let i = 0; i < eb.count; i++) want(eb.hashAt(i), eb.sizeAt(i));
 * ```
 */
export class EbView {
  private _hash: Hash32 | undefined;
  private _refs: EbRef[] | undefined;

  /** @internal use {@link decodeEb} */
  constructor(
    /** The exact received EB bytes (§1.3). */
    readonly bytes: Uint8Array,
    /** Offset in `bytes` of each key's 32 hash bytes. */
    private readonly keyOffsets: Uint32Array,
    /** Stated tx size of each entry. */
    readonly sizes: Uint32Array,
    /** Σ sizes (≤ S_EB_tx). */
    readonly totalTxBytes: number,
  ) {}

  /** Number of references (≥ 1). */
  get count(): number {
    return this.sizes.length;
  }

  /** `H256(bytes)`, computed once on first use (the EB hash of §2.1). */
  get hash(): Hash32 {
    this._hash ??= blake2b256(this.bytes);
    return this._hash;
  }

  /** Reference hash of entry i, a view into {@link bytes}. */
  hashAt(i: number): Hash32 {
    const o = this.keyOffsets[i];
    if (o === undefined) throw new RangeError(`eb: no entry ${i}`);
    return this.bytes.subarray(o, o + 32) as Hash32;
  }

  /** Stated size of entry i. */
  sizeAt(i: number): number {
    const s = this.sizes[i];
    if (s === undefined) throw new RangeError(`eb: no entry ${i}`);
    return s;
  }

  /** All references in insertion order (materialised once on first use). */
  get refs(): readonly EbRef[] {
    if (this._refs === undefined) {
      const out: EbRef[] = new Array(this.count);
      for (let i = 0; i < this.count; i++) out[i] = { hash: this.hashAt(i), size: this.sizes[i]! };
      this._refs = out;
    }
    return this._refs;
  }
}

// ---------------------------------------------------------------------------------------------
// Duplicate detection

let multipliers: Uint32Array | undefined;
/** Per-process random odd multipliers, drawn lazily (workerd forbids randomness at global scope). */
function hashMultipliers(): Uint32Array {
  if (multipliers === undefined) {
    const m = new Uint32Array(8);
    crypto.getRandomValues(m);
    for (let i = 0; i < 8; i++) m[i] = m[i]! | 1;
    multipliers = m;
  }
  return multipliers;
}

function keysEqual(b: Uint8Array, x: number, y: number): boolean {
  for (let i = 0; i < 32; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Decoder

function fail(path: string, reason: ConstructorParameters<typeof DecodeError>[1], detail: string, at: number): never {
  throw new DecodeError(path, reason, detail, at);
}

/**
 * Decode and check an EB (§4.3): canonical (definite, shortest heads, no trailing bytes), non-empty,
 * no duplicate key, at most S_EB bytes (checked before anything is read), every size in
 * `1..MAX_TX_SIZE`, sizes summing to at most S_EB_tx. Throws {@link DecodeError} otherwise.
 *
 * @example
 * ```ts
 * const eb = decodeEb(received, params);
 * if (!bytesEqual(eb.hash, announced.ebHash) || eb.bytes.length !== announced.ebSize) reject();
 * ```
 */
export function decodeEb(bytes: Uint8Array, limits: EbLimits = DEFAULT_EB_LIMITS): EbView {
  const len = bytes.length;
  // §4.3 / §11: the size cap comes before any parsing.
  if (len > limits.maxEbSize) fail('eb', 'limit', `EB of ${len} bytes > S_EB ${limits.maxEbSize}`, 0);
  if (len === 0) fail('eb', 'truncated', 'empty input', 0);
  const b0 = bytes[0]!;
  if (b0 >> 5 !== 5) fail('eb', 'type', `expected a map, found major type ${b0 >> 5}`, 0);
  const ai = b0 & 0x1f;
  let n: number;
  let p: number;
  if (ai < 24) {
    n = ai;
    p = 1;
  } else if (ai === 24) {
    if (len < 2) fail('eb', 'truncated', 'map head', 0);
    n = bytes[1]!;
    if (n < 24) fail('eb', 'non-canonical', 'map head not minimal', 0);
    p = 2;
  } else if (ai === 25) {
    if (len < 3) fail('eb', 'truncated', 'map head', 0);
    n = (bytes[1]! << 8) | bytes[2]!;
    if (n < 0x100) fail('eb', 'non-canonical', 'map head not minimal', 0);
    p = 3;
  } else if (ai === 26) {
    if (len < 5) fail('eb', 'truncated', 'map head', 0);
    n = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
    if (n < 0x10000) fail('eb', 'non-canonical', 'map head not minimal', 0);
    p = 5;
  } else if (ai === 31) {
    fail('eb', 'indefinite', 'indefinite-length map', 0);
  } else {
    // 27 (a count ≥ 2^32 cannot fit under any S_EB) or reserved 28..30
    fail('eb', ai === 27 ? 'limit' : 'non-canonical', `map head with additional info ${ai}`, 0);
  }
  if (n === 0) fail('eb', 'value', 'empty EB', 0);
  if (n > (len - p) / MIN_ENTRY) fail('eb', 'truncated', `${n} entries cannot fit in ${len} bytes`, 0);

  const maxTx = limits.maxTxSize;
  const maxSum = limits.maxEbTxBytes;
  const keyOffsets = new Uint32Array(n);
  const sizes = new Uint32Array(n);
  let bits = 4;
  while (1 << bits < 2 * n) bits++;
  const table = new Int32Array(1 << bits);
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  const m = hashMultipliers();
  const m0 = m[0]!;
  const m1 = m[1]!;
  const m2 = m[2]!;
  const m3 = m[3]!;
  const m4 = m[4]!;
  const m5 = m[5]!;
  const m6 = m[6]!;
  const m7 = m[7]!;
  let sum = 0;

  for (let i = 0; i < n; i++) {
    if (len - p < MIN_ENTRY) fail(`eb{${i}}`, 'truncated', 'entry exceeds input', p);
    if (bytes[p] !== 0x58 || bytes[p + 1] !== 0x20) {
      fail(`eb{${i}}.key`, bytes[p]! >> 5 === 2 ? 'non-canonical' : 'type', 'key must be a 32-byte byte string (58 20 …)', p);
    }
    const k = p + 2;
    // Multiply-add hash of the eight big-endian words of the key.
    let h =
      Math.imul((bytes[k]! << 24) | (bytes[k + 1]! << 16) | (bytes[k + 2]! << 8) | bytes[k + 3]!, m0) +
      Math.imul((bytes[k + 4]! << 24) | (bytes[k + 5]! << 16) | (bytes[k + 6]! << 8) | bytes[k + 7]!, m1) +
      Math.imul((bytes[k + 8]! << 24) | (bytes[k + 9]! << 16) | (bytes[k + 10]! << 8) | bytes[k + 11]!, m2) +
      Math.imul((bytes[k + 12]! << 24) | (bytes[k + 13]! << 16) | (bytes[k + 14]! << 8) | bytes[k + 15]!, m3) +
      Math.imul((bytes[k + 16]! << 24) | (bytes[k + 17]! << 16) | (bytes[k + 18]! << 8) | bytes[k + 19]!, m4) +
      Math.imul((bytes[k + 20]! << 24) | (bytes[k + 21]! << 16) | (bytes[k + 22]! << 8) | bytes[k + 23]!, m5) +
      Math.imul((bytes[k + 24]! << 24) | (bytes[k + 25]! << 16) | (bytes[k + 26]! << 8) | bytes[k + 27]!, m6) +
      Math.imul((bytes[k + 28]! << 24) | (bytes[k + 29]! << 16) | (bytes[k + 30]! << 8) | bytes[k + 31]!, m7);
    h = (h >>> 0) >>> shift;
    for (;;) {
      const e = table[h]!;
      if (e === 0) {
        table[h] = i + 1;
        break;
      }
      if (keysEqual(bytes, keyOffsets[e - 1]!, k)) fail(`eb{${i}}.key`, 'duplicate-key', `duplicate of entry ${e - 1}`, p);
      h = (h + 1) & mask;
    }
    keyOffsets[i] = k;
    p = k + 32;

    // Value: one canonical unsigned-integer head, `uint .size 4`.
    const vs = p;
    const b = bytes[p]!;
    let v: number;
    if (b < 0x18) {
      v = b;
      p += 1;
    } else if (b === 0x18) {
      if (len - p < 2) fail(`eb{${i}}.size`, 'truncated', 'size head', vs);
      v = bytes[p + 1]!;
      if (v < 24) fail(`eb{${i}}.size`, 'non-canonical', 'integer head not minimal', vs);
      p += 2;
    } else if (b === 0x19) {
      if (len - p < 3) fail(`eb{${i}}.size`, 'truncated', 'size head', vs);
      v = (bytes[p + 1]! << 8) | bytes[p + 2]!;
      if (v < 0x100) fail(`eb{${i}}.size`, 'non-canonical', 'integer head not minimal', vs);
      p += 3;
    } else if (b === 0x1a) {
      if (len - p < 5) fail(`eb{${i}}.size`, 'truncated', 'size head', vs);
      v = ((bytes[p + 1]! << 24) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 8) | bytes[p + 4]!) >>> 0;
      if (v < 0x10000) fail(`eb{${i}}.size`, 'non-canonical', 'integer head not minimal', vs);
      p += 5;
    } else if (b === 0x1b) {
      fail(`eb{${i}}.size`, 'limit', 'size is uint .size 4', vs);
    } else {
      fail(`eb{${i}}.size`, b >> 5 === 0 ? 'non-canonical' : 'type', 'size must be an unsigned integer', vs);
    }
    if (v === 0) fail(`eb{${i}}.size`, 'value', 'tx size 0', vs);
    if (v > maxTx) fail(`eb{${i}}.size`, 'limit', `tx size ${v} > MAX_TX_SIZE ${maxTx}`, vs);
    sum += v;
    if (sum > maxSum) fail(`eb{${i}}.size`, 'limit', `referenced tx bytes ${sum} > S_EB_tx ${maxSum}`, vs);
    sizes[i] = v;
  }
  if (p !== len) fail('eb', 'trailing', `${len - p} trailing byte(s)`, p);
  return new EbView(bytes, keyOffsets, sizes, sum);
}

// ---------------------------------------------------------------------------------------------
// Encoder

/**
 * Encode an EB from references in application order. Applies the receiver's rules first (non-empty,
 * distinct keys, sizes in `1..MAX_TX_SIZE`, Σ ≤ S_EB_tx, length ≤ S_EB) so a producer can never
 * emit an EB its peers would reject; throws {@link ValidationError} on `eb…`.
 *
 * @example
 * ```ts
 * const ebBytes = encodeEb(txs.map((t) => ({ hash: blake2b256(t), size: t.length })));
 * ```
 */
export function encodeEb(refs: ReadonlyArray<{ hash: Uint8Array; size: number }>, limits: EbLimits = DEFAULT_EB_LIMITS): Uint8Array {
  if (refs.length === 0) throw new ValidationError('eb', 'an EB has at least one reference');
  const w = new CborWriter(refs.length * 38 + 8);
  w.map(refs.length);
  let sum = 0;
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i]!;
    if (r.hash.length !== 32) throw new ValidationError(`eb{${i}}.key`, 'expected 32 bytes');
    if (!Number.isSafeInteger(r.size) || r.size < 1 || r.size > limits.maxTxSize) {
      throw new ValidationError(`eb{${i}}.size`, `must be in 1..${limits.maxTxSize}, got ${r.size}`);
    }
    sum += r.size;
    if (sum > limits.maxEbTxBytes) throw new ValidationError(`eb{${i}}.size`, `referenced tx bytes exceed S_EB_tx ${limits.maxEbTxBytes}`);
    w.bytes(r.hash).uint(r.size);
  }
  if (w.length > limits.maxEbSize) throw new ValidationError('eb', `EB of ${w.length} bytes > S_EB ${limits.maxEbSize}`);
  const out = w.finish();
  // Duplicates are found by the decoder's table; decoding also proves the output is canonical.
  try {
    decodeEb(out, limits);
  } catch (e) {
    if (e instanceof DecodeError) throw new ValidationError(e.path, e.detail);
    throw e;
  }
  return out;
}

/**
 * Exact encoded length of an EB with entries of the given sizes (for producers filling an EB up to
 * S_EB without encoding it repeatedly).
 *
 * @example
 * ```ts
 * ebEncodedLength([300, 5000]) // 1 + 2·34 + 3 + 3 = 75
 * ```
 */
export function ebEncodedLength(sizes: ReadonlyArray<number>): number {
  let n = headLength(sizes.length);
  for (const s of sizes) n += 34 + headLength(s);
  return n;
}

/** Bytes of a canonical head carrying `v`. */
export function headLength(v: number): number {
  return v < 24 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v < 0x100000000 ? 5 : 9;
}

// ---------------------------------------------------------------------------------------------
// Closure checks

/** Outcome of matching a fetched tx against its EB reference. */
export type ClosureCheck =
  /** hash and length match */
  | 'ok'
  /** not the referenced tx: the sender served wrong bytes (§10.2: close the connection) */
  | 'hash-mismatch'
  /** the tx matches the key but not the stated size: the EB itself is invalid (§4.3, §16 case 3) */
  | 'size-mismatch';

/**
 * Check a fetched tx against its EB reference (§4.3, §10.2). A tx whose `H256` equals the key but
 * whose length differs from the stated size makes the whole EB invalid: no vote, no BlockTxsOffer
 * (§16 case 3).
 *
 * @example
 * ```ts
 * switch (checkClosureTx({ hash: eb.hashAt(i), size: eb.sizeAt(i) }, tx)) {
 *   case 'size-mismatch': markEbInvalid(eb); break;
 *   case 'hash-mismatch': closeConnection(); break;
 * }
 * ```
 */
export function checkClosureTx(ref: { hash: Uint8Array; size: number }, txBytes: Uint8Array, txHash?: Hash32): ClosureCheck {
  const h = txHash ?? blake2b256(txBytes);
  if (!bytesEqual(h, ref.hash)) return 'hash-mismatch';
  return txBytes.length === ref.size ? 'ok' : 'size-mismatch';
}

/**
 * §4.3 / §6.4 rule 5: the EB's byte length must equal the `eb_size` its announcing header states.
 *
 * @example
 * ```ts
 * if (!ebMatchesAnnouncement(eb, header.ebAnnouncement)) dropEb();
 * ```
 */
export function ebMatchesAnnouncement(eb: EbView, announcement: { ebHash: Uint8Array; ebSize: number }): boolean {
  return eb.bytes.length === announcement.ebSize && bytesEqual(eb.hash, announcement.ebHash);
}
