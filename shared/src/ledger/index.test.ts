import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes/index';
import { blsKeyGen, popProve } from '../crypto/bls/index';
import { TxInvalidError, type TxRule } from '../errors/index';
import type { Lovelace, PoolId } from '../types/index';
import {
  addressOf,
  applyBlock,
  applyTx,
  applyTxs,
  BlockTxError,
  buildPayment,
  buildTx,
  DEFAULT_LEDGER_PARAMS,
  DEFAULT_VERIFIERS,
  decodeTx,
  encodeTx,
  genesisEntries,
  genesisTxId,
  type KeyReg,
  type LedgerContext,
  MAX_TX_SIZE,
  MemoryUtxo,
  minFee,
  OverlayUtxo,
  poolLookup,
  type Tx,
  type UtxoView,
  type ValidationLevel,
  validateAgainst,
  walletFor,
} from './index';

const alice = walletFor('alice');
const bob = walletFor('bob');
const carol = walletFor('carol');
const SLOT = 100;
const TTL = 1_000;
const AMOUNT = 100_000_000n;
const BIG = 1_000_000_000_000n;

/** Genesis: entries 0..3 pay alice AMOUNT, entry 4 pays alice BIG (for oversized txs). */
function genesis(): MemoryUtxo {
  const entries = genesisEntries([alice.address], 4, AMOUNT);
  entries.push({ ref: { txId: genesisTxId(4), index: 0 }, output: { address: alice.address, amount: BIG as Lovelace } });
  return MemoryUtxo.fromEntries(entries);
}
const g = (n: number) => ({ txId: genesisTxId(n), index: 0 });

function ruleOf(f: () => unknown): TxRule | 'ok' {
  try {
    f();
  } catch (e) {
    if (e instanceof TxInvalidError) return e.rule;
    throw e;
  }
  return 'ok';
}

/** A balanced payment from genesis entry n to bob, fee = min fee + `feeOffset` (may be negative). */
function payment(opts: { n?: number; feeOffset?: bigint; ttl?: number; signers?: Uint8Array[] } = {}): Tx {
  const n = opts.n ?? 0;
  const signers = opts.signers ?? [alice.seed];
  let fee = 200_000n;
  // fee and change both encode in 5 bytes over the whole range, so one correction step suffices
  for (let i = 0; i < 3; i++) {
    const tx = buildTx({
      inputs: [g(n)],
      outputs: [
        { address: bob.address, amount: 1_000_000n },
        { address: alice.address, amount: AMOUNT - 1_000_000n - fee },
      ],
      fee,
      ttlSlot: opts.ttl ?? TTL,
      signers,
    });
    const want = minFee(tx.bytes.length) + (opts.feeOffset ?? 0n);
    if (want === fee) return tx;
    fee = want;
  }
  throw new Error('fee did not settle');
}

/** A signed tx of exactly `target` bytes spending the BIG entry, paying exactly its min fee. */
function txOfSize(target: number): Tx {
  const fee = minFee(target);
  const make = (amounts: bigint[]) =>
    buildTx({
      inputs: [g(4)],
      outputs: [
        ...amounts.map((amount) => ({ address: bob.address, amount })),
        { address: alice.address, amount: BIG - amounts.reduce((s, a) => s + a, 0n) - fee },
      ],
      fee,
      ttlSlot: TTL,
      signers: [alice.seed],
      maxTxSize: 1 << 20,
    });
  const base = make([1n]).bytes.length;
  let k = Math.floor((target - base) / 32) + 1;
  for (;;) {
    const amounts: bigint[] = new Array(k).fill(1n);
    const s = make(amounts).bytes.length;
    if (s > target) {
      k--;
      continue;
    }
    let diff = target - s;
    // widen amounts: 1 → 24 / 256 / 65,536 / 2^32 adds 1 / 2 / 4 / 8 bytes
    for (let i = 0; i < k && diff > 0; i++) {
      const [grow, amount] = diff >= 8 ? [8, 1n << 32n] : diff >= 4 ? [4, 65_536n] : diff >= 2 ? [2, 256n] : [1, 24n];
      amounts[i] = amount;
      diff -= grow;
    }
    const tx = make(amounts);
    if (tx.bytes.length !== target) throw new Error(`txOfSize: got ${tx.bytes.length}`);
    return tx;
  }
}

