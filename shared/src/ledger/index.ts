/**
 * The ledger of ledger mode `utxo` (PROTOCOL.md §5) and the tx codec of both ledger modes.
 *
 * Primer: a small UTxO ledger with real validation, shared by the storage node (mempool, block
 * production, voting, chain adoption) and the edge (admission checks on `POST /v1/tx`).
 * - `tx`: the §5.1 codec keeping received bytes (tx id = H256(body span), reference hash =
 *   H256(tx bytes)), an encoder and signing builders, and the §5.6 opaque codec.
 * - `validate`: the §5.2 rules at the §5.3 levels (`apply`, `reapply`, `noValidate`) as a pure
 *   function of a {@link UtxoView}, returning the tx's delta.
 * - `utxo`: {@link MemoryUtxo} (in-memory set, exact undo, incremental state hash) and
 *   {@link OverlayUtxo} (pending changes over a base view, for the mempool and blocks).
 * - `state`: block application in §5.4 order ({@link applyBlock}, pure; {@link commitBlock}, which
 *   commits to a {@link MemoryUtxo} and runs all-no-validate blocks on a direct path), and §3.3a
 *   vote-key registrations.
 * - `gen`: deterministic wallets and genesis entries for generators, tests and benchmarks.
 *
 * @example
 * ```ts
 * import { decodeTx, MemoryUtxo, applyBlock } from '@leios/shared/ledger';
 * const utxo = MemoryUtxo.fromEntries(genesisUtxo);
 * const delta = commitBlock(utxo, { slot, txs: body.txs.map((b) => decodeTx(b)) }, { pools });
 * utxo.undo(delta); // rollback
 * ```
 *
 * @module
 */
export * from './gen';
export * from './state';
export * from './tx';
export * from './utxo';
export * from './validate';
