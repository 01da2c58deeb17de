/**
 * The LeiosFetch tx bitmap (PROTOCOL.md §10.3): `{ + uint .size 2 => uint .size 8 }`.
 *
 * Key c selects tx indices `64c .. 64c+63`; index `64c + j` is bit `63 − j` of the value (the
 * most significant bit is the lowest index). Keys strictly ascending, values non-zero, at most
 * 1,024 entries; senders SHOULD encode the map indefinite-length (as the prototype does), and
 * receivers accept both. A BlockTxs reply echoes the request's *exact* bitmap bytes, so a decoded
 * {@link TxBitmap} keeps them. This is the one place in the protocol where an indefinite-length
 * item is legal, so the decoder is written here rather than relying on the generic reader's skip.
 *
 * @module
 */
import { type CborReader, CborWriter, decodeStrict } from '../../cbor/index';

/** At most this many map entries (§10.3, §11). */
export const MAX_BITMAP_ENTRIES = 1_024;

/** A decoded bitmap and its exact encoding. */
export interface TxBitmap {
  /** `[key, word]` pairs, keys strictly ascending, words non-zero. */
  readonly entries: ReadonlyArray<readonly [number, bigint]>;
  /** The bytes as received (or as encoded by {@link bitmapFromIndices}). */
  readonly bytes: Uint8Array;
}

const WORD_MAX = (1n << 64n) - 1n;

function popcount64(x: bigint): number {
  let n = 0;
  let v = x;
  while (v) {
    v &= v - 1n;
    n++;
  }
  return n;
}

/**
 * Read a bitmap at the reader's position (definite or indefinite), enforcing every §10.3 rule
 * that needs no EB. Throws DecodeError (`limit` for > 1,024 entries or > `maxSelected` indices,
 * `key-order` for a key not above its predecessor, `value` for a zero word).
 */
export function readTxBitmap(r: CborReader, path: string, maxSelected = Number.MAX_SAFE_INTEGER): TxBitmap {
  const start = r.pos;
  const n = r.readMapMaybeIndefinite(path, { max: MAX_BITMAP_ENTRIES });
  const entries: Array<readonly [number, bigint]> = [];
  let selected = 0;
  let last = -1;
  for (let i = 0; n === -1 ? !r.atBreak() : i < n; i++) {
    if (i >= MAX_BITMAP_ENTRIES) r.fail(path, 'limit', `more than ${MAX_BITMAP_ENTRIES} entries`);
    const kAt = r.pos;
    const key = r.readUint(`${path}{${i}}.key`, 0xffff);
    if (key <= last) r.fail(`${path}{${i}}.key`, 'key-order', `key ${key} not above ${last}`, kAt);
    last = key;
    const vAt = r.pos;
    const word = r.readUint64(`${path}{${i}}.value`);
    if (word === 0n) r.fail(`${path}{${i}}.value`, 'value', 'zero word selects nothing', vAt);
    selected += popcount64(word);
    if (selected > maxSelected) r.fail(path, 'limit', `selects more than ${maxSelected} txs`, vAt);
    entries.push([key, word]);
  }
  if (n === -1) {
    if (entries.length === 0) r.fail(path, 'value', 'empty bitmap');
    r.readBreak(path);
  } else if (n === 0) r.fail(path, 'value', 'empty bitmap', start);
  return { entries, bytes: r.bytes.subarray(start, r.pos) };
}

/**
 * Decode a standalone bitmap (e.g. the body of `POST /v1/eb/{hash}/txs`, §12). Throws DecodeError.
 *
 * @example
 * ```ts
 * indicesFromBitmap(decodeTxBitmap(fromHex('a10101'))) // [127]
 * ```
 */
export function decodeTxBitmap(bytes: Uint8Array, maxSelected?: number): TxBitmap {
  return decodeStrict(bytes, 'tx_bitmap', (r) => readTxBitmap(r, 'tx_bitmap', maxSelected));
}

/**
 * Build a bitmap selecting `indices` (any order, duplicates ignored), encoded indefinite-length
 * as §10.3 recommends (or definite with `{ definite: true }`).
 *
 * @example
 * ```ts
 * bitmapFromIndices([0]).entries  // [[0, 0x8000000000000000n]]
 * bitmapFromIndices([127]).entries // [[1, 1n]]
 * ```
 */
export function bitmapFromIndices(indices: Iterable<number>, opts: { definite?: boolean } = {}): TxBitmap {
  const words = new Map<number, bigint>();
  for (const i of indices) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= 65_536 * 64) throw new RangeError(`bitmap: index ${i} out of range`);
    const key = Math.floor(i / 64);
    words.set(key, (words.get(key) ?? 0n) | (1n << BigInt(63 - (i % 64))));
  }
  const entries = [...words.entries()].sort((a, b) => a[0] - b[0]) as Array<readonly [number, bigint]>;
  if (entries.length === 0) throw new RangeError('bitmap: select at least one tx');
  if (entries.length > MAX_BITMAP_ENTRIES) throw new RangeError(`bitmap: ${entries.length} entries > ${MAX_BITMAP_ENTRIES}`);
  const w = new CborWriter(16 + entries.length * 12);
  if (opts.definite) w.map(entries.length);
  else w.indefiniteMap();
  for (const [k, v] of entries) w.uint(k).uint(v);
  if (!opts.definite) w.end();
  return { entries, bytes: w.finish() };
}

/**
 * The selected indices, ascending.
 *
 * @example
 * ```ts
 * indicesFromBitmap(bitmapFromIndices([5, 3, 64])) // [3, 5, 64]
 * ```
 */
export function indicesFromBitmap(b: TxBitmap): number[] {
  const out: number[] = [];
  for (const [key, word] of b.entries) {
    if (word > WORD_MAX) throw new RangeError('bitmap: word above 64 bits');
    for (let j = 0; j < 64; j++) if ((word >> BigInt(63 - j)) & 1n) out.push(key * 64 + j);
  }
  return out;
}

/** Number of selected txs. @example `bitmapCount(bitmapFromIndices([1, 2])) // 2` */
export function bitmapCount(b: TxBitmap): number {
  let n = 0;
  for (const [, w] of b.entries) n += popcount64(w);
  return n;
}

/** Highest selected index (the bitmap is never empty). @example `maxBitmapIndex(bitmapFromIndices([3, 9])) // 9` */
export function maxBitmapIndex(b: TxBitmap): number {
  const [key, word] = b.entries[b.entries.length - 1]!;
  let j = 63;
  while (j > 0 && !((word >> BigInt(63 - j)) & 1n)) j--;
  return key * 64 + j;
}
