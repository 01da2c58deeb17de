/**
 * Node-only crypto backends for the storage node: a WASM Blake2b and an OpenSSL-backed strict
 * Ed25519 verifier, behind the interfaces shared already exposes (DESIGN.md §4: storage nodes may
 * use a faster backend behind the same interface, cross-checked against noble in tests).
 *
 * Primer: shared/src/crypto uses @noble everywhere because it must run in workerd. In a storage
 * node that leaves ledger `apply` below ~900 tx/s per core (Ed25519 verify ~1.1 ms) and Blake2b
 * at ~45–55 MiB/s; with these backends `apply` runs at ~8,000 tx/s per core. A storage-node process calls {@link installNodeCryptoBackends} once at startup:
 * it swaps the process-wide Blake2b backend (`setBlake2bBackend`) and returns the ledger verifiers
 * to pass as `LedgerContext.verifiers`. Both backends give the same answers as noble on every input
 * (tests: index.test.ts, blake2b.test.ts, ed25519.test.ts); the choice and the measurements are in
 * docs/decisions/004-node-crypto-backends.md.
 *
 * @module
 */
import { blake2bBackend, type Blake2bBackend, nobleBlake2b, popVerify, setBlake2bBackend } from '@leios/shared/crypto';
import { CryptoError } from '@leios/shared/errors';
import type { LedgerVerifiers } from '@leios/shared/ledger';
import { createHashWasmBlake2b } from './blake2b';
import { createNodeEd25519Verifier, type NodeEd25519Options, type NodeEd25519Verifier } from './ed25519';

export { createHashWasmBlake2b, HASH_WASM_BACKEND_NAME } from './blake2b';
export {
  createNodeEd25519Verifier,
  DEFAULT_KEY_CACHE_SIZE,
  type NodeEd25519Options,
  type NodeEd25519Stats,
  type NodeEd25519Verifier,
  SMALL_ORDER_ENCODINGS,
} from './ed25519';

/** Ledger verifiers with the Node Ed25519 verifier (its stats reachable) and shared's PoP check. */
export interface NodeLedgerVerifiers extends LedgerVerifiers {
  readonly ed25519: NodeEd25519Verifier;
}

/**
 * `LedgerContext.verifiers` for a storage node: Ed25519 through {@link createNodeEd25519Verifier}
 * (identical answers to shared's strict verifier, ~10x+ faster on valid signatures), PoP through
 * shared's `popVerify` (noble is the only MinSig BLS implementation, decision 002).
 *
 * @example
 * ```ts
 * const verifiers = nodeLedgerVerifiers();
 * applyBlock(utxo, block, { pools, verifiers });
 * ```
 */
export function nodeLedgerVerifiers(opts: NodeEd25519Options = {}): NodeLedgerVerifiers {
  return Object.freeze({ ed25519: createNodeEd25519Verifier(opts), pop: popVerify });
}

/** What {@link installNodeCryptoBackends} set up. */
export interface NodeCryptoBackends {
  /** The Blake2b backend now in use process-wide. */
  readonly blake2b: Blake2bBackend;
  /** The verifiers to pass as `LedgerContext.verifiers`. */
  readonly verifiers: NodeLedgerVerifiers;
}

let installed: Promise<NodeCryptoBackends> | undefined;

/**
 * Install the Node backends once per process (idempotent: later calls return the first result).
 * Sets the shared Blake2b backend to hash-wasm after checking it against noble on a few inputs
 * (a broken WASM build must fail startup, not fork the node off the chain), and returns the
 * ledger verifiers.
 *
 * @example
 * ```ts
 * const { verifiers } = await installNodeCryptoBackends();
 * const ctx = { pools, verifiers };
 * ```
 */
export function installNodeCryptoBackends(opts: NodeEd25519Options = {}): Promise<NodeCryptoBackends> {
  installed ??= (async () => {
    const fast = await createHashWasmBlake2b();
    selfCheckBlake2b(fast);
    setBlake2bBackend(fast);
    return Object.freeze({ blake2b: blake2bBackend(), verifiers: nodeLedgerVerifiers(opts) });
  })();
  return installed;
}

/** Throw unless `b` agrees with noble on a few lengths around the 128-byte block boundaries. */
function selfCheckBlake2b(b: Blake2bBackend): void {
  for (const n of [0, 1, 32, 127, 128, 129, 255, 256, 257, 16_385, 70_000]) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = (i * 167 + n) & 0xff;
    for (const outLen of [28, 32] as const) {
      const got = b.digest(data, outLen);
      const want = nobleBlake2b.digest(data, outLen);
      if (got.length !== want.length || !got.every((x, i) => x === want[i])) {
        throw new CryptoError('blake2b.backend', `${b.name} disagrees with noble on ${n} bytes, ${outLen}-byte digest`);
      }
    }
  }
}
