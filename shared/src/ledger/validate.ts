/**
 * The UTxO rules of PROTOCOL.md §5.2 at the three validation levels of §5.3, as pure functions
 * over a {@link UtxoView}.
 *
 * Primer: {@link applyTx} checks one tx against a view and returns the {@link TxDelta} it would
 * cause (inputs consumed with their outputs, which is the undo data, outputs produced, the fee and
 * the key registrations); it never writes. The caller commits the delta to its own state
 * (a {@link MemoryUtxo}, an {@link OverlayUtxo}, a database) and keeps it for rollback.
 *
 * Levels: `apply` runs every check (mempool admission, RB txs, EB txs when voting or producing);
 * `reapply` runs every check except signature and PoP verification (mempool re-validation after
 * a chain switch); `noValidate` only updates the UTxO (txs of a certified EB: the certificate
 * attests validity), but an input that is not there is still an error, since it makes the CertRB
 * invalid (§5.3).
 *
 * Check order. The size check is first (§12: an oversized tx is `tx-too-large` whatever else is
 * wrong). The rest go cheapest first so that junk costs little: structural checks, then UTxO
 * lookups and sums, then witness addresses (one Blake2b-224 per witness), then Ed25519 and BLS
 * verification. §5.2 does not order the rules; a tx failing several reports the first in this
 * order: tx-too-large, duplicate-input, output-too-small, duplicate-witness, expired,
 * fee-too-small, input-missing, value-not-conserved, witness-missing (inputs), unknown-pool,
 * witness-missing (pool cold key), bad-signature, bad-pop.
 *
 * @module
 */
import { toHex } from '../bytes/index';
import type { Hash32, Lovelace, PoolId } from '../types/index';
import { checkTx, resolveContext, SHARED_VERIFIERS } from './rules';
import type { KeyReg, LedgerParams, Tx } from './tx';
import type { UtxoDelta, UtxoView } from './utxo';

/** §5.3 validation levels. */
export type ValidationLevel = 'apply' | 'reapply' | 'noValidate';

/** The pools a key registration may name: the genesis pool list in force (§3.3a). */
export interface PoolLookup {
  /** The cold verification key of `poolId`, or `undefined` if no such pool. */
  coldVk(poolId: PoolId): Uint8Array | undefined;
}

/**
 * A {@link PoolLookup} over a list of pools (`{ poolId, coldVk }`, e.g. the genesis `pools`).
 *
 * @example
 * ```ts
 * const pools = poolLookup(genesis.pools);
 * ```
 */
export function poolLookup(pools: Iterable<{ readonly poolId: Uint8Array; readonly coldVk: Uint8Array }>): PoolLookup {
  const m = new Map<string, Uint8Array>();
  for (const p of pools) m.set(toHex(p.poolId), p.coldVk);
  return { coldVk: (id) => m.get(toHex(id)) };
}

/**
 * Signature verifiers used at level `apply`. They MUST implement exactly the rules of §2.2 / §2.3
 * (strict Ed25519: reject `S >= L`, non-canonical and small-order keys; PoP with the PoP DST),
 * or nodes would disagree on validity. The defaults are the shared ones; a storage node may plug
 * in a faster implementation that its tests cross-check against them.
 */
export interface LedgerVerifiers {
  ed25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  pop(vk: Uint8Array, pop: Uint8Array): boolean;
}

/** The shared verifiers (@noble/curves based, run everywhere). */
export const DEFAULT_VERIFIERS: LedgerVerifiers = SHARED_VERIFIERS;

/** What the rules need besides the view: parameters (default §15), the pool list, verifiers. */
export interface LedgerContext {
  readonly params?: LedgerParams;
  /** Pools for `key_regs` (default: none, so any registration is `unknown-pool`). */
  readonly pools?: PoolLookup;
  /** Signature verifiers (default {@link DEFAULT_VERIFIERS}). */
  readonly verifiers?: LedgerVerifiers;
}

/** The effect of one tx: a {@link UtxoDelta} plus what the node records about it. */
export interface TxDelta extends UtxoDelta {
  readonly txId: Hash32;
  readonly txHash: Hash32;
  readonly fee: Lovelace;
  /** Vote-key registrations carried by the tx, to record with the block's epoch (§3.3a). */
  readonly keyRegs: readonly KeyReg[];
}

/**
 * Check `tx` against `view` at `slot` (the block slot; for EB txs the announcing RB's slot; for
 * the mempool the current slot) at `level`, and return its delta. Pure: `view` is only read.
 * Throws {@link TxInvalidError} naming the §12 rule.
 *
 * @example
 * ```ts
 * const delta = applyTx(utxo, tx, 'apply', slot, { pools });
 * utxo.apply(delta);
 * ```
 */
export function applyTx(view: UtxoView, tx: Tx, level: ValidationLevel, slot: number, ctx: LedgerContext = {}): TxDelta {
  return checkTx(view, tx, level, slot, resolveContext(ctx)).delta;
}

/**
 * The mempool's entry point: {@link applyTx} against a view that usually is an
 * {@link OverlayUtxo} of pending mempool changes over the selected tip's state (§5.5).
 *
 * @example
 * ```ts
 * const pending = new OverlayUtxo(tipState);
 * const d = validateAgainst(pending, tx, 'apply', currentSlot, { pools });
 * pending.apply(d, false);
 * ```
 */
export function validateAgainst(view: UtxoView, tx: Tx, level: ValidationLevel, slot: number, ctx: LedgerContext = {}): TxDelta {
  return applyTx(view, tx, level, slot, ctx);
}
