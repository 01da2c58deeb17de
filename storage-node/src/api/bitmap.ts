/**
 * The LeiosFetch tx bitmap of PROTOCOL.md §10.3, as the body of `POST /v1/eb/{hash}/txs` (§12).
 *
 * Primer: `tx_bitmap = { + uint .size 2 => uint .size 8 }`; key c selects indices 64c … 64c+63,
 * index 64c + j being bit 63 − j of the value (MSB = lowest index). Keys strictly ascending,
 * values non-zero, at most 1,024 entries; the map may be definite or indefinite (the one
 * exception to §1.2). The checks that need the EB itself (every index below its entry count,
 * stated sizes within MAX_REPLY_BYTES) belong to whoever holds the EB; here we check the shape and
 * the MAX_REPLY_TXS cap and return the selected indices in ascending order.
 *
 * @module
 */
import { CborReader, DecodeError } from '@leios/shared';

/** At most this many bitmap entries (§10.3, §11). */
export const MAX_BITMAP_ENTRIES = 1024;
/** MAX_REPLY_TXS (§15): a request selects at most this many txs. */
export const MAX_REPLY_TXS = 4096;

/** Why a bitmap is refused (→ 400 `bad-bitmap`, or `malformed-cbor` when it is not canonical CBOR at all). */
export class BitmapError extends Error {
  constructor(
    readonly reason: 'malformed' | 'empty' | 'too-many-entries' | 'key-order' | 'zero-value' | 'too-many-txs',
    detail: string,
  ) {
    super(detail);
    this.name = 'BitmapError';
  }
}

/**
 * Decode a tx bitmap into ascending tx indices.
 *
 * @example
 * ```ts
 * decodeTxBitmap(new Uint8Array([0xa1, 0x00, 0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0])) // [0]
 * decodeTxBitmap(new Uint8Array([0xa1, 0x01, 0x01])) // [127]
 * ```
 */
export function decodeTxBitmap(bytes: Uint8Array, maxTxs = MAX_REPLY_TXS): number[] {
  const r = new CborReader(bytes);
  const indices: number[] = [];
  try {
    const n = r.readMapMaybeIndefinite('tx_bitmap');
    if (n === 0) throw new BitmapError('empty', 'an empty bitmap selects nothing');
    if (n > MAX_BITMAP_ENTRIES) throw new BitmapError('too-many-entries', `${n} entries > ${MAX_BITMAP_ENTRIES}`);
    let prev = -1;
    for (let i = 0; n === -1 ? !r.atBreak() : i < n; i++) {
      if (i >= MAX_BITMAP_ENTRIES) throw new BitmapError('too-many-entries', `more than ${MAX_BITMAP_ENTRIES} entries`);
      const key = r.readUint(`tx_bitmap{${i}}.key`, 0xffff);
      if (key <= prev) throw new BitmapError('key-order', `key ${key} after ${prev}: keys must be strictly ascending`);
      prev = key;
      const word = r.readUint64(`tx_bitmap{${i}}.value`);
      if (word === 0n) throw new BitmapError('zero-value', `entry ${key} selects nothing`);
      for (let j = 0; j < 64; j++) {
        if ((word >> BigInt(63 - j)) & 1n) {
          if (indices.length >= maxTxs) throw new BitmapError('too-many-txs', `selects more than ${maxTxs} txs`);
          indices.push(64 * key + j);
        }
      }
    }
    if (n === -1) {
      if (indices.length === 0) throw new BitmapError('empty', 'an empty bitmap selects nothing');
      r.readBreak('tx_bitmap');
    }
    r.done('tx_bitmap');
  } catch (e) {
    // Not canonical CBOR of the bitmap's CDDL shape (including a key above uint .size 2): §12
    // calls that malformed-cbor; the §10.3 rules above are bad-bitmap.
    if (e instanceof DecodeError) throw new BitmapError('malformed', e.message);
    throw e;
  }
  return indices;
}
