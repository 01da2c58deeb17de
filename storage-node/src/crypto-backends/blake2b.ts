/**
 * A fast Blake2b backend for Node: hash-wasm's hand-tuned WASM Blake2b behind shared's
 * {@link Blake2bBackend} interface (PROTOCOL.md §2.1, DESIGN.md §4 "Blake2b-256 … ≥ 10x faster
 * in Node").
 *
 * Primer: node:crypto only offers `blake2b512` (a fixed 64-byte digest, whose parameter block
 * differs from a 32-byte Blake2b, so it cannot be truncated into `H256`). hash-wasm is a plain
 * registry package with the WASM bytes inlined in its JS (no install script, no download, no
 * native addon), so a fresh `npm install` is enough. Measured against @noble/hashes (see
 * docs/decisions/004-node-crypto-backends.md and storage-node/bench/crypto-backends.ts) it is
 * ~17–21x faster on 1 MiB and ~8–12x faster on 32–300 B inputs (CPU time); because it is faster at
 * every size, there is no small-input fall-back to noble.
 *
 * Instances are created asynchronously (WASM instantiation) once at startup; after that every
 * digest is synchronous. A hasher instance holds state between `init`, `update` and `digest`, which
 * is safe because the three calls run back to back with no await in between (JS is
 * single-threaded; each worker thread has its own instance).
 *
 * @module
 */
import type { Blake2bBackend } from '@leios/shared/crypto';
import { CryptoError } from '@leios/shared/errors';
import { createBLAKE2b, type IHasher } from 'hash-wasm';

/** The name the backend reports (`blake2bBackend().name`). */
export const HASH_WASM_BACKEND_NAME = 'hash-wasm';

/**
 * Create the hash-wasm Blake2b backend (one WASM instance per output length, 28 and 32 bytes).
 *
 * @example
 * ```ts
 * setBlake2bBackend(await createHashWasmBlake2b());
 * ```
 */
export async function createHashWasmBlake2b(): Promise<Blake2bBackend> {
  const [h256, h224] = await Promise.all([createBLAKE2b(256), createBLAKE2b(224)]);
  const run = (h: IHasher, data: Uint8Array): Uint8Array => {
    // digest('binary') returns a copy (slice) of the WASM memory, so results stay valid.
    return h.init().update(data).digest('binary');
  };
  return Object.freeze({
    name: HASH_WASM_BACKEND_NAME,
    digest: (data: Uint8Array, outLen: 28 | 32): Uint8Array => {
      if (outLen === 32) return run(h256, data);
      if (outLen === 28) return run(h224, data);
      // The interface types outLen as 28 | 32; a JS caller passing anything else is a bug.
      throw new CryptoError('blake2b.out_len', `unsupported output length ${String(outLen)} (28 or 32)`);
    },
  });
}