describe('§5.2 rules: §16 case 26, each rule failing alone', () => {
  const u = genesis();
  const check = (tx: Tx, level: ValidationLevel = 'apply', slot = SLOT, view: UtxoView = u, ctx: LedgerContext = {}) =>
    ruleOf(() => applyTx(view, tx, level, slot, ctx));

  it('a balanced, signed, unexpired tx at exactly the min fee applies', () => {
    const tx = payment();
    expect(tx.body.fee).toBe(minFee(tx.bytes.length));
    expect(check(tx)).toBe('ok');
    const d = applyTx(u, tx, 'apply', SLOT);
    expect(d.consumed.map((c) => c.output.amount)).toEqual([AMOUNT]);
    expect(d.produced.map((p) => [toHex(p.ref.txId), p.ref.index, p.output.amount])).toEqual([
      [toHex(tx.id), 0, 1_000_000n],
      [toHex(tx.id), 1, tx.body.outputs[1]!.amount],
    ]);
    expect(d.fee).toBe(tx.body.fee);
    expect(d.txHash).toEqual(tx.hash);
  });

  it('value not conserved', () => {
    const good = payment();
    const tx = buildTx({
      inputs: [g(0)],
      outputs: [good.body.outputs[0]!, { address: alice.address, amount: good.body.outputs[1]!.amount + 1n }],
      fee: good.body.fee,
      ttlSlot: TTL,
      signers: [alice.seed],
    });
    expect(tx.bytes.length).toBe(good.bytes.length);
    expect(check(tx)).toBe('value-not-conserved');
    expect(check(tx, 'reapply')).toBe('value-not-conserved');
  });

  it('fee one below a + b·size', () => {
    const tx = payment({ feeOffset: -1n });
    expect(Number(tx.body.fee)).toBe(155_381 + 44 * tx.bytes.length - 1);
    expect(tx.body.fee).toBe(minFee(tx.bytes.length) - 1n);
    expect(check(tx)).toBe('fee-too-small');
    expect(check(payment({ feeOffset: 0n }))).toBe('ok');
    expect(check(payment({ feeOffset: 1n }))).toBe('ok');
    // parameters are injectable
    expect(check(payment(), 'apply', SLOT, u, { params: { ...DEFAULT_LEDGER_PARAMS, minFeeA: DEFAULT_LEDGER_PARAMS.minFeeA + 1 } })).toBe(
      'fee-too-small',
    );
  });

  it('ttl below the slot', () => {
    expect(check(payment({ ttl: SLOT - 1 }))).toBe('expired');
    expect(check(payment({ ttl: SLOT }))).toBe('ok');
    expect(check(payment({ ttl: SLOT }), 'apply', SLOT + 1)).toBe('expired');
  });

  it('missing witness', () => {
    expect(check(payment({ signers: [] }))).toBe('witness-missing');
    expect(check(payment({ signers: [bob.seed] }))).toBe('witness-missing');
    expect(check(payment({ signers: [bob.seed] }), 'reapply')).toBe('witness-missing');
    expect(check(payment({ signers: [bob.seed, alice.seed] }))).toBe('ok');
  });

  it('duplicate input', () => {
    const good = payment();
    const tx = buildTx({ ...good.body, inputs: [g(0), g(0)], ttlSlot: TTL, signers: [alice.seed] });
    expect(check(tx)).toBe('duplicate-input');
    expect(check(tx, 'reapply')).toBe('duplicate-input');
    // at noValidate the second use of the input is simply missing
    expect(check(tx, 'noValidate')).toBe('input-missing');
  });

  it('size 16,385 is tx-too-large; 16,384 is fine', () => {
    const max = txOfSize(MAX_TX_SIZE);
    expect(max.bytes.length).toBe(16_384);
    expect(check(max)).toBe('ok');
    const over = txOfSize(MAX_TX_SIZE + 1);
    expect(over.bytes.length).toBe(16_385);
    // the decoder reports it before parsing (§12: 422 tx-too-large), and so does the rule
    expect(ruleOf(() => decodeTx(over.bytes))).toBe('tx-too-large');
    expect(check(over)).toBe('tx-too-large');
    expect(check(over, 'reapply')).toBe('tx-too-large');
    // the size check comes first: also an expired, unsigned oversize tx is tx-too-large
    expect(check(over, 'apply', 10 * TTL)).toBe('tx-too-large');
  });

  it('input missing, output too small, bad signature, duplicate witness, already applied', () => {
    expect(check(payment({ n: 9 }))).toBe('input-missing');

    const good = payment();
    const zero = buildTx({
      inputs: [g(0)],
      outputs: [{ address: bob.address, amount: 0n }, { address: alice.address, amount: AMOUNT - good.body.fee }],
      fee: good.body.fee,
      ttlSlot: TTL,
      signers: [alice.seed],
    });
    expect(check(zero)).toBe('output-too-small');

    const w = good.witnesses[0]!;
    const badSig = new Uint8Array(w.sig);
    badSig[5]! ^= 1;
    const forged = decodeTx(encodeTx(good.bodyBytes, [{ vk: w.vk, sig: badSig }]));
    expect(toHex(forged.id)).toBe(toHex(good.id));
    expect(check(forged)).toBe('bad-signature');
    // reapply skips signature checks
    expect(check(forged, 'reapply')).toBe('ok');

    const dupW = decodeTx(encodeTx(good.bodyBytes, [w, w]));
    expect(check(dupW)).toBe('duplicate-witness');
    expect(check(dupW, 'reapply')).toBe('duplicate-witness');

    // an entry already at (tx id, 0): applying would overwrite it
    const clash = MemoryUtxo.fromEntries([...u.entries(), { ref: { txId: good.id, index: 0 }, output: { address: bob.address, amount: 1n as Lovelace } }]);
    expect(check(good, 'apply', SLOT, clash)).toBe('already-applied');
    expect(check(good, 'noValidate', SLOT, clash)).toBe('already-applied');
  });

  it('signature checks run at apply only, through the injectable verifiers', () => {
    const calls = { ed25519: 0, pop: 0 };
    const verifiers = {
      ed25519: (s: Uint8Array, m: Uint8Array, k: Uint8Array) => {
        calls.ed25519++;
        return DEFAULT_VERIFIERS.ed25519(s, m, k);
      },
      pop: (k: Uint8Array, p: Uint8Array) => {
        calls.pop++;
        return DEFAULT_VERIFIERS.pop(k, p);
      },
    };
    const tx = payment({ signers: [alice.seed, bob.seed] });
    expect(check(tx, 'reapply', SLOT, u, { verifiers })).toBe('ok');
    expect(check(tx, 'noValidate', SLOT, u, { verifiers })).toBe('ok');
    expect(calls.ed25519).toBe(0);
    expect(check(tx, 'apply', SLOT, u, { verifiers })).toBe('ok');
    expect(calls.ed25519).toBe(2);
    // a verifier that refuses everything makes apply fail with bad-signature
    expect(check(tx, 'apply', SLOT, u, { verifiers: { ...verifiers, ed25519: () => false } })).toBe('bad-signature');
  });

  it('noValidate only updates the UTxO, but a missing input is still an error', () => {
    expect(check(payment({ feeOffset: -1n, ttl: 0, signers: [] }), 'noValidate')).toBe('ok');
    expect(check(payment({ n: 9 }), 'noValidate')).toBe('input-missing');
  });

  it('the validator never writes to the view', () => {
    const before = u.stateHash();
    applyTx(u, payment(), 'apply', SLOT);
    expect(toHex(u.stateHash())).toBe(toHex(before));
    expect(u.size).toBe(5);
  });
});

