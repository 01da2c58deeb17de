/**
 * Content checks the edge applies before it caches, serves or offers hash-addressed bytes.
 *
 * Primer: the Cache API entries are immutable for a year and the RelayHub offers what it holds to
 * every peer, so nothing goes into either unless its bytes hash to the name they are stored
 * under (PROTOCOL.md §2.1, §10.4 "verify before offering", §16 check 34). Hashes are taken over
 * the received bytes, never over a re-encoding (§1.3).
 *
 * @module
 */
import { blake2b256, bytesEqual, CborReader, DecodeError } from '@leios/shared';
import { LIMITS } from '../config/index';

/** The outcome of a check: `null` when the bytes are good, else why not. */
export type CheckResult = string | null;

/**
 * EB bytes named by `hash`: `H256(bytes) = hash` (§2.1) and at most S_EB bytes (§4.3).
 *
 * @example
 * ```ts
 * if (checkEb(bytes, hash) === null) await cache.put(key, response);
 * ```
 */
export function checkEb(bytes: Uint8Array, hash: Uint8Array): CheckResult {
  if (bytes.length === 0) return 'empty EB';
  if (bytes.length > LIMITS.maxEbSize) return `EB of ${bytes.length} bytes above S_EB`;
  if (!bytesEqual(blake2b256(bytes), hash)) return 'EB bytes do not hash to the requested hash';
  return null;
}

/**
 * An `rb_block = [header, body]` named by `hash` (§4.2): the RB hash is `H256(header bytes)`, and
 * the body must match the header's `body_hash` and `body_size`, so a genuine header can never be
 * cached next to a substituted body.
 *
 * @example
 * ```ts
 * checkRbBlock(blockBytes, rbHash) // null when good
 * ```
 */
export function checkRbBlock(bytes: Uint8Array, hash: Uint8Array): CheckResult {
  if (bytes.length > LIMITS.maxRbBlock) return `block of ${bytes.length} bytes above S_RB + 8192`;
  try {
    const r = new CborReader(bytes);
    r.readArray('rb_block', { len: 2 });
    const header = r.readRaw('rb_block.header', 1_100);
    const body = r.readRaw('rb_block.body');
    r.done('rb_block');
    if (!bytesEqual(blake2b256(header), hash)) return 'header bytes do not hash to the requested hash';
    const h = new CborReader(header);
    h.readArray('rb_header', { len: 11 });
    for (const f of ['block_number', 'slot', 'prev_hash', 'issuer_pool_id', 'issuer_cold_vk', 'leader_vrf']) h.skip(`rb_header.${f}`);
    const bodyHash = h.readBytes('rb_header.body_hash', { len: 32 });
    const bodySize = h.readUint('rb_header.body_size');
    if (body.length !== bodySize) return `body of ${body.length} bytes, header says ${bodySize}`;
    if (!bytesEqual(blake2b256(body), bodyHash)) return 'body bytes do not hash to the header body_hash';
    return null;
  } catch (e) {
    if (e instanceof DecodeError) return `not an rb_block: ${e.message}`;
    throw e;
  }
}
