/**
 * Blake2b (RFC 7693, unkeyed) with 32- and 28-byte outputs: `H256` and `H224` of PROTOCOL.md §2.1.
 *
 * Primer: every identifier in the protocol (RB, EB, tx reference, tx id, pool id, address) is a
 * Blake2b digest of exact received bytes. The default backend is @noble/hashes, which runs in
 * workerd; Node processes may plug a faster backend in with {@link setBlake2bBackend} (it must
 * produce identical digests; tests cross-check any backend against noble).
 *
 * @module
 */
import { blake2b } from '@noble/hashes/blake2.js';
import type { Hash32 } from '../types/index';

/** A Blake2b implementation: digest of `data` with output length `outLen` bytes. */
export interface Blake2bBackend {
  readonly name: string;
  digest(data: Uint8Array, outLen: 28 | 32): Uint8Array;
}

/** The portable backend (@noble/hashes). */
export const nobleBlake2b: Blake2bBackend = {
  name: 'noble',
  digest: (data, outLen) => blake2b(data, { dkLen: outLen }),
};

let backend: Blake2bBackend = nobleBlake2b;

/**
 * Replace the Blake2b backend process-wide (e.g. a faster native or bundled-WASM one on Node).
 *
 * @example
 * ```ts
 * setBlake2bBackend(myFastBackend);
 * ```
 */
export function setBlake2bBackend(b: Blake2bBackend): void {
  backend = b;
}

/** The backend in use. */
export function blake2bBackend(): Blake2bBackend {
  return backend;
}

/**
 * `H256`: Blake2b with a 32-byte digest.
 *
 * @example
 * ```ts
 * const ebHash = blake2b256(ebBytes);
 * ```
 */
export function blake2b256(data: Uint8Array): Hash32 {
  return backend.digest(data, 32) as Hash32;
}

/**
 * `H224`: Blake2b with a 28-byte digest (pool ids and addresses).
 *
 * @example
 * ```ts
 * const poolId = blake2b224(coldVk);
 * ```
 */
export function blake2b224(data: Uint8Array): Uint8Array {
  return backend.digest(data, 28);
}
