/**
 * Branded domain types (Amaru-style newtypes). Parse once at the boundary with the `parse*`
 * functions; inside the code base the brand proves the value was checked.
 *
 * Primer: a brand is a phantom property (`__brand`) that exists only in the type system, so a
 * `Slot` is a plain number at run time but cannot be passed where a `BlockNo` is expected.
 *
 * @module
 */
import { fromHex, isLowerHex, toHex } from '../bytes/index';
import { ValidationError } from '../errors/index';

declare const brand: unique symbol;
/** Attach a compile-time brand `B` to `T`. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Absolute slot number (PROTOCOL.md §3.2). Safe integer ≥ 0. */
export type Slot = Brand<number, 'Slot'>;
/** Epoch number. */
export type Epoch = Brand<number, 'Epoch'>;
/** Block number (height); the first block has 1 (PROTOCOL.md §4.1). */
export type BlockNo = Brand<number, 'BlockNo'>;
/** 32-byte Blake2b-256 digest (RB, EB, tx reference, tx id). */
export type Hash32 = Brand<Uint8Array, 'Hash32'>;
/** 28-byte Blake2b-224 pool id `H224(cold vk)` (PROTOCOL.md §2.1). */
export type PoolId = Brand<Uint8Array, 'PoolId'>;
/** 28-byte Blake2b-224 address `H224(owner vk)`. */
export type Address = Brand<Uint8Array, 'Address'>;
/** Committee seat index = voter_id = bitfield position (PROTOCOL.md §6.1), `0 ≤ i < 65536`. */
export type SeatIndex = Brand<number, 'SeatIndex'>;
/** Lovelace-like amount or stake, exact. */
export type Lovelace = Brand<bigint, 'Lovelace'>;

function safeUint(field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(max)) throw new ValidationError(field, `out of range: ${v}`);
    return Number(v);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new ValidationError(field, `expected an integer in [0, ${max}], got ${String(v)}`);
  }
  return v;
}

function fixedBytes(field: string, v: unknown, n: number): Uint8Array {
  if (typeof v === 'string') {
    if (!isLowerHex(v, n)) throw new ValidationError(field, `expected ${2 * n} lowercase hex characters`);
    return fromHex(v);
  }
  if (!(v instanceof Uint8Array) || v.length !== n) {
    throw new ValidationError(field, `expected ${n} bytes`);
  }
  return v;
}

/**
 * @example
 * ```ts
 * const s = parseSlot(42); // Slot
 * ```
 */
export function parseSlot(v: unknown, field = 'slot'): Slot {
  return safeUint(field, v) as Slot;
}
/** @example `parseEpoch(3)` */
export function parseEpoch(v: unknown, field = 'epoch'): Epoch {
  return safeUint(field, v) as Epoch;
}
/** @example `parseBlockNo(1)` */
export function parseBlockNo(v: unknown, field = 'block_number'): BlockNo {
  return safeUint(field, v) as BlockNo;
}
/** @example `parseSeatIndex(0)` */
export function parseSeatIndex(v: unknown, field = 'voter_id'): SeatIndex {
  return safeUint(field, v, 65535) as SeatIndex;
}
/**
 * Accepts 32 bytes or 64 lowercase hex characters.
 *
 * @example
 * ```ts
 * parseHash32('00'.repeat(32))
 * ```
 */
export function parseHash32(v: unknown, field = 'hash'): Hash32 {
  return fixedBytes(field, v, 32) as Hash32;
}
/** Accepts 28 bytes or 56 lowercase hex characters. @example `parsePoolId('00'.repeat(28))` */
export function parsePoolId(v: unknown, field = 'pool_id'): PoolId {
  return fixedBytes(field, v, 28) as PoolId;
}
/** Accepts 28 bytes or 56 lowercase hex characters. @example `parseAddress('00'.repeat(28))` */
export function parseAddress(v: unknown, field = 'address'): Address {
  return fixedBytes(field, v, 28) as Address;
}
/** Accepts bigint, safe integer or a decimal string (genesis stake / amounts). @example `parseLovelace('1000')` */
export function parseLovelace(v: unknown, field = 'amount'): Lovelace {
  if (typeof v === 'string') {
    if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new ValidationError(field, 'expected a decimal string');
    v = BigInt(v);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) v = BigInt(v);
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << 64n) throw new ValidationError(field, 'expected a uint64');
  return v as Lovelace;
}

/** Hex of a hash for logs, trace ids and map keys. @example `hashHex(h) // '00ab…'` */
export function hashHex(h: Hash32 | PoolId | Address | Uint8Array): string {
  return toHex(h);
}