describe('key registrations (§3.3a)', () => {
  const cold = walletFor('pool-1-cold');
  const poolId = addressOf(cold.vk) as Uint8Array as PoolId;
  const pools = poolLookup([{ poolId, coldVk: cold.vk }]);
  const bls = blsKeyGen(new Uint8Array(32).fill(11));
  const other = blsKeyGen(new Uint8Array(32).fill(12));
  const reg = (pop: Uint8Array): KeyReg => ({ poolId, voteKey: { vk: bls.publicKey, pop } });
  const u = genesis();
  const withReg = (r: KeyReg, signers: Uint8Array[]) =>
    buildPayment({
      inputs: [{ ...g(1), amount: AMOUNT }],
      outputs: [{ address: bob.address, amount: 5n }],
      changeAddress: alice.address,
      ttlSlot: TTL,
      signers,
      keyRegs: [r],
    });

  it('a registration witnessed by the cold key with a valid PoP applies and is reported', () => {
    const tx = withReg(reg(popProve(bls.secretKey)), [alice.seed, cold.seed]);
    const d = applyTx(u, tx, 'apply', SLOT, { pools });
    expect(d.keyRegs).toHaveLength(1);
    expect(toHex(d.keyRegs[0]!.poolId)).toBe(toHex(poolId));
    expect(d.keyRegs[0]!.voteKey.vk).toEqual(bls.publicKey);
  });

  it('bad PoP (a PoP of another key) is bad-pop at apply, not checked at reapply', () => {
    const tx = withReg(reg(popProve(other.secretKey)), [alice.seed, cold.seed]);
    expect(ruleOf(() => applyTx(u, tx, 'apply', SLOT, { pools }))).toBe('bad-pop');
    expect(ruleOf(() => applyTx(u, tx, 'reapply', SLOT, { pools }))).toBe('ok');
  });

  it('unknown pool, and a registration without the cold-key witness', () => {
    const tx = withReg(reg(popProve(bls.secretKey)), [alice.seed, cold.seed]);
    expect(ruleOf(() => applyTx(u, tx, 'apply', SLOT))).toBe('unknown-pool');
    const noCold = withReg(reg(popProve(bls.secretKey)), [alice.seed]);
    expect(ruleOf(() => applyTx(u, noCold, 'apply', SLOT, { pools }))).toBe('witness-missing');
    expect(ruleOf(() => applyTx(u, noCold, 'reapply', SLOT, { pools }))).toBe('witness-missing');
  });
});

