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
import { bytesEqual, toHex } from '../bytes/index';
import { blake2b224 } from '../crypto/blake2b';
import { popVerify } from '../crypto/bls/index';
import { ed25519Verify } from '../crypto/ed25519';
import { TxInvalidError } from '../errors/index';
import type { Hash32, Lovelace, PoolId } from '../types/index';
import { DEFAULT_LEDGER_PARAMS, type KeyReg, type LedgerParams, minFee, type Tx } from './tx';
import { type UtxoDelta, type UtxoEntry, type UtxoView, utxoKey } from './utxo';

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

const NO_POOLS: PoolLookup = { coldVk: () => undefined };

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
export const DEFAULT_VERIFIERS: LedgerVerifiers = Object.freeze({ ed25519: ed25519Verify, pop: popVerify });

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

/** Witness addresses `H224(vk)` (hex) per decoded tx: reused when a mempool tx is re-validated. */
const witnessAddressCache = new WeakMap<Tx, Set<string>>();

function witnessAddresses(tx: Tx): Set<string> {
  let s = witnessAddressCache.get(tx);
  if (!s) {
    s = new Set<string>();
    for (const w of tx.witnesses) s.add(toHex(blake2b224(w.vk)));
    witnessAddressCache.set(tx, s);
  }
  return s;
}

function fail(rule: TxInvalidError['rule'], tx: Tx, detail: string): never {
  throw new TxInvalidError(rule, `tx ${toHex(tx.id)}: ${detail}`);
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
  const params = ctx.params ?? DEFAULT_LEDGER_PARAMS;
  const { inputs, outputs, fee, ttlSlot, keyRegs } = tx.body;
  const full = level !== 'noValidate';

  if (full) {
    if (tx.bytes.length > params.maxTxSize) {
      fail('tx-too-large', tx, `${tx.bytes.length} bytes > MAX_TX_SIZE ${params.maxTxSize}`);
    }
    if (inputs.length > 1) {
      const seen = new Set<string>();
      for (const inp of inputs) {
        const k = utxoKey(inp.txId, inp.index);
        if (seen.has(k)) fail('duplicate-input', tx, `input ${k} listed twice`);
        seen.add(k);
      }
    }
    for (const [i, o] of outputs.entries()) {
      if (o.amount < 1n) fail('output-too-small', tx, `output ${i} amount ${o.amount} < 1`);
    }
    if (tx.witnesses.length > 1) {
      const vks = new Set<string>();
      for (const w of tx.witnesses) {
        const k = toHex(w.vk);
        if (vks.has(k)) fail('duplicate-witness', tx, `vk ${k} repeats`);
        vks.add(k);
      }
    }
    if (ttlSlot < BigInt(slot)) fail('expired', tx, `ttl_slot ${ttlSlot} < slot ${slot}`);
    const need = minFee(tx.bytes.length, params);
    if (fee < need) fail('fee-too-small', tx, `fee ${fee} < ${need} for ${tx.bytes.length} bytes`);
  }

  // Inputs: present in the view and not consumed earlier in this tx.
  const consumed: UtxoEntry[] = [];
  let totalIn = 0n;
  let spentHere: Set<string> | undefined;
  for (const inp of inputs) {
    const out = view.get(inp.txId, inp.index);
    if (inputs.length > 1) {
      spentHere ??= new Set<string>();
      const k = utxoKey(inp.txId, inp.index);
      // Only reachable at noValidate: the full levels rejected duplicates above.
      if (spentHere.has(k)) fail('input-missing', tx, `input ${k} spent twice in the tx`);
      spentHere.add(k);
    }
    if (out === undefined) fail('input-missing', tx, `input ${utxoKey(inp.txId, inp.index)} not in the UTxO set`);
    consumed.push({ ref: inp, output: out });
    totalIn += out.amount;
  }

  const produced: UtxoEntry[] = [];
  let totalOut = 0n;
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i]!;
    // A reference already present would be overwritten and lost on undo: only possible if this
    // very tx was applied before (its inputs would then be gone) or a genesis entry carries its id.
    if (view.get(tx.id, i) !== undefined) fail('already-applied', tx, `output ${i} already exists`);
    produced.push({ ref: { txId: tx.id, index: i }, output: o });
    totalOut += o.amount;
  }

  if (full) {
    if (totalIn !== totalOut + fee) {
      fail('value-not-conserved', tx, `inputs ${totalIn} != outputs ${totalOut} + fee ${fee}`);
    }
    const addrs = witnessAddresses(tx);
    for (const c of consumed) {
      const a = toHex(c.output.address);
      if (!addrs.has(a)) fail('witness-missing', tx, `no witness for input address ${a}`);
    }
    const colds: Uint8Array[] = [];
    const pools = ctx.pools ?? NO_POOLS;
    for (const reg of keyRegs) {
      const cold = pools.coldVk(reg.poolId);
      if (cold === undefined) fail('unknown-pool', tx, `key_reg for unknown pool ${toHex(reg.poolId)}`);
      colds.push(cold);
    }
    for (const [i, cold] of colds.entries()) {
      if (!tx.witnesses.some((w) => bytesEqual(w.vk, cold))) {
        fail('witness-missing', tx, `key_reg ${i}: no witness by the cold key of pool ${toHex(keyRegs[i]!.poolId)}`);
      }
    }
    if (level === 'apply') {
      const v = ctx.verifiers ?? DEFAULT_VERIFIERS;
      for (const [i, w] of tx.witnesses.entries()) {
        if (!v.ed25519(w.sig, tx.id, w.vk)) fail('bad-signature', tx, `witness ${i} does not verify over the tx id`);
      }
      for (const [i, reg] of keyRegs.entries()) {
        if (!v.pop(reg.voteKey.vk, reg.voteKey.pop)) fail('bad-pop', tx, `key_reg ${i}: PoP does not verify`);
      }
    }
  }

  return { txId: tx.id, txHash: tx.hash, fee, keyRegs, consumed, produced };
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
