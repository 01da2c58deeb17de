/**
 * The §5.2 rules at the §5.3 levels, computing the compact keys of the tx's entries along the way
 * (internal; the public entry points are `applyTx` / `validateAgainst` in validate.ts, which
 * document the levels and the check order).
 *
 * Primer: block application runs every tx against an overlay and then commits the tx's delta to
 * it. Both steps are Map operations keyed by output reference, so the keys are computed here once
 * per input and output and handed to the overlay with the delta (key.ts `APPLY_KEYED`). At the
 * no-validate level (PROTOCOL.md §5.3: "UTxO update only", a missing input still invalidates the
 * CertRB) this is all the work: one key and one lookup per input, one key and one lookup per
 * output (the already-applied guard that keeps undo exact), no sums, no hashing. (A block whose
 * txs are all at no-validate skips even the overlay: state.ts `commitBlock`.)
 *
 * @module
 */
import { bytesEqual, toHex } from '../bytes/index';
import { blake2b224 } from '../crypto/blake2b';
import { popVerify } from '../crypto/bls/index';
import { ed25519Verify } from '../crypto/ed25519';
import { TxInvalidError } from '../errors/index';
import { hexKey, txRefKeys } from './key';
import { DEFAULT_LEDGER_PARAMS, type LedgerParams, minFee, type Tx } from './tx';
import { isRefKeyed, type UtxoEntry, type UtxoView } from './utxo';
import type { LedgerContext, LedgerVerifiers, PoolLookup, TxDelta, ValidationLevel } from './validate';

/** A tx's delta with the compact keys of its entries (`ck[i]` ↔ `consumed[i]`, `pk[j]` ↔ `produced[j]`). */
export interface KeyedTxDelta {
  readonly delta: TxDelta;
  readonly ck: readonly string[];
  readonly pk: readonly string[];
}

/** A ledger context with every default filled in. */
export interface ResolvedContext {
  readonly params: LedgerParams;
  readonly pools: PoolLookup;
  readonly verifiers: LedgerVerifiers;
}

/** The shared verifiers (validate.ts exports them as `DEFAULT_VERIFIERS`). */
export const SHARED_VERIFIERS: LedgerVerifiers = Object.freeze({ ed25519: ed25519Verify, pop: popVerify });

const NO_POOLS: PoolLookup = { coldVk: () => undefined };

/** Fill in the defaults of a {@link LedgerContext} (once per block, not per tx). */
export function resolveContext(ctx: LedgerContext): ResolvedContext {
  return { params: ctx.params ?? DEFAULT_LEDGER_PARAMS, pools: ctx.pools ?? NO_POOLS, verifiers: ctx.verifiers ?? SHARED_VERIFIERS };
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

/** Inputs above this count are checked for repeats with a Set rather than pairwise. */
const PAIRWISE_MAX = 8;

function repeated(ck: readonly string[], n: number, k: string, seen: Set<string> | undefined): boolean {
  if (seen !== undefined) return seen.has(k);
  for (let j = 0; j < n; j++) if (ck[j] === k) return true;
  return false;
}

/**
 * Check `tx` against `view` at `slot` at `level` and return its delta with keys (see `applyTx`
 * for the contract; this is its implementation). Pure: `view` is only read.
 */
export function checkTx(view: UtxoView, tx: Tx, level: ValidationLevel, slot: number, ctx: ResolvedContext): KeyedTxDelta {
  const { params } = ctx;
  const { inputs, outputs, fee, ttlSlot, keyRegs } = tx.body;
  const full = level !== 'noValidate';
  const rv = isRefKeyed(view) ? view : undefined;
  // the compact keys the decoder built for this tx (key.ts)
  const keys = txRefKeys(tx);

  if (full) {
    if (tx.bytes.length > params.maxTxSize) {
      fail('tx-too-large', tx, `${tx.bytes.length} bytes > MAX_TX_SIZE ${params.maxTxSize}`);
    }
    if (inputs.length > 1) {
      const seen = new Set<string>();
      for (let i = 0; i < inputs.length; i++) {
        const k = keys[i]!;
        const inp = inputs[i]!;
        if (seen.has(k)) fail('duplicate-input', tx, `input ${hexKey(inp.txId, inp.index)} listed twice`);
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
  const nIn = inputs.length;
  const ck: string[] = [];
  const consumed: UtxoEntry[] = [];
  // Repeats are only possible at noValidate: the full levels rejected duplicates above.
  const seen = !full && nIn > PAIRWISE_MAX ? new Set<string>() : undefined;
  for (let i = 0; i < nIn; i++) {
    const inp = inputs[i]!;
    const k = keys[i]!;
    const out = rv !== undefined ? rv.getByRefKey(k) : view.get(inp.txId, inp.index);
    if (!full && i > 0 && repeated(ck, i, k, seen)) fail('input-missing', tx, `input ${hexKey(inp.txId, inp.index)} spent twice in the tx`);
    if (out === undefined) fail('input-missing', tx, `input ${hexKey(inp.txId, inp.index)} not in the UTxO set`);
    seen?.add(k);
    ck.push(k);
    consumed.push({ ref: inp, output: out });
  }

  const id = tx.id;
  const pk: string[] = [];
  const produced: UtxoEntry[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const k = keys[nIn + i]!;
    // A reference already present would be overwritten and lost on undo: only possible if this
    // very tx was applied before (its inputs would then be gone) or a genesis entry carries its id.
    if ((rv !== undefined ? rv.getByRefKey(k) : view.get(id, i)) !== undefined) fail('already-applied', tx, `output ${i} already exists`);
    pk.push(k);
    produced.push({ ref: { txId: id, index: i }, output: outputs[i]! });
  }

  if (full) {
    let totalIn = 0n;
    for (const c of consumed) totalIn += c.output.amount;
    let totalOut = 0n;
    for (const o of outputs) totalOut += o.amount;
    if (totalIn !== totalOut + fee) {
      fail('value-not-conserved', tx, `inputs ${totalIn} != outputs ${totalOut} + fee ${fee}`);
    }
    const addrs = witnessAddresses(tx);
    for (const c of consumed) {
      const a = toHex(c.output.address);
      if (!addrs.has(a)) fail('witness-missing', tx, `no witness for input address ${a}`);
    }
    const colds: Uint8Array[] = [];
    for (const reg of keyRegs) {
      const cold = ctx.pools.coldVk(reg.poolId);
      if (cold === undefined) fail('unknown-pool', tx, `key_reg for unknown pool ${toHex(reg.poolId)}`);
      colds.push(cold);
    }
    for (const [i, cold] of colds.entries()) {
      if (!tx.witnesses.some((w) => bytesEqual(w.vk, cold))) {
        fail('witness-missing', tx, `key_reg ${i}: no witness by the cold key of pool ${toHex(keyRegs[i]!.poolId)}`);
      }
    }
    if (level === 'apply') {
      const v = ctx.verifiers;
      for (const [i, w] of tx.witnesses.entries()) {
        if (!v.ed25519(w.sig, tx.id, w.vk)) fail('bad-signature', tx, `witness ${i} does not verify over the tx id`);
      }
      for (const [i, reg] of keyRegs.entries()) {
        if (!v.pop(reg.voteKey.vk, reg.voteKey.pop)) fail('bad-pop', tx, `key_reg ${i}: PoP does not verify`);
      }
    }
  }

  return { delta: { txId: id, txHash: tx.hash, fee, keyRegs, consumed, produced }, ck, pk };
}