describe('§5.4 order: §16 case 27', () => {
  it('an EB tx spending an output of its announcing RB is valid', () => {
    const u = genesis();
    const a = payment({ n: 0 }); // RB tx: pays bob 1,000,000 at (a.id, 0)
    const rb = applyBlock(u, { slot: SLOT, txs: [a] });
    u.apply(rb);
    const b = buildPayment({
      inputs: [{ txId: a.id, index: 0, amount: 1_000_000n }],
      outputs: [{ address: carol.address, amount: 1n }],
      changeAddress: bob.address,
      ttlSlot: TTL,
      signers: [bob.seed],
    });
    const ctx = {};
    // voting: EB txs at apply, on the state after the announcing RB, at that RB's slot
    expect(applyTxs(u, [b], 'apply', SLOT, ctx, 'eb').txs).toHaveLength(1);
    // adoption of the CertRB: the closure at noValidate
    const cert = applyBlock(u, { slot: SLOT + 14, txs: [], certifiedEb: { txs: [b], slot: SLOT } }, ctx);
    u.apply(cert);
    expect(u.get(b.id, 0)?.amount).toBe(1n);
    expect(u.get(a.id, 0)).toBeUndefined();
    // against the state before the RB the same EB tx is invalid: order matters
    expect(ruleOf(() => applyTxs(genesis(), [b], 'apply', SLOT, ctx, 'eb'))).toBe('input-missing');
  });

  it('one tx in both the RB and its EB is a double spend', () => {
    const u = genesis();
    const a = payment({ n: 0 });
    u.apply(applyBlock(u, { slot: SLOT, txs: [a] }));
    for (const level of ['apply', 'reapply', 'noValidate'] as const) {
      try {
        applyTxs(u, [a], level, SLOT, {}, 'eb');
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(BlockTxError);
        expect((e as BlockTxError).rule).toBe('input-missing');
        expect((e as BlockTxError).part).toBe('eb');
        expect((e as BlockTxError).position).toBe(0);
      }
    }
    // and a CertRB certifying it is invalid
    expect(ruleOf(() => applyBlock(u, { slot: SLOT + 14, txs: [], certifiedEb: { txs: [a], slot: SLOT } }))).toBe('input-missing');
  });

  it('a failing block leaves the state untouched and names the tx', () => {
    const u = genesis();
    const h = toHex(u.stateHash());
    const a = payment({ n: 0 });
    const bad = payment({ n: 1, ttl: 5 });
    try {
      applyBlock(u, { slot: SLOT, txs: [a, bad] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BlockTxError);
      expect((e as BlockTxError).rule).toBe('expired');
      expect((e as BlockTxError).position).toBe(1);
      expect(toHex((e as BlockTxError).txId)).toBe(toHex(bad.id));
    }
    expect(toHex(u.stateHash())).toBe(h);
  });
});

describe('mempool re-validation after a rollback: §16 case 28 building blocks', () => {
  /** Re-validate txs in order with reapply over `base`: keep the valid ones, drop the rest. */
  function revalidate(base: UtxoView, txs: readonly Tx[], slot: number): { kept: Tx[]; dropped: Array<[Tx, TxRule]> } {
    const ov = new OverlayUtxo(base);
    const kept: Tx[] = [];
    const dropped: Array<[Tx, TxRule]> = [];
    for (const tx of txs) {
      try {
        ov.apply(validateAgainst(ov, tx, 'reapply', slot), false);
        kept.push(tx);
      } catch (e) {
        if (!(e instanceof TxInvalidError)) throw e;
        dropped.push([tx, e.rule]);
      }
    }
    return { kept, dropped };
  }

  it('double spends go, dependants of rolled-back txs go, the rest stays', () => {
    const u = genesis();
    const t1 = payment({ n: 0 });
    const block1 = applyBlock(u, { slot: SLOT, txs: [t1] });
    u.apply(block1);
    // mempool, admitted at apply over the tip: m1 spends g1, m2 spends t1's output to bob, m3 spends g2
    const m1 = payment({ n: 1 });
    const m2 = buildPayment({
      inputs: [{ txId: t1.id, index: 0, amount: 1_000_000n }],
      outputs: [{ address: carol.address, amount: 1n }],
      changeAddress: bob.address,
      ttlSlot: TTL,
      signers: [bob.seed],
    });
    const m3 = payment({ n: 2 });
    const pool = new OverlayUtxo(u);
    for (const tx of [m1, m2, m3]) pool.apply(validateAgainst(pool, tx, 'apply', SLOT + 1), false);

    // switch to a fork: undo block1, adopt block1' whose tx spends g1 (conflicting with m1)
    u.undo(block1);
    const t1b = buildPayment({
      inputs: [{ ...g(1), amount: AMOUNT }],
      outputs: [{ address: carol.address, amount: 7n }],
      changeAddress: alice.address,
      ttlSlot: TTL,
      signers: [alice.seed],
    });
    u.apply(applyBlock(u, { slot: SLOT, txs: [t1b] }));
    const { kept, dropped } = revalidate(u, [m1, m2, m3], SLOT + 1);
    expect(kept.map((t) => toHex(t.id))).toEqual([toHex(m3.id)]);
    expect(dropped.map(([t, r]) => [toHex(t.id), r])).toEqual([
      [toHex(m1.id), 'input-missing'],
      [toHex(m2.id), 'input-missing'],
    ]);
  });
});

describe('§5.3 no-validate path (keys computed once, UTxO update only)', () => {
  /** A view that only answers `get` (no compact-key access): exercises the generic lookups. */
  const plain = (u: MemoryUtxo): UtxoView => ({ get: (id, i) => u.get(id, i) });
  /** An unbalanced, unsigned tx spending `inputs` (fine at noValidate, which checks neither). */
  const spend = (inputs: { txId: Tx['id']; index: number }[]) =>
    buildTx({ inputs, outputs: [{ address: bob.address, amount: 1n }], fee: 0n, ttlSlot: 0, signers: [] });

  it('refuses a missing input with input-missing, naming the tx, at every entry point, and changes nothing', () => {
    const u = genesis();
    const h = toHex(u.stateHash());
    const ok = payment({ n: 0 });
    const missing = payment({ n: 9 });
    for (const view of [u, plain(u)]) {
      expect(ruleOf(() => applyTx(view, missing, 'noValidate', SLOT))).toBe('input-missing');
      expect(ruleOf(() => applyTx(new OverlayUtxo(view), missing, 'noValidate', SLOT))).toBe('input-missing');
      for (const block of [
        { slot: SLOT, txs: [ok, missing], level: 'noValidate' as const },
        { slot: SLOT + 14, txs: [], certifiedEb: { txs: [ok, missing], slot: SLOT } },
      ]) {
        try {
          applyBlock(view, block);
          expect.unreachable();
        } catch (e) {
          expect(e).toBeInstanceOf(BlockTxError);
          expect((e as BlockTxError).rule).toBe('input-missing');
          expect((e as BlockTxError).part).toBe(block.certifiedEb ? 'eb' : 'rb');
          expect((e as BlockTxError).position).toBe(1);
          expect(toHex((e as BlockTxError).txId)).toBe(toHex(missing.id));
          expect((e as BlockTxError).detail).toMatch(/not in the UTxO set/);
        }
      }
    }
    expect(toHex(u.stateHash())).toBe(h);
    expect(u.size).toBe(5);
  });

  it('an input spent earlier in the block, or twice in one tx (pairwise and set checks), is input-missing', () => {
    const u = genesis();
    const a = payment({ n: 0 });
    const again = spend([g(0)]);
    expect(ruleOf(() => applyBlock(u, { slot: SLOT, txs: [a, again], level: 'noValidate' }))).toBe('input-missing');
    // a tx listing the same input twice: with few inputs (pairwise scan) and with many (Set);
    // every input exists, so only the repeat can fail it
    const wide = MemoryUtxo.fromEntries(genesisEntries([alice.address], 12, AMOUNT));
    const few = spend([g(0), g(1), g(0)]);
    const many = spend([...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(g), g(3)]);
    expect(ruleOf(() => applyTx(wide, spend([...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(g)]), 'noValidate', SLOT))).toBe('ok');
    for (const tx of [few, many]) {
      try {
        applyTx(wide, tx, 'noValidate', SLOT);
        expect.unreachable();
      } catch (e) {
        expect((e as TxInvalidError).rule).toBe('input-missing');
        expect((e as TxInvalidError).detail).toMatch(/spent twice/);
      }
    }
    // and its full-level twin is duplicate-input
    expect(ruleOf(() => applyTx(u, few, 'reapply', SLOT))).toBe('duplicate-input');
  });

  it('a tx whose outputs already exist is already-applied, on the fast path and the generic one', () => {
    const u = genesis();
    const a = payment({ n: 0 });
    const clash = MemoryUtxo.fromEntries([...u.entries(), { ref: { txId: a.id, index: 1 }, output: { address: bob.address, amount: 1n as Lovelace } }]);
    for (const view of [clash, plain(clash), new OverlayUtxo(clash), new OverlayUtxo(plain(clash))]) {
      expect(ruleOf(() => applyTx(view, a, 'noValidate', SLOT))).toBe('already-applied');
    }
    // once the clashing entry is spent in an overlay, the output is free again
    const ov = new OverlayUtxo(clash);
    const freeing = spend([{ txId: a.id, index: 1 }]);
    ov.apply(applyTx(ov, freeing, 'noValidate', SLOT));
    expect(ruleOf(() => applyTx(ov, a, 'noValidate', SLOT))).toBe('ok');
  });

  it('gives the same deltas on a compact-keyed view and a plain one, and commits / undoes exactly', () => {
    const u = genesis();
    const h0 = toHex(u.stateHash());
    const a = payment({ n: 0 });
    const chained = spend([{ txId: a.id, index: 0 }, g(1)]);
    const block = { slot: SLOT + 14, txs: [], certifiedEb: { txs: [a, chained], slot: SLOT } };
    const fast = applyBlock(u, block);
    const generic = applyBlock(plain(u), block);
    expect(fast.consumed).toEqual(generic.consumed);
    expect(fast.produced).toEqual(generic.produced);
    expect(fast.txs).toEqual(generic.txs);
    u.apply(fast);
    expect(u.get(a.id, 0)).toBeUndefined();
    expect(u.get(a.id, 1)?.amount).toBe(a.body.outputs[1]!.amount);
    expect(u.get(chained.id, 0)?.amount).toBe(1n);
    const h1 = toHex(u.stateHash());
    u.undo(fast);
    expect(toHex(u.stateHash())).toBe(h0);
    expect(u.size).toBe(5);
    // a delta rebuilt without remembered keys commits to the same state
    u.apply({ consumed: [...generic.consumed], produced: [...generic.produced] });
    expect(toHex(u.stateHash())).toBe(h1);
  });
});
